// Phase 1a — verified backups before anything changes: the source through SQLite's online backup
// API (then integrity_check, off the event loop, and sha256 of the copy), and the helpers the
// target's backups share: the target's full backup of the window is activities/full-backup.ts, the
// run's pre-image of its user's rows activities/pre-image.ts.
//
// Safe to retry beside a stale attempt: each attempt writes `<file>.attempt-<n>.partial`, renaming
// the file into place only once verified; it removes what earlier attempts of the run left. Every
// long step heartbeats and stops when the activity is cancelled (children killed, queries
// cancelled). Directories are 0700 and files 0600 whatever the umask: a backup holds user data.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  createReadStream,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { statfs } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import type pg from 'pg';
import { BACKUP_DIR_FULL_BYTES, BACKUP_SPACE_FACTOR } from '../lib/defaults';
import { asBackupDirectoryFull, BackupError, InsufficientSpaceError } from '../lib/errors';
import type { Fingerprint } from '../lib/fingerprint';
import { pgChildEnv } from '../lib/pg-child-env';
import { sqlFile } from '../infra/sql-files';
import { runChild } from './child-process';
import type { ActivityDeps } from './deps';
import { attemptNumber, beat, cancellationSignal, onAbort, throwIfCancelled, whileHeartbeating } from './heartbeat';
import { openSource } from './source';

/** The schema of migration_backups.full_backups: left out of every dump and fingerprint. */
export const BACKUP_REGISTRY_SCHEMA = 'migration_backups';

export interface BackupRecord {
  backupId: string;
  kind: 'source-sqlite' | 'target-pg_dump' | 'target-pre-image';
  location: string;
  bytes: number;
  sha256: string;
  verified: boolean;
  verification: Record<string, number | string>;
  /** Per-table counts and checksums of what the backup holds (target dumps only). */
  fingerprint?: Fingerprint;
}

/**
 * A direct client's connection breaking between queries (server restarted) emits 'error'; without a
 * listener that event kills the worker. The query in flight rejects anyway and the attempt fails.
 */
export const ignoreClientError = (err: Error): void =>
  console.error(`[migrator] backup connection error: ${err.message}`);

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** libpq environment for pg_dump/pg_restore (lib/pg-child-env.ts), so the DSN never appears on a command line. */
export function libpqEnv(dsn: string, database?: string, applicationName?: string): Record<string, string> {
  return pgChildEnv(dsn, { database, applicationName, base: process.env });
}

/** The run's backup directory, 0700 (as is the backup root when this creates it). */
export function runBackupDir(backupDir: string, runId: string): string {
  const created = mkdirSync(backupDir, { recursive: true, mode: 0o700 });
  if (created !== undefined) chmodSync(backupDir, 0o700);
  const dir = join(backupDir, runId);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700); // mkdir's mode is filtered by the umask; chmod is not
  return dir;
}

export const partialPath = (location: string, attempt: number): string => `${location}.attempt-${attempt}.partial`;

/**
 * This attempt's partial file for `location`, created empty with mode 0600 (the tools that fill it
 * keep the mode of an existing file). Partials of earlier attempts are removed: a stale attempt's
 * child may still write to its own (now unlinked) file, never to this one.
 */
export function startPartial(location: string, attempt: number): string {
  const prefix = `${basename(location)}.attempt-`;
  for (const name of readdirSync(dirname(location))) {
    const m = name.startsWith(prefix) ? /^(\d+)\.partial$/.exec(name.slice(prefix.length)) : null;
    if (m && Number(m[1]) <= attempt) rmSync(join(dirname(location), name), { force: true });
  }
  const partial = partialPath(location, attempt);
  closeSync(openSync(partial, 'wx', 0o600));
  chmodSync(partial, 0o600);
  return partial;
}

