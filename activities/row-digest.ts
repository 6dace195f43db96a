// Target-row digests: the worker digests each target row AS WRITTEN (ciphertext bytes included) while
// it writes a chunk; validation asks PostgreSQL for the same digest over the user's target rows
// (sql/control/040_row_digest.sql builds the same canonical text in SQL), so a row changed, lost or
// added after the write shows without re-reading and decrypting every row.
//
// Canonical text of a row: one piece per written column, joined by ','; NULL is '~'. uuid: its text;
// bytea: lowercase hex; boolean: 'true'/'false'; integer: decimal; timestamptz: epoch microseconds;
// text: '<UTF-8 bytes>:<text>' (length-prefixed, so a ',' inside is not a boundary); jsonb: the same
// length prefix over PostgreSQL's jsonb output text. Row digest: the first 8 bytes of md5 of that
// text; a set's digest: their sum mod 2^64 (order-independent, and chunks add up).
import { hash } from 'node:crypto';
import type { TargetTable } from '../lib/mapping/types';

export type ColumnKind = 'uuid' | 'bytea' | 'bool' | 'int' | 'text' | 'ts' | 'jsonb';

/**
 * The columns a chunk writes, in insert order (id, user_id, then the mapping's encode() order after
 * the id). note_tasks.parent_id is not here: it is linked after the chunks, so it is not "as written".
 */
export const DIGEST_COLUMNS: Record<TargetTable, readonly ColumnKind[]> = {
  folders: ['uuid', 'uuid', 'bytea', 'bytea', 'bool', 'ts', 'ts'],
  notes: ['uuid', 'uuid', 'bytea', 'bytea', 'jsonb', 'bool', 'text', 'bool', 'ts', 'ts'],
  note_folders: ['uuid', 'uuid', 'uuid', 'ts'],
  note_tasks: ['uuid', 'uuid', 'uuid', 'text', 'text', 'int', 'ts', 'ts', 'int', 'jsonb', 'bool', 'ts', 'ts'],
};

const MASK = (1n << 64n) - 1n;
export const EMPTY_DIGEST = '0';

function lengthPrefixed(s: string): string {
  return `${Buffer.byteLength(s, 'utf8')}:${s}`;
}

function piece(kind: ColumnKind, v: unknown): string {
  if (v === null || v === undefined) return '~';
  switch (kind) {
    case 'uuid':
      return String(v).toLowerCase();
    case 'bytea':
      // A Buffer as it is (Buffer.from would copy it first).
      return (Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)).toString('hex');
    case 'bool':
      return v ? 'true' : 'false';
    case 'int':
      return String(v);
    case 'text':
      return lengthPrefixed(String(v));
    case 'ts': {
      const ms = v instanceof Date ? v.getTime() : Date.parse(String(v));
      // Microseconds: the milliseconds' digits and three zeros (BigInt only where that is not exact).
      return Number.isSafeInteger(ms) && ms !== 0 ? `${ms}000` : String(BigInt(ms) * 1000n);
    }
    case 'jsonb':
      return lengthPrefixed(pgJsonbText(typeof v === 'string' ? JSON.parse(v) : v));
  }
}

/** The canonical text of one target row (values in DIGEST_COLUMNS order, user_id second). */
export function rowText(kinds: readonly ColumnKind[], values: readonly unknown[]): string {
  if (values.length !== kinds.length)
    throw new Error(`row digest: ${values.length} values for ${kinds.length} columns`);
  let out = piece(kinds[0]!, values[0]);
  for (let i = 1; i < kinds.length; i++) out += `,${piece(kinds[i]!, values[i])}`;
  return out;
}

// One-shot native hash: a Hash object per row (createHash/update/digest) cost as much as building the text.
export function rowDigest(kinds: readonly ColumnKind[], values: readonly unknown[]): bigint {
  return hash('md5', rowText(kinds, values), 'buffer').readBigUInt64BE(0);
}

/** Sum mod 2^64 of digests given as decimal text (PostgreSQL's numeric sums may exceed 64 bits or be negative). */
export function addDigests(...digests: (string | bigint)[]): string {
  let sum = 0n;
  for (const d of digests) sum = (sum + BigInt(d)) & MASK;
  return sum.toString();
}

export class DigestAccumulator {
  private sum = 0n;
  count = 0;
  add(kinds: readonly ColumnKind[], values: readonly unknown[]): void {
    this.sum = (this.sum + rowDigest(kinds, values)) & MASK;
    this.count++;
  }
  addDigest(d: string): void {
    this.sum = (this.sum + BigInt(d)) & MASK;
  }
  value(): string {
    return this.sum.toString();
  }
}

/** A JS number as PostgreSQL's numeric prints it (no exponent: 1e+21 -> 1000000000000000000000). */
export function pgNumber(n: number): string {
  const s = JSON.stringify(n);
  const m = /^(-?)(\d+)(?:\.(\d+))?e([+-]\d+)$/.exec(s);
  if (!m) return s;
  const [, sign, int, frac = '', exp] = m;
  const digits = int! + frac;
  const point = int!.length + Number(exp);
  const plain =
    point <= 0
      ? `0.${'0'.repeat(-point)}${digits}`
      : point >= digits.length
        ? digits + '0'.repeat(point - digits.length)
        : `${digits.slice(0, point)}.${digits.slice(point)}`;
  return sign + plain;
}

/** Sort order of jsonb object keys: shorter first, then bytewise (PostgreSQL's lengthCompareJsonbString). */
function compareKeys(a: string, b: string): number {
  // ASCII keys (the usual ones): UTF-16 order and length are the UTF-8 bytes' order and length.
  if (ASCII.test(a) && ASCII.test(b)) return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length - bb.length || Buffer.compare(ab, bb);
}
const ASCII = /^[\x00-\x7f]*$/;

/** The text PostgreSQL prints for a jsonb value (JSON.stringify's string escapes are the same as its). */
export function pgJsonbText(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return pgNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) {
    let out = '[';
    for (let i = 0; i < v.length; i++) out += (i ? ', ' : '') + pgJsonbText(v[i]);
    return `${out}]`;
  }
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort(compareKeys);
  let out = '{';
  for (let i = 0; i < keys.length; i++)
    out += `${i ? ', ' : ''}${JSON.stringify(keys[i])}: ${pgJsonbText(o[keys[i]!])}`;
  return `${out}}`;
}
