// Order-independent checksums: the sum (mod 2^64) of the first 8 bytes of SHA-256 of each row's
// canonical form. Chunks can be summed in any order and any grouping, so the per-chunk checksums
// the transfer returns add up to the whole-table checksum the validation recomputes from the target.
import { sha256 } from '@noble/hashes/sha2.js';

const MASK = (1n << 64n) - 1n;
const encoder = new TextEncoder();

export const EMPTY_CHECKSUM = '0000000000000000';

export function rowHash(canonical: string): bigint {
  const h = sha256(encoder.encode(canonical));
  let v = 0n;
  for (let i = 0; i < 8; i++) v = (v << 8n) | BigInt(h[i]!);
  return v;
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

/** JSON with object keys sorted recursively: the same value always gives the same text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as Record<string, unknown>).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}
