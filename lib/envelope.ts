// The encrypted envelope, compatible with the Duru Notes app's CryptoBox so the app can read
// migrated rows:
//   key   = HKDF-SHA256(ikm = account master key (32 bytes), salt = UTF-8 "note:" + target id,
//           info = empty, length 32)
//   box   = XChaCha20-Poly1305, random 24-byte nonce, 16-byte tag, no associated data
//   bytes = UTF-8 of JSON {"n": b64(nonce), "c": b64(ciphertext), "m": b64(tag)} (padded base64)
// Keys never leave the worker process; only the resulting bytes are written to PostgreSQL.
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { randomBytes } from '@noble/ciphers/utils.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';

const NONCE_BYTES = 24;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export class EnvelopeError extends Error {
  readonly type = 'EnvelopeInvalid';
}

export function deriveEntityKey(masterKey: Uint8Array, entityId: string): Uint8Array {
  if (masterKey.length !== KEY_BYTES) throw new EnvelopeError(`master key must be ${KEY_BYTES} bytes, got ${masterKey.length}`);
  return hkdf(sha256, masterKey, encoder.encode(`note:${entityId}`), new Uint8Array(0), KEY_BYTES);
}

const b64 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
const unb64 = (text: unknown, what: string): Uint8Array => {
  if (typeof text !== 'string') throw new EnvelopeError(`envelope field ${what} missing`);
  return new Uint8Array(Buffer.from(text, 'base64'));
};

/** Encrypts a UTF-8 string for one entity; returns the envelope's bytes. */
export function sealString(key: Uint8Array, plaintext: string, nonce: Uint8Array = randomBytes(NONCE_BYTES)): Buffer {
  const sealed = xchacha20poly1305(key, nonce).encrypt(encoder.encode(plaintext));
  const c = sealed.subarray(0, sealed.length - TAG_BYTES);
  const m = sealed.subarray(sealed.length - TAG_BYTES);
  return Buffer.from(JSON.stringify({ n: b64(nonce), c: b64(c), m: b64(m) }), 'utf8');
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
  if (nonce.length !== NONCE_BYTES || m.length !== TAG_BYTES) throw new EnvelopeError('envelope nonce or tag has the wrong length');
  const sealed = new Uint8Array(c.length + m.length);
  sealed.set(c, 0);
  sealed.set(m, c.length);
  try {
    return decoder.decode(xchacha20poly1305(key, nonce).decrypt(sealed));
  } catch {
    throw new EnvelopeError('envelope failed authentication (wrong key, wrong entity id or tampered bytes)');
  }
}
