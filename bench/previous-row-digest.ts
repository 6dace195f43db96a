// The target-row digest as the chunk path computed it before (a Hash object per row, map/join, a
// Buffer pair per jsonb key comparison), kept as it was: the baseline of bench/transform.ts's digest
// figures and the reference test/unit/row-digest.test.ts compares activities/row-digest.ts with.
// Not used by the product.
import { createHash } from 'node:crypto';
import { pgNumber, type ColumnKind } from '../activities/row-digest';

function lengthPrefixed(s: string): string {
  return `${Buffer.byteLength(s, 'utf8')}:${s}`;
}

function piece(kind: ColumnKind, v: unknown): string {
  if (v === null || v === undefined) return '~';
  switch (kind) {
    case 'uuid':
      return String(v).toLowerCase();
    case 'bytea':
      return Buffer.from(v as Uint8Array).toString('hex');
    case 'bool':
      return v ? 'true' : 'false';
    case 'int':
      return String(v);
    case 'text':
      return lengthPrefixed(String(v));
    case 'ts': {
      const ms = v instanceof Date ? v.getTime() : Date.parse(String(v));
      return String(BigInt(ms) * 1000n);
    }
    case 'jsonb':
      return lengthPrefixed(previousJsonbText(typeof v === 'string' ? JSON.parse(v) : v));
  }
}

function compareKeys(a: string, b: string): number {
  const ab = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  return ab.length - bb.length || Buffer.compare(ab, bb);
}

function previousJsonbText(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'number') return pgNumber(v);
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(previousJsonbText).join(', ')}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o)
    .filter((k) => o[k] !== undefined)
    .sort(compareKeys);
  return `{${keys.map((k) => `${JSON.stringify(k)}: ${previousJsonbText(o[k])}`).join(', ')}}`;
}

export function previousRowText(kinds: readonly ColumnKind[], values: readonly unknown[]): string {
  return values.map((v, i) => piece(kinds[i]!, v)).join(',');
}

export function previousRowDigest(kinds: readonly ColumnKind[], values: readonly unknown[]): bigint {
  return createHash('md5').update(previousRowText(kinds, values), 'utf8').digest().readBigUInt64BE(0);
}
