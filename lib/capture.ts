// Online mode, pure parts: which source tables are captured (with their key columns, from the
// mappings), how a run of logged changes coalesces into keys to re-read, and the freeze flag file
// format shared with the freeze hooks. No I/O here (the activities read and write the source).
import { MAPPINGS, TABLE_ORDER } from './mapping';

/** One row of the source's change log (sql/source/capture_log.sql): keys only, never values. */
export interface ChangeEntry {
  seq: number;
  tbl: string;
  op: 'I' | 'U' | 'D';
  old_key: string | null;
  new_key: string | null;
}

/** The captured tables and their key columns, in foreign-key order. */
export const CAPTURED_TABLES: readonly { table: string; key: string }[] = TABLE_ORDER.map((t) => ({
  table: t,
  key: MAPPINGS[t].keyColumn,
}));

/**
 * Coalesces logged changes into the distinct keys each table must bring to its current state:
 * several changes of one key are one re-read of the source row (present = upsert, absent = delete);
 * a key change touches both the old key (gone) and the new one. Tables no mapping knows are ignored.
 * Keys keep the order of their first change; `lastSeq` is the highest sequence seen (or `after`).
 */
export function coalesceChanges(
  entries: readonly ChangeEntry[],
  after: number,
): { keys: Map<string, string[]>; lastSeq: number; changes: number } {
  const sets = new Map<string, Set<string>>(CAPTURED_TABLES.map((c) => [c.table, new Set<string>()]));
  let lastSeq = after;
  for (const e of entries) {
    if (e.seq > lastSeq) lastSeq = e.seq;
    const set = sets.get(e.tbl);
    if (!set) continue;
    if (e.old_key !== null) set.add(e.old_key);
    if (e.new_key !== null) set.add(e.new_key);
  }
  const keys = new Map<string, string[]>();
  for (const [t, set] of sets) if (set.size) keys.set(t, [...set]);
  return { keys, lastSeq, changes: entries.length };
}

/** The freeze flag file the freeze hooks write: writers wait while frozenUntilMs is in the future. */
export interface FreezeFlag {
  frozenUntilMs: number;
  runId: string;
}

/** Parses a freeze flag file's text; null when it is not a flag (absent fields, bad JSON). */
export function parseFreezeFlag(text: string): FreezeFlag | null {
  try {
    const v = JSON.parse(text) as Partial<FreezeFlag>;
    if (typeof v.frozenUntilMs !== 'number' || typeof v.runId !== 'string') return null;
    return { frozenUntilMs: v.frozenUntilMs, runId: v.runId };
  } catch {
    return null;
  }
}
