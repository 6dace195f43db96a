// The envelope on node:crypto must stay byte-compatible with the pure-JS @noble/ciphers
// XChaCha20-Poly1305 and @noble/hashes HKDF it replaced (rows already migrated, and the app's own
// CryptoBox): noble is the reference here, in both directions.
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { describe, expect, it } from 'vitest';
import { deriveEntityKey, EnvelopeError, openString, sealString } from '../../lib/envelope';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const bytes = (n: number, start = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const b64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

interface Envelope {
  n: string;
  c: string;
  m: string;
}
const parse = (env: Uint8Array): Envelope => JSON.parse(Buffer.from(env).toString('utf8')) as Envelope;

/** The previous implementation, verbatim in effect: noble seal, JSON.stringify envelope. */
function nobleSeal(key: Uint8Array, plaintext: string, nonce: Uint8Array, aad?: Uint8Array): Buffer {
  const sealed = xchacha20poly1305(key, nonce, aad).encrypt(encoder.encode(plaintext));
  return Buffer.from(
    JSON.stringify({ n: b64(nonce), c: b64(sealed.subarray(0, -16)), m: b64(sealed.subarray(-16)) }),
    'utf8',
  );
}
function nobleOpen(key: Uint8Array, envelope: Uint8Array): string {
  const e = parse(envelope);
  const sealed = new Uint8Array(Buffer.concat([Buffer.from(e.c, 'base64'), Buffer.from(e.m, 'base64')]));
  return decoder.decode(xchacha20poly1305(key, new Uint8Array(Buffer.from(e.n, 'base64'))).decrypt(sealed));
}
const nobleKey = (master: Uint8Array, id: string): Uint8Array =>
  hkdf(sha256, master, encoder.encode(`note:${id}`), new Uint8Array(0), 32);

/** Deterministic pseudo-random text mixing ASCII, 2-, 3- and 4-byte UTF-8, and JSON-special characters. */
function text(seed: number, length: number): string {
  const alphabet = ['a', 'Z', '7', ' ', '\n', '"', '\\', '{', 'ñ', 'ü', '漢', '笔', '🎉', '👩‍💻', '\u0000', '\u2028'];
  let s = seed;
  let out = '';
  for (let i = 0; i < length; i++) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    out += alphabet[s % alphabet.length];
  }
  return out;
}

function flip(env: Uint8Array, field: keyof Envelope, index: number): Buffer {
  const e = parse(env);
  const raw = Buffer.from(e[field], 'base64');
  raw[index % raw.length] = raw[index % raw.length]! ^ 0x80;
  return Buffer.from(JSON.stringify({ ...e, [field]: raw.toString('base64') }), 'utf8');
}

describe('envelope vs the @noble reference: fixed vectors', () => {
  const key = deriveEntityKey(bytes(32), '3f2504e0-4f89-41d3-9a0c-0305e82c3301');
  const nonce = bytes(24, 0x40);

  it.each([
    ['empty', ''],
    ['one byte', 'a'],
    ['one ChaCha block exactly', 'x'.repeat(64)],
    ['block boundary + 1', 'y'.repeat(65)],
    ['unicode', '笔记 🗒️ ñ — "quoted" \\ back\nslash'],
    ['note body', '# Weekly Review\n\n## Wins ✅\n- shipped\n\n## Next week 🚀\n- [ ] plan\n'.repeat(40)],
  ])('sealString(%s) with a fixed nonce is byte-identical to noble, and each opens the other', (_name, plaintext) => {
    const ours = sealString(key, plaintext, nonce);
    const theirs = nobleSeal(key, plaintext, nonce);
    expect(ours.equals(theirs)).toBe(true);
    expect(nobleOpen(key, ours)).toBe(plaintext);
    expect(openString(key, theirs)).toBe(plaintext);
  });

  it('matches a pinned envelope (key = HKDF(00..1f, note:<id>), nonce 40..57, "hello")', () => {
    // Pinned from @noble/ciphers 2.4.0's xchacha20poly1305 before the switch to node:crypto.
    const pinned = '{"n":"QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZX","c":"xjqYNE0=","m":"dAWcID98qemzv9tbX9ABWw=="}';
    expect(nobleSeal(key, 'hello', nonce).toString('utf8')).toBe(pinned);
    expect(sealString(key, 'hello', nonce).toString('utf8')).toBe(pinned);
    expect(openString(key, Buffer.from(pinned))).toBe('hello');
  });

  it('uses no associated data: an envelope sealed with AAD by noble does not open, one with empty AAD does', () => {
    expect(openString(key, nobleSeal(key, 'x', nonce, new Uint8Array(0)))).toBe('x');
    expect(() => openString(key, nobleSeal(key, 'x', nonce, encoder.encode('note')))).toThrow(EnvelopeError);
  });
});

