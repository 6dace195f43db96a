// The encrypted envelope, compatible with the Duru Notes app's CryptoBox so the app can read
// migrated rows:
//   key   = HKDF-SHA256(ikm = account master key (32 bytes), salt = UTF-8 "note:" + target id,
//           info = empty, length 32)
//   box   = XChaCha20-Poly1305, random 24-byte nonce, 16-byte tag, no associated data
//   bytes = UTF-8 of JSON {"n": b64(nonce), "c": b64(ciphertext), "m": b64(tag)} (padded base64)
// Keys never leave the worker process; only the resulting bytes are written to PostgreSQL.
//
// XChaCha20-Poly1305 is built from OpenSSL's IETF ChaCha20-Poly1305 (node:crypto) plus the
// HChaCha20 subkey step (draft-irtf-cfrg-xchacha §2.3): subkey = HChaCha20(key, nonce[0..16]),
// 12-byte nonce = 4 zero bytes + nonce[16..24]. Same bytes as @noble/ciphers' xchacha20poly1305
// (test/unit/envelope-compat.test.ts), several times faster than the pure-JS cipher on note bodies.
import { hchacha } from '@noble/ciphers/chacha.js';

// node:crypto is looked up at run time, not imported: lib/ is shared with the workflow bundle and may
// not import Node built-ins (eslint.config.js), and a module that did could never be pulled into it.
// Only the worker's activities seal and open; Node >= 20.16 (package.json engines: 20.19) has the lookup.
const native =
  typeof process === 'object' && typeof process.getBuiltinModule === 'function'
    ? process.getBuiltinModule('node:crypto')
    : undefined;
function nodeCrypto(): NonNullable<typeof native> {
  if (!native) throw new EnvelopeError('the envelope needs node:crypto (Node.js >= 20.16), not available here');
  return native;
}

const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Nonces drawn per randomBytes call: one system call per ~500 notes instead of one per field. */
const NONCES_PER_DRAW = 1024;
const decoder = new TextDecoder('utf-8', { fatal: true });
/** HKDF-Expand's single block for 32 bytes: T(1) = HMAC(PRK, info || 0x01) with empty info. */
const EXPAND_INFO = Buffer.from([0x01]);

export class EnvelopeError extends Error {
  readonly type = 'EnvelopeInvalid';
}