/** Makes a verified partial the backup: flushed, 0600, renamed atomically over `location`. */
export function commitPartial(partial: string, location: string): void {
  chmodSync(partial, 0o600);
  const fd = openSync(partial, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(partial, location);
  const dirFd = openSync(dirname(location), 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

/** Refuses (typed, not retried) when the backup filesystem lacks BACKUP_SPACE_FACTOR × `sizeBytes`. */
export async function ensureFreeSpace(dir: string, sizeBytes: number, what: string): Promise<void> {
  const fs = await statfs(dir);
  const available = Number(fs.bavail) * Number(fs.bsize);
  const needed = Math.ceil(sizeBytes * BACKUP_SPACE_FACTOR);
  if (available < needed) throw new InsufficientSpaceError(dir, needed, available, what);
}

/**
 * A failed backup step as BackupDirectoryFull when it hit ENOSPC or the backup filesystem is full now:
 * pg_dump -Fc exits 0 on a full disk, leaving a short file only the verification (pg_restore --list) notices.
 */
export async function asDirectoryFull(err: unknown, dir: string, what: string): Promise<unknown> {
  const fs = await statfs(dir).catch(() => null);
  return asBackupDirectoryFull(
    err,
    dir,
    what,
    fs !== null && Number(fs.bavail) * Number(fs.bsize) < BACKUP_DIR_FULL_BYTES,
  );
}

// Runs in a child node process: PRAGMA integrity_check of a large file takes seconds of native
// work that would block the worker's event loop (and with it heartbeats and other activities).
// A file SQLite refuses to check at all (truncated: SQLITE_CORRUPT; not a database: SQLITE_NOTADB)
// is a failed check too, not a crashed child: the caller reports it as what it is.
const INTEGRITY_SCRIPT = `
const Database = require(process.argv[1]);
let result;
try {
  const db = new Database(process.argv[2], { readonly: true, fileMustExist: true });
  try {
    const rows = db.pragma('integrity_check', { simple: false });
    const userVersion = db.pragma('user_version', { simple: true });
    const first = String(Object.values(rows[0] || {})[0] || '');
    result = { ok: rows.length === 1 && first === 'ok', problems: first === 'ok' ? 0 : rows.length, first: first.slice(0, 200), userVersion };
  } finally { db.close(); }
} catch (err) {
  if (!/^SQLITE_/.test(String(err && err.code))) throw err;
  result = { ok: false, problems: 1, first: (err.code + ': ' + err.message).slice(0, 200), userVersion: -1 };
}
process.stdout.write(JSON.stringify(result));
`;

export interface IntegrityResult {
  ok: boolean;
  problems: number;
  /** The first line SQLite reported ("ok", or the first problem: page and index names, no row content). */
  first: string;
  /** -1 when SQLite could not read the file at all. */
  userVersion: number;
}

/** PRAGMA integrity_check (and user_version) of a SQLite file, off the event loop, heartbeating, cancellable. */
export async function sqliteIntegrityCheck(
  path: string,
  what = 'integrity_check of the source backup',
): Promise<IntegrityResult> {
  const module = createRequire(import.meta.url).resolve('better-sqlite3');
  // The child needs no secrets of the worker: PATH only.
  const env = { PATH: process.env.PATH ?? '' };
  const { stdout } = await runChild(process.execPath, ['-e', INTEGRITY_SCRIPT, module, path], { env, what });
  return JSON.parse(stdout) as IntegrityResult;
}

/** Runs `work` on `client`, cancelling its backend's query (through `cancel`, another session) if `signal` aborts, then throwing the abort reason. */
export async function cancellableOn<T>(
  client: pg.ClientBase,
  cancel: (pid: number) => Promise<unknown>,
  signal: AbortSignal,
  work: () => Promise<T>,
): Promise<T> {
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  const dispose = onAbort(signal, () => void cancel(pid).catch(() => undefined));
  try {
    return await work();
  } catch (err) {
    if (signal.aborted) throw signal.reason;
    throw err;
  } finally {
    dispose();
  }
}

/** Drops this run's scratch databases of attempts up to `attempt` (a later attempt's is never touched). */
export async function dropScratch(admin: pg.Client, tag: string, attempt: number): Promise<void> {
  const names = (
    await admin.query<{ name: string }>(sqlFile('queries/scratch_databases.sql'), [`migrator\\_scratch\\_${tag}%`])
  ).rows.map((r) => r.name);
  for (const name of names) {
    const m = /_a(\d+)$/.exec(name);
    if (m && Number(m[1]) > attempt) continue;
    await admin.query(sqlFile('queries/terminate_database_sessions.sql'), [name]);
    await admin.query(sqlFile('queries/drop_scratch_database.sql', { database: name }));
  }
}

/** Row count and order-independent checksum of every user table, in the client's snapshot. */
export async function fingerprintDatabase(
  client: pg.ClientBase,
  include: RegExp | null = null,
  scope?: { perUser: Set<string>; userId: string },
): Promise<Fingerprint> {
  const tables = (await client.query<{ name: string }>(sqlFile('queries/list_user_tables.sql'))).rows.map(
    (r) => r.name,
  );
  const out: Fingerprint = {};
  for (const name of tables) {
    if (include && !include.test(name)) continue;
    // The backup registry is never part of a backup (pg_dump excludes it; see sql/control/040_backups.sql).
    if (name.startsWith(`${BACKUP_REGISTRY_SCHEMA}.`)) continue;
    const byUser = scope?.perUser.has(name);
    const { rows } = await client.query<{ rows: number; checksum: string }>(
      sqlFile(byUser ? 'queries/table_fingerprint_user.sql' : 'queries/table_fingerprint.sql', { table: name }),
      byUser ? [scope!.userId] : [],
    );
    out[name] = { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
  }
  return out;
}

export function createBackupActivities(deps: ActivityDeps) {
  return {
    async backupSource(input: { runId: string; source: string }): Promise<BackupRecord> {
      const attempt = attemptNumber();
      const dir = runBackupDir(deps.backupDir, input.runId);
      const location = join(dir, 'source.sqlite');
      const db = openSource(deps.capabilities.sourcePath(input.source, 'source'));
      let partial: string | null = null;
      try {
        await ensureFreeSpace(dir, statSync(input.source).size, `the source backup of ${basename(input.source)}`);
        partial = startPartial(location, attempt);
        const signal = cancellationSignal();
        // 256 pages per step between event-loop turns; a cancellation stops the copy. A write to the
        // source by another connection restarts SQLite's online backup: with the app writing all the
        // time (online runs) it would restart for ever, so after a restart the rest goes in one step
        // (one read transaction; the app's writers wait on their busy_timeout for that step only).
        let lastRemaining = Infinity;
        let restarted = false;
        await db.backup(partial, {
          progress: ({ totalPages, remainingPages }) => {
            throwIfCancelled();
            if (remainingPages > lastRemaining) restarted = true;
            lastRemaining = remainingPages;
            beat({ step: 'source backup', remainingPages, restarted });
            return restarted ? Math.max(totalPages, 1) : 256;
          },
        });
        if (signal.aborted) throw signal.reason;
      } catch (err) {
        if (partial) rmSync(partial, { force: true });
        throw await asDirectoryFull(err, dir, 'the source backup');
      } finally {
        db.close();
      }
      try {
        const check = await sqliteIntegrityCheck(partial);
        if (!check.ok)
          throw new BackupError(
            `source backup ${partial} failed integrity_check (${check.problems} problem(s), first: ${check.first})`,
          );
        const sha256 = await whileHeartbeating({ step: 'source sha256' }, sha256File(partial));
        commitPartial(partial, location);
        return {
          backupId: `${input.runId}:source`,
          kind: 'source-sqlite',
          location,
          bytes: statSync(location).size,
          sha256,
          verified: true,
          verification: { integrityCheck: check.first, userVersion: check.userVersion, attempt },
        };
      } catch (err) {
        rmSync(partial, { force: true });
        throw err;
      }
    },
  };
}
