// Order-independent checksums: the sum (mod 2^64) of the first 8 bytes of SHA-256 of each row's
// canonical form. Chunks can be summed in any order and any grouping, so the per-chunk checksums
// the transfer returns add up to the whole-table checksum the validation recomputes from the target.
import { sha256 } from '@noble/hashes/sha2.js';

const MASK = (1n << 64n) - 1n;
const encoder = new TextEncoder();

export const EMPTY_CHECKSUM = '0000000000000000';

// Native SHA-256 (node:crypto's one-shot hash, ~4x the pure-JS speed on a row) where it exists: the
// activities hash every migrated row. The workflow sandbox also bundles this file (for addChecksums
// only); it has no `process` and a static node:crypto import would break its bundle, so it keeps the
// pure-JS hash. Both give the same digest.
const nativeHash =
  typeof process === 'object' && typeof process.getBuiltinModule === 'function'
    ? process.getBuiltinModule('node:crypto').hash
    : undefined;

function sha256Prefix(canonical: string): bigint {
  if (nativeHash) return nativeHash('sha256', canonical, 'buffer').readBigUInt64BE(0);
  const h = sha256(encoder.encode(canonical));
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(h[i]!);
  return v;
}

export function rowHash(canonical: string): bigint {
  return sha256Prefix(canonical);
}

export function addChecksums(a: string, b: string): string {
  return ((BigInt(`0x${a}`) + BigInt(`0x${b}`)) & MASK).toString(16).padStart(16, '0');
}

export class ChecksumAccumulator {
  private sum = 0n;
  count = 0;
  add(canonical: string): void {
    this.sum = (this.sum + rowHash(canonical)) & MASK;
    this.count++;
  }
  hex(): string {
    return this.sum.toString(16).padStart(16, '0');
  }
}

/** Object keys as JSON text: rows of one table share their keys, so each is quoted once. */
const quotedKeys = new Map<string, string>();
function quoteKey(k: string): string {
  let q = quotedKeys.get(k);
  if (q === undefined) {
    q = JSON.stringify(k);
    if (quotedKeys.size < 4096) quotedKeys.set(k, q);
  }
  return q;
}

/** JSON with object keys sorted recursively: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  // Scalars inline, exactly as JSON.stringify renders them (a finite number is its Number#toString).
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      break;
    default:
      return JSON.stringify(value) ?? 'null';
  }
  if (value === null) return 'null';
  // Plain loops and string concatenation: the map/join/template form allocated two arrays and a
  // closure per object and was a tenth of a chunk's CPU. Same text.
  if (Array.isArray(value)) {
    let out = '[';
    // A hole in a sparse array stays empty text, as [].map + join rendered it.
    for (let i = 0; i < value.length; i++) out += (i ? ',' : '') + (i in value ? canonicalJson(value[i]) : '');
    return `${out}]`;
  }
  const record = value as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    out += (i ? ',' : '') + quoteKey(k) + ':' + canonicalJson(record[k]);
  }
  return `${out}}`;
}
