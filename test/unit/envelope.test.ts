import { createCipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { hchacha } from '@noble/ciphers/chacha.js';
import { describe, expect, it } from 'vitest';
import { deriveEntityKey, EnvelopeError, openString, sealString } from '../../lib/envelope';

const ENTITY = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const OTHER_ENTITY = '3f2504e0-4f89-41d3-9a0c-0305e82c3302';
const B64_PADDED = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

const bytes = (n: number, start = 0): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const fromHex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
const freshKey = (): Uint8Array => new Uint8Array(randomBytes(32));

interface Envelope {
  n: string;
  c: string;
  m: string;
}
const parseEnvelope = (env: Uint8Array): Envelope => JSON.parse(Buffer.from(env).toString('utf8')) as Envelope;
const buildEnvelope = (e: Envelope): Buffer => Buffer.from(JSON.stringify(e), 'utf8');

/** Flips one bit of the decoded bytes of field `f` and re-encodes the envelope. */
function tamper(env: Uint8Array, f: keyof Envelope, index = 0): Buffer {
  const e = parseEnvelope(env);
  const raw = Buffer.from(e[f], 'base64');
  raw[index] = raw[index]! ^ 0x01;
  return buildEnvelope({ ...e, [f]: raw.toString('base64') });
}

// --- Independent XChaCha20-Poly1305: HChaCha20 subkey + IETF ChaCha20-Poly1305 (Node's OpenSSL) ---
const SIGMA = new Uint32Array([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]); // "expand 32-byte k"
const leWords = (b: Uint8Array): Uint32Array => {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return Uint32Array.from({ length: b.length / 4 }, (_, i) => view.getUint32(i * 4, true));
};
const wordsToLeBytes = (w: Uint32Array): Uint8Array => {
  const out = new Uint8Array(w.length * 4);
  const view = new DataView(out.buffer);
  w.forEach((v, i) => view.setUint32(i * 4, v, true));
  return out;
};
function hchacha20(key: Uint8Array, nonce16: Uint8Array): Uint8Array {
  const out = new Uint32Array(8);
  hchacha(SIGMA, leWords(key), leWords(nonce16), out);
  return wordsToLeBytes(out);
}
function referenceXChaCha(key: Uint8Array, nonce24: Uint8Array, plaintext: Uint8Array): { c: Buffer; m: Buffer } {
  const subkey = hchacha20(key, nonce24.subarray(0, 16));
  const iv = Buffer.concat([Buffer.alloc(4), Buffer.from(nonce24.subarray(16, 24))]);
  const cipher = createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: 16 });
  const c = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return { c, m: cipher.getAuthTag() };
}

describe('deriveEntityKey', () => {
  it('equals HKDF-SHA256(ikm = master key, salt = "note:" + id, info = empty, 32 bytes) from node:crypto', () => {
    for (const [master, id] of [
      [bytes(32), ENTITY],
      [bytes(32, 100), 'system_daily_standup'],
      [freshKey(), 'ünïcødé-笔记'],
    ] as const) {
      const expected = new Uint8Array(
        hkdfSync('sha256', master, Buffer.from(`note:${id}`, 'utf8'), new Uint8Array(0), 32),
      );
      const key = deriveEntityKey(master, id);
      expect(key).toHaveLength(32);
      expect(hex(key)).toBe(hex(expected));
    }
  });

  it('matches a pinned vector (master key 00..1f, entity id fixed)', () => {
    // Computed once with node:crypto hkdfSync('sha256', 00..1f, 'note:' + ENTITY, '', 32).
    const pinned = '077ffc69aa2c20e8cf8b2ca03a10c005b6c0a46b211dd81199382ff4447a9117';
    expect(hex(deriveEntityKey(bytes(32), ENTITY))).toBe(pinned);
    // The salt is the whole "note:<id>" string: the bare id, or another prefix, gives another key.
    const bareSalt = hex(new Uint8Array(hkdfSync('sha256', bytes(32), Buffer.from(ENTITY), Buffer.alloc(0), 32)));
    expect(pinned).not.toBe(bareSalt);
  });

  it('gives different keys for different entity ids and different master keys', () => {
    const master = freshKey();
    expect(hex(deriveEntityKey(master, ENTITY))).not.toBe(hex(deriveEntityKey(master, OTHER_ENTITY)));
    expect(hex(deriveEntityKey(master, ENTITY))).not.toBe(hex(deriveEntityKey(freshKey(), ENTITY)));
    expect(hex(deriveEntityKey(master, ENTITY))).toBe(hex(deriveEntityKey(master, ENTITY)));
  });

  it.each([0, 16, 31, 33, 64])('rejects a %i-byte master key with EnvelopeError', (n) => {
    expect(() => deriveEntityKey(new Uint8Array(n), ENTITY)).toThrow(EnvelopeError);
    expect(() => deriveEntityKey(new Uint8Array(n), ENTITY)).toThrow(/32 bytes/);
  });
});

