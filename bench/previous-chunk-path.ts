// The pure-JS primitives the chunk path used before the native ones (@noble HKDF,
// XChaCha20-Poly1305, SHA-256, SHA-1), kept as they were: the baseline of bench/transform.ts and the
// reference the byte-compatibility tests compare the current lib/ code with. Not used by the product.
import { randomBytes } from 'node:crypto';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha1 } from '@noble/hashes/legacy.js';
import { sha256 } from '@noble/hashes/sha2.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });
const b64 = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');

export const previous = {
  deriveEntityKey: (master: Uint8Array, id: string): Uint8Array =>
    hkdf(sha256, master, encoder.encode(`note:${id}`), new Uint8Array(0), 32),
  seal(key: Uint8Array, plaintext: string): Buffer {
    const nonce = new Uint8Array(randomBytes(24));
    const sealed = xchacha20poly1305(key, nonce).encrypt(encoder.encode(plaintext));
    return Buffer.from(
      JSON.stringify({ n: b64(nonce), c: b64(sealed.subarray(0, -16)), m: b64(sealed.subarray(-16)) }),
      'utf8',
    );
  },
  open(key: Uint8Array, envelope: Uint8Array): string {
    const e = JSON.parse(decoder.decode(envelope)) as { n: string; c: string; m: string };
    const sealed = Buffer.concat([Buffer.from(e.c, 'base64'), Buffer.from(e.m, 'base64')]);
    return decoder.decode(xchacha20poly1305(key, new Uint8Array(Buffer.from(e.n, 'base64'))).decrypt(sealed));
  },
  rowHash(canonical: string): bigint {
    const h = sha256(encoder.encode(canonical));
    let v = 0n;
    for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(h[i]!);
    return v;
  },
  canonicalJson(value: unknown): string {
    if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
    if (Array.isArray(value)) return `[${value.map((v) => previous.canonicalJson(v)).join(',')}]`;
    const keys = Object.keys(value as Record<string, unknown>).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${previous.canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
  },
  uuidV5(name: string, namespace: string): string {
    const hex = namespace.replace(/-/g, '');
    const ns = Uint8Array.from({ length: 16 }, (_, i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16));
    const h = sha1(Uint8Array.from([...ns, ...encoder.encode(name)]));
    h[6] = (h[6]! & 0x0f) | 0x50;
    h[8] = (h[8]! & 0x3f) | 0x80;
    const x = Buffer.from(h.subarray(0, 16)).toString('hex');
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  },
};
