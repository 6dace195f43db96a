// A write load on a live source file, as the notes app would make it: inserts, updates, soft and
// hard deletes of notes, tasks, folders and note ↔ folder links (including a key change), at a
// given rate. Every write is one `BEGIN IMMEDIATE … COMMIT` transaction that waits while the
// source's write lock is held elsewhere (the migrator's final delta pass: polled, not SQLite's
// blocking busy handler, so the event loop keeps running), and waits while a freeze flag file says
// so. Every acknowledged write (after COMMIT) is appended to a JSON Lines log:
//   {"op","table","key","contentHash","lockedAtMs"[,"oldKey"]}
// contentHash is loadContentHash() of what the write left (null = the row is gone); lockedAtMs is
// when the write held the lock, so a test can place it before or after a freeze window.
import { createHash, randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import { contentHash as taskContentHash } from '../gen/generate';
import { Rng } from '../gen/prng';
import { parseFreezeFlag } from '../lib/capture';

export interface LoadOptions {
  source: string;
  /** Writes per second. */
  rate: number;
  durationMs: number;
  /** JSON Lines file the acknowledged writes are appended to. */
  log: string;
  /** A freeze flag file ({"frozenUntilMs","runId"}): no write starts while it says frozen. */
  freezeFlag?: string;
  seed?: number;
  /** How long one write may wait for the lock before the load fails (the app's own patience). */
  maxLockWaitMs?: number;
  /** fsync every commit (synchronous=FULL). Off by default: a per-connection setting, so the load
   * reaches its rate on slow disks; it does not change the file or what other connections do. */
  durable?: boolean;
  signal?: AbortSignal;
}

export interface LoadRecord {
  op: string;
  table: string;
  key: string;
  contentHash: string | null;
  lockedAtMs: number;
  oldKey?: string;
}

export interface LoadSummary {
  acknowledged: number;
  byOp: Record<string, number>;
  /** The longest one write waited for the source's lock (ms). */
  maxLockWaitMs: number;
  /** Time spent waiting on the freeze flag (ms). */
  flagWaitMs: number;
  elapsedMs: number;
}

/** The hash a load record carries for what a write left: the fields a migrated row must show. */
export function loadContentHash(table: string, fields: Record<string, unknown>): string {
  const sorted = Object.fromEntries(
    Object.keys(fields)
      .sort()
      .map((k) => [k, fields[k]]),
  );
  return createHash('sha256')
    .update(`${table}\n${JSON.stringify(sorted)}`)
    .digest('hex');
}

type Rec = Omit<LoadRecord, 'lockedAtMs'>;
type Op = (db: Database.Database, rng: Rng, nowS: number) => Rec[] | null;

const noteHash = (title: string, body: string, deleted: boolean) =>
  loadContentHash('local_notes', { title, body, deleted });
const taskHash = (content: string, deleted: boolean, noteId: string) =>
  loadContentHash('note_tasks', { content, deleted, note_id: noteId });
const folderHash = (name: string, deleted: boolean) => loadContentHash('local_folders', { name, deleted });
const linkHash = (folderId: string) => loadContentHash('note_folders', { folder_id: folderId });

function one<T>(db: Database.Database, sql: string, ...params: unknown[]): T | undefined {
  return db.prepare(sql).get(...params) as T | undefined;
}

const words = (rng: Rng, n: number) =>
  Array.from({ length: n }, () => rng.pick(['alpha', 'beta', 'live', 'write', 'note', 'edit', 'delta', 'sync'])).join(
    ' ',
  );

const OPS: Record<string, { weight: number; run: Op }> = {
  'note.insert': {
    weight: 15,
    run: (db, rng, now) => {
      const id = randomUUID(); // unique across runs of the load on one file
      const title = `Live ${words(rng, 3)}`;
      const body = `# ${title}\n\n${words(rng, 12)}`;
      db.prepare(
        'INSERT INTO local_notes (id, title, body, updated_at, deleted, is_pinned, note_type) VALUES (?, ?, ?, ?, 0, 0, 0)',
      ).run(id, title, body, now);
      return [{ op: 'insert', table: 'local_notes', key: id, contentHash: noteHash(title, body, false) }];
    },
  },
  'note.update': {
    weight: 25,
    run: (db, rng, now) => {
      const n = one<{ id: string; deleted: number }>(
        db,
        'SELECT id, deleted FROM local_notes ORDER BY random() LIMIT 1',
      );
      if (!n) return null;
      const title = `Edited ${words(rng, 3)}`;
      const body = `edited body ${words(rng, 10)}`;
      db.prepare('UPDATE local_notes SET title = ?, body = ?, updated_at = ? WHERE id = ?').run(title, body, now, n.id);
      return [{ op: 'update', table: 'local_notes', key: n.id, contentHash: noteHash(title, body, n.deleted === 1) }];
    },
  },
  'note.softDelete': {
    weight: 5,
    run: (db, _rng, now) => {
      const n = one<{ id: string; title: string; body: string }>(
        db,
        'SELECT id, title, body FROM local_notes WHERE deleted = 0 ORDER BY random() LIMIT 1',
      );
      if (!n) return null;
      db.prepare('UPDATE local_notes SET deleted = 1, updated_at = ? WHERE id = ?').run(now, n.id);
      return [{ op: 'soft-delete', table: 'local_notes', key: n.id, contentHash: noteHash(n.title, n.body, true) }];
    },
  },
  'note.hardDelete': {
    weight: 5,
    run: (db) => {
      const n = one<{ id: string }>(db, 'SELECT id FROM local_notes ORDER BY random() LIMIT 1');
      if (!n) return null;
      // The app deletes a note's tasks and link with it (the source's FK cascade, made explicit).
      const tasks = db.prepare('SELECT id FROM note_tasks WHERE note_id = ?').all(n.id) as { id: string }[];
      const link = one<{ note_id: string }>(db, 'SELECT note_id FROM note_folders WHERE note_id = ?', n.id);
      db.prepare('DELETE FROM note_tasks WHERE note_id = ?').run(n.id);
      db.prepare('DELETE FROM note_folders WHERE note_id = ?').run(n.id);
      db.prepare('DELETE FROM local_notes WHERE id = ?').run(n.id);
      return [
        ...tasks.map((t) => ({ op: 'hard-delete', table: 'note_tasks', key: t.id, contentHash: null })),
        ...(link ? [{ op: 'hard-delete', table: 'note_folders', key: n.id, contentHash: null }] : []),
        { op: 'hard-delete', table: 'local_notes', key: n.id, contentHash: null },
      ];
    },
  },
  'task.insert': {
    weight: 10,
    run: (db, rng, now) => {
      const n = one<{ id: string }>(db, 'SELECT id FROM local_notes ORDER BY random() LIMIT 1');
      if (!n) return null;
      const parent = rng.chance(0.3)
        ? one<{ id: string }>(db, 'SELECT id FROM note_tasks WHERE note_id = ? ORDER BY random() LIMIT 1', n.id)
        : undefined;
      const id = randomUUID(); // unique across runs of the load on one file
      const content = `Live task ${words(rng, 4)}`;
      db.prepare(
        `INSERT INTO note_tasks (id, note_id, content, status, priority, position, content_hash, parent_task_id, created_at, updated_at, deleted)
         VALUES (?, ?, ?, 0, 1, 0, ?, ?, ?, ?, 0)`,
      ).run(id, n.id, content, taskContentHash(content), parent?.id ?? null, now, now);
      return [{ op: 'insert', table: 'note_tasks', key: id, contentHash: taskHash(content, false, n.id) }];
    },
  },
  'task.update': {
    weight: 10,
    run: (db, rng, now) => {
      const t = one<{ id: string; note_id: string }>(
        db,
        'SELECT id, note_id FROM note_tasks WHERE deleted = 0 ORDER BY random() LIMIT 1',
      );
      if (!t) return null;
      const content = `Edited task ${words(rng, 4)}`;
      const deleted = rng.chance(0.2);
      db.prepare(
        'UPDATE note_tasks SET content = ?, content_hash = ?, status = ?, deleted = ?, updated_at = ? WHERE id = ?',
      ).run(content, taskContentHash(content), rng.int(0, 2), deleted ? 1 : 0, now, t.id);
      return [
        {
          op: deleted ? 'soft-delete' : 'update',
          table: 'note_tasks',
          key: t.id,
          contentHash: taskHash(content, deleted, t.note_id),
        },
      ];
    },
  },
  'task.hardDelete': {
    weight: 5,
    run: (db) => {
      const t = one<{ id: string }>(db, 'SELECT id FROM note_tasks ORDER BY random() LIMIT 1');
      if (!t) return null;
      db.prepare('DELETE FROM note_tasks WHERE id = ?').run(t.id);
      return [{ op: 'hard-delete', table: 'note_tasks', key: t.id, contentHash: null }];
    },
  },
  'folder.insert': {
    weight: 3,
    run: (db, rng, now) => {
      const parent = rng.chance(0.5)
        ? one<{ id: string; path: string }>(db, 'SELECT id, path FROM local_folders ORDER BY random() LIMIT 1')
        : undefined;
      const id = randomUUID(); // unique across runs of the load on one file
      const name = `Live ${words(rng, 2)} ${id.slice(0, 6)}`;
      db.prepare(
        'INSERT INTO local_folders (id, name, parent_id, path, sort_order, description, created_at, updated_at, deleted) VALUES (?, ?, ?, ?, 0, ?, ?, ?, 0)',
      ).run(id, name, parent?.id ?? null, `${parent?.path ?? ''}/${name}`, '', now, now);
      return [{ op: 'insert', table: 'local_folders', key: id, contentHash: folderHash(name, false) }];
    },
  },
  'folder.update': {
    weight: 4,
    run: (db, rng, now) => {
      const f = one<{ id: string; deleted: number }>(
        db,
        'SELECT id, deleted FROM local_folders ORDER BY random() LIMIT 1',
      );
      if (!f) return null;
      const name = `Renamed ${words(rng, 2)} ${f.id.slice(0, 6)}`;
      db.prepare('UPDATE local_folders SET name = ?, updated_at = ? WHERE id = ?').run(name, now, f.id);
      return [{ op: 'update', table: 'local_folders', key: f.id, contentHash: folderHash(name, f.deleted === 1) }];
    },
  },
  'folder.hardDelete': {
    weight: 1,
    run: (db) => {
      // A leaf folder, with the links into it (the app's cascade, made explicit).
      const f = one<{ id: string }>(
        db,
        'SELECT id FROM local_folders f WHERE NOT EXISTS (SELECT 1 FROM local_folders c WHERE c.parent_id = f.id) ORDER BY random() LIMIT 1',
      );
      if (!f) return null;
      const links = db.prepare('SELECT note_id FROM note_folders WHERE folder_id = ?').all(f.id) as {
        note_id: string;
      }[];
      db.prepare('DELETE FROM note_folders WHERE folder_id = ?').run(f.id);
      db.prepare('DELETE FROM local_folders WHERE id = ?').run(f.id);
      return [
        ...links.map((l) => ({ op: 'hard-delete', table: 'note_folders', key: l.note_id, contentHash: null })),
        { op: 'hard-delete', table: 'local_folders', key: f.id, contentHash: null },
      ];
    },
  },
  'link.upsert': {
    weight: 8,
    run: (db, _rng, now) => {
      const n = one<{ id: string }>(db, 'SELECT id FROM local_notes ORDER BY random() LIMIT 1');
      const f = one<{ id: string }>(db, 'SELECT id FROM local_folders ORDER BY random() LIMIT 1');
      if (!n || !f) return null;
      db.prepare(
        'INSERT INTO note_folders (note_id, folder_id, added_at) VALUES (?, ?, ?) ON CONFLICT (note_id) DO UPDATE SET folder_id = excluded.folder_id, added_at = excluded.added_at',
      ).run(n.id, f.id, now);
      return [{ op: 'upsert', table: 'note_folders', key: n.id, contentHash: linkHash(f.id) }];
    },
  },
  'link.rekey': {
    weight: 3,
    run: (db) => {
      // A key change: the link moves to a note that has none.
      const l = one<{ note_id: string; folder_id: string }>(
        db,
        'SELECT note_id, folder_id FROM note_folders ORDER BY random() LIMIT 1',
      );
      const n = one<{ id: string }>(
        db,
        'SELECT id FROM local_notes n WHERE NOT EXISTS (SELECT 1 FROM note_folders l WHERE l.note_id = n.id) ORDER BY random() LIMIT 1',
      );
      if (!l || !n) return null;
      db.prepare('UPDATE note_folders SET note_id = ? WHERE note_id = ?').run(n.id, l.note_id);
      return [
        { op: 'rekey', table: 'note_folders', key: n.id, oldKey: l.note_id, contentHash: linkHash(l.folder_id) },
        { op: 'rekey-gone', table: 'note_folders', key: l.note_id, contentHash: null },
      ];
    },
  },
  'link.hardDelete': {
    weight: 5,
    run: (db) => {
      const l = one<{ note_id: string }>(db, 'SELECT note_id FROM note_folders ORDER BY random() LIMIT 1');
      if (!l) return null;
      db.prepare('DELETE FROM note_folders WHERE note_id = ?').run(l.note_id);
      return [{ op: 'hard-delete', table: 'note_folders', key: l.note_id, contentHash: null }];
    },
  },
};

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const isBusy = (err: unknown) => /^SQLITE_BUSY|^SQLITE_LOCKED/.test((err as { code?: string }).code ?? '');

/** Waits while the freeze flag file says frozen; returns the time waited. */
async function waitForFlag(path: string | undefined, signal?: AbortSignal): Promise<number> {
  if (!path) return 0;
  const started = Date.now();
  for (;;) {
    if (signal?.aborted || !existsSync(path)) break;
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      break; // removed between the check and the read
    }
    const flag = parseFreezeFlag(text);
    if (!flag || flag.frozenUntilMs <= Date.now()) break;
    await sleep(Math.min(50, flag.frozenUntilMs - Date.now()));
  }
  return Date.now() - started;
}