describe('envelope vs the @noble reference: random round trips', () => {
  it('300 random keys, nonces and texts: ours opens noble envelopes and noble opens ours', () => {
    for (let i = 0; i < 300; i++) {
      const key = random(32);
      const plaintext = text(i + 1, (i * 37) % 700);
      const nobleEnv = nobleSeal(key, plaintext, random(24));
      expect(openString(key, nobleEnv)).toBe(plaintext);
      const ours = sealString(key, plaintext);
      expect(nobleOpen(key, ours)).toBe(plaintext);
      // Same nonce, same bytes.
      expect(nobleSeal(key, plaintext, new Uint8Array(Buffer.from(parse(ours).n, 'base64'))).equals(ours)).toBe(true);
    }
  });

  it('a 1 MiB text round-trips both ways', () => {
    const key = random(32);
    const big = text(99, 1 << 20);
    expect(nobleOpen(key, sealString(key, big))).toBe(big);
    expect(openString(key, nobleSeal(key, big, random(24)))).toBe(big);
  });

  it('interleaved keys do not bleed into each other (shared scratch buffers)', () => {
    const [k1, k2] = [random(32), random(32)];
    const e1 = sealString(k1, 'one');
    const e2 = sealString(k2, 'two');
    expect(openString(k1, e1)).toBe('one');
    expect(openString(k2, e2)).toBe('two');
    expect(nobleOpen(k1, e1)).toBe('one');
    expect(nobleOpen(k2, e2)).toBe('two');
    expect(() => openString(k2, e1)).toThrow(EnvelopeError);
  });
});

describe('envelope vs the @noble reference: rejection', () => {
  const key = random(32);

  it.each(['n', 'c', 'm'] as const)(
    'a flipped bit in %s of a noble envelope is rejected by ours, and of ours by noble',
    (field) => {
      const plaintext = 'secret note body';
      for (const index of [0, 7, 15]) {
        expect(() => openString(key, flip(nobleSeal(key, plaintext, random(24)), field, index))).toThrow(EnvelopeError);
        expect(() => nobleOpen(key, flip(sealString(key, plaintext), field, index))).toThrow();
      }
    },
  );

  it('a wrong key is rejected both ways', () => {
    const other = random(32);
    expect(() => openString(other, nobleSeal(key, 'for key', random(24)))).toThrow(EnvelopeError);
    expect(() => nobleOpen(other, sealString(key, 'for key'))).toThrow();
  });

  it('a swapped tag (from another envelope under the same key) is rejected', () => {
    const a = parse(sealString(key, 'same length A'));
    const b = parse(sealString(key, 'same length B'));
    expect(() => openString(key, Buffer.from(JSON.stringify({ ...a, m: b.m })))).toThrow(EnvelopeError);
  });

  it('a key or nonce of the wrong length is an EnvelopeError, not a silent seal', () => {
    expect(() => sealString(random(16), 'x')).toThrow(EnvelopeError);
    expect(() => sealString(key, 'x', random(12))).toThrow(EnvelopeError);
    expect(() => openString(random(31), sealString(key, 'x'))).toThrow(EnvelopeError);
  });
});

describe('deriveEntityKey vs @noble/hashes hkdf', () => {
  it.each([
    ['uuid', '3f2504e0-4f89-41d3-9a0c-0305e82c3301'],
    ['empty', ''],
    ['system id', 'system_daily_standup'],
    ['unicode', 'ünïcødé-笔记-🎉'],
    ['lone surrogate (both encoders write U+FFFD)', 'a\ud800b'],
    ['longer than an HMAC block', 'k'.repeat(200)],
  ])('gives the same key for a %s entity id', (_name, id) => {
    for (const master of [bytes(32), random(32)]) {
      expect(Buffer.from(deriveEntityKey(master, id)).toString('hex')).toBe(
        Buffer.from(nobleKey(master, id)).toString('hex'),
      );
    }
  });

  it('returns a fresh 32-byte array each call (callers cache and keep it)', () => {
    const a = deriveEntityKey(bytes(32), 'x');
    const b = deriveEntityKey(bytes(32), 'x');
    expect(a).toHaveLength(32);
    expect(a).not.toBe(b);
    a.fill(0);
    expect(Buffer.from(b).equals(Buffer.from(nobleKey(bytes(32), 'x')))).toBe(true);
  });
});

describe('bulk nonces', () => {
  it('every seal gets its own 24-byte nonce, across several bulk draws', () => {
    const key = random(32);
    const seen = new Set<string>();
    const count = 5000; // more than four draws of the pool
    for (let i = 0; i < count; i++) {
      const env = sealString(key, 't');
      const n = Buffer.from(parse(env).n, 'base64');
      expect(n).toHaveLength(24);
      seen.add(n.toString('hex'));
      if (i % 997 === 0) expect(nobleOpen(key, env)).toBe('t');
    }
    expect(seen.size).toBe(count);
  });

  it('an envelope returned earlier is not changed by later seals (nonce views are never reused)', () => {
    const key = random(32);
    const first = sealString(key, 'first');
    const copy = Buffer.from(first);
    for (let i = 0; i < 3000; i++) sealString(key, 'later');
    expect(first.equals(copy)).toBe(true);
    expect(nobleOpen(key, first)).toBe('first');
  });
});