describe('sealString / openString', () => {
  const master = freshKey();
  const key = deriveEntityKey(master, ENTITY);

  it.each([
    ['empty string', ''],
    ['ascii', 'hello world'],
    ['emoji', '👩‍💻 notes 🎉🔐'],
    ['CJK', '今日は良い天気です。笔记本。한국어'],
    ['JSON-ish', '{"body":"line1\\nline2","q":"\\"x\\""}'],
    [
      '100 KB text',
      'The quick brown fox jumps over the lazy dog. ñ 漢 🦊\n'.repeat(Math.ceil(100_000 / 50)).slice(0, 100_000),
    ],
  ])('round-trips %s', (_name, plaintext) => {
    const env = sealString(key, plaintext);
    expect(openString(key, env)).toBe(plaintext);
    const e = parseEnvelope(env);
    expect(Buffer.from(e.c, 'base64').length).toBe(Buffer.byteLength(plaintext, 'utf8'));
  });

  it('uses a fresh random nonce per seal', () => {
    const a = parseEnvelope(sealString(key, 'same'));
    const b = parseEnvelope(sealString(key, 'same'));
    expect(a.n).not.toBe(b.n);
    expect(a.c).not.toBe(b.c);
  });

  it('writes UTF-8 JSON with exactly the keys n, c, m in padded standard base64; 24-byte nonce, 16-byte tag', () => {
    for (const plaintext of ['', 'a', 'ab', 'abc', 'some longer text ✓']) {
      const env = sealString(key, plaintext);
      expect(Buffer.isBuffer(env)).toBe(true);
      const text = new TextDecoder('utf-8', { fatal: true }).decode(env);
      const parsed = JSON.parse(text) as Record<string, unknown>;
      expect(Object.keys(parsed).sort()).toEqual(['c', 'm', 'n']);
      for (const f of ['n', 'c', 'm'] as const) {
        expect(typeof parsed[f]).toBe('string');
        const v = parsed[f] as string;
        expect(v).toMatch(B64_PADDED);
        expect(v.length % 4).toBe(0);
        // Standard alphabet, padded: decoding and re-encoding is the identity.
        expect(Buffer.from(v, 'base64').toString('base64')).toBe(v);
      }
      expect(Buffer.from(parsed.n as string, 'base64')).toHaveLength(24);
      expect(Buffer.from(parsed.m as string, 'base64')).toHaveLength(16);
      expect(Buffer.from(parsed.c as string, 'base64')).toHaveLength(Buffer.byteLength(plaintext));
    }
  });

  it.each(['n', 'c', 'm'] as const)('fails with EnvelopeError when a byte of %s is tampered with', (field) => {
    const env = sealString(key, 'secret note body');
    expect(openString(key, env)).toBe('secret note body');
    for (const index of [0, 5, 15]) {
      expect(() => openString(key, tamper(env, field, index))).toThrow(EnvelopeError);
    }
  });

  it('fails with EnvelopeError when ciphertext bytes are truncated or extended', () => {
    const env = sealString(key, 'secret note body');
    const e = parseEnvelope(env);
    const c = Buffer.from(e.c, 'base64');
    expect(() => openString(key, buildEnvelope({ ...e, c: c.subarray(0, c.length - 1).toString('base64') }))).toThrow(
      EnvelopeError,
    );
    expect(() =>
      openString(key, buildEnvelope({ ...e, c: Buffer.concat([c, Buffer.from([0])]).toString('base64') })),
    ).toThrow(EnvelopeError);
  });

  it('fails with EnvelopeError under the key of another entity id (different HKDF salt)', () => {
    const env = sealString(key, 'belongs to ENTITY');
    expect(() => openString(deriveEntityKey(master, OTHER_ENTITY), env)).toThrow(EnvelopeError);
    expect(() => openString(deriveEntityKey(master, ENTITY.toUpperCase()), env)).toThrow(EnvelopeError);
  });

  it('fails with EnvelopeError under another master key', () => {
    const env = sealString(key, 'belongs to master');
    expect(() => openString(deriveEntityKey(freshKey(), ENTITY), env)).toThrow(EnvelopeError);
  });

  it('fails with EnvelopeError on malformed envelopes', () => {
    const env = sealString(key, 'x');
    const e = parseEnvelope(env);
    const n = Buffer.from(e.n, 'base64');
    const m = Buffer.from(e.m, 'base64');
    const bad: Uint8Array[] = [
      new Uint8Array(0),
      Buffer.from('not json'),
      Buffer.from([0xff, 0xfe, 0x7b, 0x7d]),
      Buffer.from('42'),
      Buffer.from('"text"'),
      Buffer.from('[]'),
      Buffer.from('{}'),
      buildEnvelope({ n: e.n, c: e.c } as Envelope),
      buildEnvelope({ ...e, n: n.subarray(0, 12).toString('base64') }),
      buildEnvelope({ ...e, m: m.subarray(0, 15).toString('base64') }),
      Buffer.from(JSON.stringify({ ...e, c: 42 })),
    ];
    for (const b of bad) expect(() => openString(key, b)).toThrow(EnvelopeError);
  });

  it('EnvelopeError carries the EnvelopeInvalid type', () => {
    try {
      openString(key, Buffer.from('{}'));
      expect.unreachable('openString should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(EnvelopeError);
      expect((err as EnvelopeError).type).toBe('EnvelopeInvalid');
    }
  });
});

describe('XChaCha20-Poly1305 test vectors', () => {
  it('hchacha (as used here) reproduces the HChaCha20 vector of draft-irtf-cfrg-xchacha §2.2.1', () => {
    const subkey = hchacha20(bytes(32), fromHex('000000090000004a0000000031415927'));
    expect(hex(subkey)).toBe('82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc');
  });

  const master = bytes(32);
  const entityKey = deriveEntityKey(master, ENTITY);
  const nonce = bytes(24, 0x40);

  it.each([
    ['empty', ''],
    [
      'ascii',
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
    ],
    ['unicode', '笔记 🗒️ ñ'],
    ['multi-block (> 64 bytes)', 'x'.repeat(1000)],
  ])(
    'with a fixed nonce, sealString(%s) is deterministic, opens, and equals HChaCha20 + IETF ChaCha20-Poly1305',
    (_name, plaintext) => {
      const a = sealString(entityKey, plaintext, nonce);
      const b = sealString(entityKey, plaintext, nonce);
      expect(Buffer.from(a).equals(Buffer.from(b))).toBe(true);
      expect(openString(entityKey, a)).toBe(plaintext);

      const e = parseEnvelope(a);
      expect(e.n).toBe(Buffer.from(nonce).toString('base64'));
      const ref = referenceXChaCha(entityKey, nonce, Buffer.from(plaintext, 'utf8'));
      expect(e.c).toBe(ref.c.toString('base64'));
      expect(e.m).toBe(ref.m.toString('base64'));
      // Bytes are exactly the JSON {"n","c","m"} in that order.
      expect(Buffer.from(a).toString('utf8')).toBe(
        JSON.stringify({ n: e.n, c: ref.c.toString('base64'), m: ref.m.toString('base64') }),
      );
    },
  );

  it('opens an envelope produced entirely by the independent implementation', () => {
    const plaintext = 'written by the reference implementation ✓';
    const otherNonce = new Uint8Array(randomBytes(24));
    const ref = referenceXChaCha(entityKey, otherNonce, Buffer.from(plaintext));
    const env = buildEnvelope({
      n: Buffer.from(otherNonce).toString('base64'),
      c: ref.c.toString('base64'),
      m: ref.m.toString('base64'),
    });
    expect(openString(entityKey, env)).toBe(plaintext);
  });

  it('a different nonce prefix (HChaCha input) or suffix (ChaCha nonce) changes the ciphertext', () => {
    const base = parseEnvelope(sealString(entityKey, 'same text', nonce));
    const prefix = Uint8Array.from(nonce);
    prefix[0] = prefix[0]! ^ 1;
    const suffix = Uint8Array.from(nonce);
    suffix[23] = suffix[23]! ^ 1;
    expect(parseEnvelope(sealString(entityKey, 'same text', prefix)).c).not.toBe(base.c);
    expect(parseEnvelope(sealString(entityKey, 'same text', suffix)).c).not.toBe(base.c);
  });
});