/** One write as one transaction, retried while the lock is held elsewhere (never SQLite's blocking wait). */
async function write(db: Database.Database, fn: () => Rec[] | null, maxWaitMs: number) {
  const started = Date.now();
  const retrying = async (sql: string) => {
    for (;;) {
      try {
        db.exec(sql);
        return;
      } catch (err) {
        if (!isBusy(err) || Date.now() - started > maxWaitMs) throw err;
        await sleep(5);
      }
    }
  };
  await retrying('BEGIN IMMEDIATE');
  const lockedAtMs = Date.now();
  let recs: Rec[] | null;
  try {
    recs = fn();
    if (recs === null) {
      db.exec('ROLLBACK');
      return null;
    }
    await retrying('COMMIT');
  } catch (err) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw err;
  }
  return { recs, lockedAtMs, waitedMs: lockedAtMs - started };
}

/** Runs the load for `durationMs` (or until `signal` aborts). */
export async function runLoad(opts: LoadOptions): Promise<LoadSummary> {
  if (!(opts.rate > 0)) throw new Error(`rate must be a positive number of writes per second, got ${opts.rate}`);
  // timeout 0: a busy lock is reported at once and retried asynchronously by write().
  const db = new Database(opts.source, { fileMustExist: true, timeout: 0 });
  if (!opts.durable) db.pragma('synchronous = OFF');
  const rng = new Rng(opts.seed ?? Date.now() % 2 ** 31);
  const names = Object.keys(OPS);
  const weights = names.map((n) => OPS[n]!.weight);
  const summary: LoadSummary = { acknowledged: 0, byOp: {}, maxLockWaitMs: 0, flagWaitMs: 0, elapsedMs: 0 };
  const started = Date.now();
  const interval = 1000 / opts.rate;
  let next = started;
  try {
    while (Date.now() - started < opts.durationMs && !opts.signal?.aborted) {
      summary.flagWaitMs += await waitForFlag(opts.freezeFlag, opts.signal);
      const name = names[rng.weighted(weights)]!;
      const done = await write(
        db,
        () => OPS[name]!.run(db, rng, Math.floor(Date.now() / 1000)),
        opts.maxLockWaitMs ?? 120_000,
      );
      if (done) {
        appendFileSync(
          opts.log,
          done.recs.map((r) => `${JSON.stringify({ ...r, lockedAtMs: done.lockedAtMs })}\n`).join(''),
        );
        summary.acknowledged++;
        summary.byOp[name] = (summary.byOp[name] ?? 0) + 1;
        summary.maxLockWaitMs = Math.max(summary.maxLockWaitMs, done.waitedMs);
      }
      next += interval;
      const wait = next - Date.now();
      if (wait > 0) await sleep(wait);
      else if (wait < -1000) next = Date.now(); // behind by a second (a freeze): do not burst to catch up
    }
  } finally {
    db.close();
  }
  summary.elapsedMs = Date.now() - started;
  return summary;
}

/** Reads a load log back. */
export function readLoadLog(path: string): LoadRecord[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as LoadRecord);
}