export function deriveEntityKey(masterKey: Uint8Array, entityId: string): Uint8Array {
  if (masterKey.length !== KEY_BYTES)
    throw new EnvelopeError(`master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  // RFC 5869 spelled out (L = 32 = HashLen, so Expand is one block): two native HMACs cost
  // about half of hkdfSync's per-call setup, and this runs once per migrated note.
  const prk = nodeCrypto()
    .createHmac('sha256', Buffer.from(`note:${entityId}`, 'utf8'))
    .update(masterKey)
    .digest();
  const okm = nodeCrypto().createHmac('sha256', prk).update(EXPAND_INFO).digest();
  const key = new Uint8Array(okm); // a copy the caller owns; the intermediates are wiped
  prk.fill(0);
  okm.fill(0);
  return key;
}

let noncePool = Buffer.alloc(0);
let nonceAt = 0;
/** A fresh random nonce: a slice of a bulk draw, never handed out twice. */
function freshNonce(): Uint8Array {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    noncePool = nodeCrypto().randomBytes(NONCE_BYTES * NONCES_PER_DRAW);
    nonceAt = 0;
  }
  const nonce = noncePool.subarray(nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}

// Scratch space for HChaCha20: 4-byte-aligned byte buffers with 32-bit word views over them (the
// words are the little-endian reading of the bytes on the little-endian hosts Node runs on here;
// the known-answer check below refuses to seal anywhere that does not hold).
const SIGMA = new Uint32Array(new Uint8Array(Buffer.from('expand 32-byte k', 'latin1')).buffer);
const keyBytes = new Uint8Array(32);
const keyWords = new Uint32Array(keyBytes.buffer);
const prefixBytes = new Uint8Array(16);
const prefixWords = new Uint32Array(prefixBytes.buffer);
const subkeyBytes = new Uint8Array(32);
const subkeyWords = new Uint32Array(subkeyBytes.buffer);
const ietfNonce = new Uint8Array(12);

/** HChaCha20 test vector, draft-irtf-cfrg-xchacha §2.2.1: key 00..1f, nonce 000000090000004a0000000031415927. */
const hchachaSelfTest = ((): boolean => {
  keyBytes.set(Uint8Array.from({ length: 32 }, (_, i) => i));
  prefixBytes.set(Buffer.from('000000090000004a0000000031415927', 'hex'));
  hchacha(SIGMA, keyWords, prefixWords, subkeyWords);
  const ok =
    Buffer.from(subkeyBytes).toString('hex') === '82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc';
  keyBytes.fill(0);
  subkeyBytes.fill(0);
  return ok;
})();

/** Sets up the IETF ChaCha20-Poly1305 (en|de)cipher for an XChaCha20-Poly1305 key and 24-byte nonce. */
function ietfParams(key: Uint8Array, nonce: Uint8Array): { subkey: Uint8Array; iv: Uint8Array } {
  if (!hchachaSelfTest)
    throw new EnvelopeError('HChaCha20 self-test failed on this host (word order?): refusing to seal or open');
  if (key.length !== KEY_BYTES) throw new EnvelopeError(`entity key must be ${KEY_BYTES} bytes, got ${key.length}`);
  if (nonce.length !== NONCE_BYTES) throw new EnvelopeError(`nonce must be ${NONCE_BYTES} bytes, got ${nonce.length}`);
  keyBytes.set(key);
  prefixBytes.set(nonce.subarray(0, 16));
  hchacha(SIGMA, keyWords, prefixWords, subkeyWords);
  keyBytes.fill(0); // no copy of the entity key stays behind in module memory
  ietfNonce.set(nonce.subarray(16, 24), 4); // bytes 0..3 stay zero
  // createCipheriv copies key and iv, so the scratch buffers are free again when it returns.
  return { subkey: subkeyBytes, iv: ietfNonce };
}

const b64 = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: unknown, what: string): Buffer => {
  if (typeof text !== 'string') throw new EnvelopeError(`envelope field ${what} missing`);
  return Buffer.from(text, 'base64');
};

/** Encrypts a UTF-8 string for one entity; returns the envelope's bytes. */
export function sealString(key: Uint8Array, plaintext: string, nonce: Uint8Array = freshNonce()): Buffer {
  const { subkey, iv } = ietfParams(key, nonce);
  const cipher = nodeCrypto().createCipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_BYTES });
  const head = cipher.update(plaintext, 'utf8');
  const tail = cipher.final(); // a stream cipher: always empty, kept for form
  const c = tail.length ? Buffer.concat([head, tail]) : head;
  subkeyBytes.fill(0);
  // Base64 needs no JSON escaping: this is JSON.stringify({ n, c, m }) byte for byte, all ASCII.
  return Buffer.from(
    `{"n":"${b64(nonce)}","c":"${c.toString('base64')}","m":"${cipher.getAuthTag().toString('base64')}"}`,
    'latin1',
  );
}

/** Decrypts envelope bytes; throws EnvelopeError on a wrong key, tampering or a malformed envelope. */
export function openString(key: Uint8Array, envelope: Uint8Array): string {
  let parsed: { n?: unknown; c?: unknown; m?: unknown };
  try {
    parsed = JSON.parse(decoder.decode(envelope)) as typeof parsed;
  } catch {
    throw new EnvelopeError('envelope is not UTF-8 JSON');
  }
  if (parsed === null || typeof parsed !== 'object') throw new EnvelopeError('envelope is not a JSON object');
  const nonce = unb64(parsed.n, 'n');
  const c = unb64(parsed.c, 'c');
  const m = unb64(parsed.m, 'm');
  if (nonce.length !== NONCE_BYTES || m.length !== TAG_BYTES)
    throw new EnvelopeError('envelope nonce or tag has the wrong length');
  const { subkey, iv } = ietfParams(key, nonce);
  const decipher = nodeCrypto().createDecipheriv('chacha20-poly1305', subkey, iv, { authTagLength: TAG_BYTES });
  subkeyBytes.fill(0);
  decipher.setAuthTag(m);
  try {
    const head = decipher.update(c);
    const tail = decipher.final(); // throws when the tag does not verify
    return decoder.decode(tail.length ? Buffer.concat([head, tail]) : head);
  } catch {
    throw new EnvelopeError('envelope failed authentication (wrong key, wrong entity id or tampered bytes)');
  }
}
