// Value parsers from Drift's storage conventions to canonical values. Each returns the value or
// throws RowRejection with a reason code and the column name (never the value: no user content).
import { MAX_FUTURE_SKEW_SECONDS, MAX_JSON_DEPTH, MIN_PLAUSIBLE_EPOCH_SECONDS } from '../defaults';
import { QuarantineReason } from '../reasons';

export class RowRejection extends Error {
  constructor(
    readonly reason: QuarantineReason,
    readonly column: string,
  ) {
    super(`${reason} in column ${column}`);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Source text columns are read as BLOB (CAST(col AS BLOB)) so invalid UTF-8 is caught, not replaced. */
export function text(row: Record<string, unknown>, column: string): string {
  const value = row[column];
  if (value === null || value === undefined) throw new RowRejection(QuarantineReason.INVALID_VALUE, column);
  return decodeText(value, column);
}

export function optionalText(row: Record<string, unknown>, column: string): string | null {
  const value = row[column];
  return value === null || value === undefined ? null : decodeText(value, column);
}

function decodeText(value: unknown, column: string): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) {
    try {
      return utf8.decode(value);
    } catch {
      throw new RowRejection(QuarantineReason.INVALID_UTF8, column);
    }
  }
  throw new RowRejection(QuarantineReason.INVALID_VALUE, column);
}

/** Text stored in a PostgreSQL text/jsonb column: no NUL, no lone surrogate. */
export function pgSafe(value: string, column: string): string {
  if (value.includes('\u0000') || !(value as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw new RowRejection(QuarantineReason.UNSUPPORTED_TEXT, column);
  }
  return value;
}

export function int(row: Record<string, unknown>, column: string, fallback?: number): number {
  const value = row[column];
  if ((value === null || value === undefined) && fallback !== undefined) return fallback;
  if (typeof value === 'bigint' && value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER))
    return Number(value);
  if (typeof value === 'number' && Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) return value;
  throw new RowRejection(QuarantineReason.INVALID_VALUE, column);
}

export function optionalInt(row: Record<string, unknown>, column: string): number | null {
  const value = row[column];
  return value === null || value === undefined ? null : int(row, column);
}

/** Drift boolean: INTEGER 0/1 (a NULL takes the column default, false). */
export function bool(row: Record<string, unknown>, column: string): boolean {
  const value = row[column];
  if (value === null || value === undefined || value === 0 || value === 0n) return false;
  if (value === 1 || value === 1n) return true;
  throw new RowRejection(QuarantineReason.INVALID_VALUE, column);
}

/** Integer enum: the index into `names`; anything else is quarantined, never coerced. */
export function intEnum<T extends string>(
  row: Record<string, unknown>,
  column: string,
  names: readonly T[],
  fallback: number,
): T {
  const value = row[column] === null || row[column] === undefined ? fallback : row[column];
  const index = typeof value === 'bigint' ? Number(value) : value;
  if (typeof index !== 'number' || !Number.isInteger(index) || index < 0 || index >= names.length) {
    throw new RowRejection(QuarantineReason.INVALID_ENUM, column);
  }
  return names[index]!;
}

/**
 * Drift dateTime: INTEGER Unix seconds (ISO-8601 text also accepted). Returns epoch milliseconds.
 * Values outside [1990-01-01, asOf + 1 day] are quarantined: that catches milliseconds stored as
 * seconds, which would otherwise become a year-56,000 timestamp.
 */
export function time(row: Record<string, unknown>, column: string, asOfSeconds: number): number {
  const value = row[column];
  let ms: number;
  // Rounded to whole milliseconds: timestamptz keeps microseconds, but ISO text (and so the target) keeps ms.
  if (typeof value === 'number' || typeof value === 'bigint') ms = Math.round(Number(value) * 1000);
  else if (value instanceof Uint8Array || typeof value === 'string') {
    const textValue = decodeText(value, column).trim();
    ms = /^-?\d+$/.test(textValue) ? Number(textValue) * 1000 : isoMillis(textValue);
  } else throw new RowRejection(QuarantineReason.INVALID_VALUE, column);
  if (
    !Number.isFinite(ms) ||
    ms < MIN_PLAUSIBLE_EPOCH_SECONDS * 1000 ||
    ms > (asOfSeconds + MAX_FUTURE_SKEW_SECONDS) * 1000
  ) {
    throw new RowRejection(QuarantineReason.TIMESTAMP_OUT_OF_RANGE, column);
  }
  return ms;
}

export function optionalTime(row: Record<string, unknown>, column: string, asOfSeconds: number): number | null {
  const value = row[column];
  return value === null || value === undefined ? null : time(row, column, asOfSeconds);
}

const ISO_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
function isoMillis(value: string): number {
  if (!ISO_RE.test(value)) return Number.NaN;
  // A local time without zone is read as UTC (Drift stores UTC); Date.parse would use local time.
  const withZone = /(Z|[+-]\d{2}:?\d{2})$/.test(value) || value.length === 10 ? value : `${value}Z`;
  return Date.parse(withZone.replace(' ', 'T'));
}

/**
 * True when the JSON text nests arrays/objects deeper than `maxDepth`. One linear scan that skips
 * string contents (brackets inside strings do not nest); it does not validate, JSON.parse does.
 */
export function jsonDepthExceeds(raw: string, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** JSON text → parsed value. Malformed or too deeply nested JSON, NUL characters or lone surrogates are quarantined. */
export function optionalJson(row: Record<string, unknown>, column: string): unknown {
  const raw = optionalText(row, column);
  if (raw === null) return null;
  // Checked on the text, before anything recursive touches the value (6,000 nested arrays overflow the stack).
  if (jsonDepthExceeds(raw, MAX_JSON_DEPTH)) throw new RowRejection(QuarantineReason.INVALID_JSON, column);
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    throw new RowRejection(QuarantineReason.INVALID_JSON, column);
  }
  assertJsonStorable(parsed, column);
  return parsed;
}

function assertJsonStorable(value: unknown, column: string): void {
  if (typeof value === 'string') pgSafe(value, column);
  // An integer beyond 2^53 has already lost digits in JSON.parse, and 1e400 became Infinity (stored
  // as null): quarantine rather than write a different number.
  else if (
    typeof value === 'number' &&
    (!Number.isFinite(value) || (Number.isInteger(value) && !Number.isSafeInteger(value)))
  ) {
    throw new RowRejection(QuarantineReason.UNSUPPORTED_NUMBER, column);
  } else if (Array.isArray(value)) value.forEach((v) => assertJsonStorable(v, column));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      pgSafe(k, column);
      assertJsonStorable(v, column);
    }
  }
}
