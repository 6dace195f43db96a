// Online mode, seen independently of the product's code: the source's schema and per-key content
// hashes, the target's rows decrypted with the user's key as the same hashes, and the state the
// load generator's acknowledged writes say the source had at a freeze. No vitest here: the online
// benchmark (bench/online.ts) uses it too.
import Database from 'better-sqlite3';
import { loadContentHash, type LoadRecord } from '../../infra/load-generator';
import { deriveEntityKey, openString } from '../../lib/envelope';
import { targetId, type SourceTable } from '../../lib/ids';
import { mappingFor, TABLE_ORDER } from '../../lib/mapping';
import type { Sealer } from '../../lib/mapping/types';
import type { TestTarget } from './stack';

/** sqlite_master as rows of text, in a stable order. */
export function sourceSchema(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all() as Record<
        string,
        unknown
      >[]
    ).map((r) => `${String(r.type)} ${String(r.name)} ${String(r.tbl_name)} ${String(r.sql)}`);
  } finally {
    db.close();
  }
}

const CONTENT: Record<SourceTable, { sql: string; hash: (r: Record<string, unknown>) => string }> = {
  local_notes: {
    sql: 'SELECT id AS k, title, body, deleted FROM local_notes',
    hash: (r) => loadContentHash('local_notes', { title: r.title, body: r.body, deleted: r.deleted === 1 }),
  },
  note_tasks: {
    sql: 'SELECT id AS k, content, deleted, note_id FROM note_tasks',
    hash: (r) => loadContentHash('note_tasks', { content: r.content, deleted: r.deleted === 1, note_id: r.note_id }),
  },
  local_folders: {
    sql: 'SELECT id AS k, name, deleted FROM local_folders',
    hash: (r) => loadContentHash('local_folders', { name: r.name, deleted: r.deleted === 1 }),
  },
  note_folders: {
    sql: 'SELECT note_id AS k, folder_id FROM note_folders',
    hash: (r) => loadContentHash('note_folders', { folder_id: r.folder_id }),
  },
};

/** Per mapped table: source key → content hash (the load generator's hash of the fields it writes; null = gone). */
export type State = Record<string, Map<string, string | null>>;

export function sourceState(path: string): State {
  const db = new Database(path, { readonly: true });
  try {
    const out: State = {};
    for (const t of TABLE_ORDER) {
      const rows = db.prepare(CONTENT[t].sql).all() as Record<string, unknown>[];
      out[t] = new Map(rows.map((r) => [String(r.k), CONTENT[t].hash(r)]));
    }
    return out;
  } finally {
    db.close();
  }
}

/** A sealer that only decrypts, with the user's key from the keyring file's keys. */
export function sealerOf(keys: Record<string, Uint8Array>, userId: string): Sealer {
  return {
    seal: () => {
      throw new Error('the test never encrypts');
    },
    open: (id, bytes) => openString(deriveEntityKey(keys[userId]!, id), bytes),
  };
}

/** Every key the source ever had during the load: the initial ones and every key a write named. */
export function knownKeys(initial: State, writes: LoadRecord[]): State {
  return Object.fromEntries(
    TABLE_ORDER.map((t) => [
      t,
      new Map([...initial[t]!, ...writes.filter((w) => w.table === t).map((w) => [w.key, null] as [string, null])]),
    ]),
  );
}

/** The target's rows of the user, as the same per-key hashes, keyed by source key (through every known key). */
export async function targetStateOf(target: TestTarget, userId: string, sealer: Sealer, known: State): Promise<State> {
  const back = (t: SourceTable) =>
    new Map([...known[t]!.keys()].map((k) => [targetId(t, k, userId), k] as [string, string]));
  const notes = back('local_notes');
  const folders = back('local_folders');
  const out: State = {};
  for (const t of TABLE_ORDER) {
    const mapping = mappingFor(t);
    // A link's target key is its note's id (lib/mapping/note-folders.ts).
    const ids = t === 'note_folders' ? notes : back(t);
    const rows = await target.query(`SELECT * FROM ${mapping.targetTable} WHERE user_id = $1`, [userId]);
    const m = new Map<string, string | null>();
    for (const row of rows) {
      const c = mapping.decode(row, sealer);
      const key = ids.get(String(row[mapping.targetKeyColumn]));
      if (key === undefined) throw new Error(`${t}: a target row no source key maps to`);
      let hash: string;
      if (t === 'local_notes') hash = loadContentHash(t, { title: c.title, body: c.body, deleted: c.deleted });
      else if (t === 'note_tasks')
        hash = loadContentHash(t, { content: c.content, deleted: c.deleted, note_id: notes.get(String(c.note_id)) });
      else if (t === 'local_folders') hash = loadContentHash(t, { name: c.name, deleted: c.deleted });
      else hash = loadContentHash(t, { folder_id: folders.get(String(c.folder_id)) });
      m.set(key, hash);
    }
    out[t] = m;
  }
  return out;
}

/** The initial state with every acknowledged write applied whose lock came before the freeze ended. */
export function stateAtFreeze(initial: State, log: LoadRecord[], freezeEndedAtMs: number): State {
  const out: State = Object.fromEntries(Object.entries(initial).map(([t, m]) => [t, new Map(m)]));
  for (const r of log) if (r.lockedAtMs < freezeEndedAtMs) out[r.table]!.set(r.key, r.contentHash);
  return out;
}

/** The present keys of a state (deleted ones left out), sorted. */
export const present = (m: Map<string, string | null>) =>
  new Map([...m].filter((e): e is [string, string] => e[1] !== null).sort(([a], [b]) => (a < b ? -1 : 1)));
