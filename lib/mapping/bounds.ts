// Chunk bounds by rows AND bytes (docs/mapping.md, "Bounded chunks"). The sizes come from the source
// (sql/queries/source_sized_<table>.sql: octet_length of the columns a mapping reads, which SQLite
// answers from the record header without loading the content); deciding where a chunk ends is pure.
import type { TableMapping } from './types';

export interface KeySize {
  k: string | number;
  bytes: number;
}

/**
 * How many of `sizes` (the next rows in key order) the next chunk takes: at most `maxRows`, at most
 * `maxBytes` in total, and always at least one row, so a row larger than the budget forms a chunk of
 * its own instead of stalling the plan (a row over MAX_ROW_BYTES is then quarantined unread).
 */
export function chunkLength(sizes: readonly KeySize[], maxRows: number, maxBytes: number): number {
  let total = 0;
  let n = 0;
  for (const s of sizes) {
    if (n >= maxRows || (n > 0 && total + s.bytes > maxBytes)) break;
    total += s.bytes;
    n++;
  }
  return n;
}

/** The temp view (created by its SQL file) giving (k, bytes) for each row of a mapping's source table. */
export function sizedView(mapping: TableMapping): { file: string; view: string } {
  return { file: `queries/source_sized_${mapping.sourceTable}.sql`, view: `source_sized_${mapping.sourceTable}` };
}
