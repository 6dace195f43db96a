// The target's full backup, once per target per window (docs/design.md "Backups"). A run (or the
// rollout, before its children start) looks in migration_backups.full_backups for a verified
// backup younger than the target's fullBackupMaxAgeHours whose file is still there, and shares it;
// only when there is none does it take one, under the target's full-backup advisory lock, so a
// 10,000-user rollout takes one dump, not 10,000. The registry's schema is left out of the dump.
//
// Verification never touches the primary beyond the dump itself: with `scratchDsn` configured the
// dump is restored on that server into one scratch database at a time (advisory lock there) and
// fingerprinted against the dump's snapshot; without it, pg_restore --list + sha256 + size (weaker:
// it proves the archive is complete and readable, not that it restores).
//
// Safe to retry beside a stale attempt: each attempt writes `<file>.attempt-<n>.partial` and uses
// its own scratch database, renaming the file into place only once verified.
import { createHash } from 'node:crypto';
import { existsSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import pg from 'pg';
import { parse as parseDsn } from 'pg-connection-string';
import { BACKUP_LOCK_POLL_MS, DEFAULT_FULL_BACKUP_MAX_AGE_HOURS } from '../lib/defaults';
import { BackupError } from '../lib/errors';
import type { Fingerprint } from '../lib/fingerprint';
import { pgTool, withDatabase } from '../infra/postgres';
import { sqlFile } from '../infra/sql-files';
import { resolveSecretRef } from './capabilities';
import {
  BACKUP_REGISTRY_SCHEMA,
  cancellableOn,
  commitPartial,
  dropScratch,
  asDirectoryFull,
  ensureFreeSpace,
  fingerprintDatabase,
  ignoreClientError,
  libpqEnv,
  runBackupDir,
  sha256File,
  startPartial,
  type BackupRecord,
} from './backup';
import { runChild } from './child-process';
import type { ActivityDeps } from './deps';
import { attemptNumber, beat, cancellationSignal, throwIfCancelled, whileHeartbeating } from './heartbeat';

export const FULL_BACKUP_LOCK = 'migrator:full-backup';
export const SCRATCH_LOCK = 'migrator:scratch';

/**
 * Takes the session-level advisory lock `key` on `client`, polling with pg_try_advisory_lock and
 * heartbeating while another session holds it (a blocked session would not heartbeat); a
 * cancellation stops the wait. Released by unlockOn or by the session ending.
 */
export async function lockOn(client: pg.ClientBase, key: string, what: string): Promise<void> {
  const started = Date.now();
  for (;;) {
    const { rows } = await client.query<{ locked: boolean }>(sqlFile('queries/backup_try_lock.sql'), [key]);
    if (rows[0]!.locked) return;
    throwIfCancelled();
    beat({ step: what, waitingMs: Date.now() - started });
    await sleep(BACKUP_LOCK_POLL_MS);
  }
}

export async function unlockOn(client: pg.ClientBase, key: string): Promise<void> {
  await client.query(sqlFile('queries/backup_unlock.sql'), [key]).catch(() => undefined);
}

/** The backup registry (and the inventory changes) exist: sql/control/040_backups.sql under the schema lock. */
export async function ensureBackupControl(client: pg.ClientBase): Promise<void> {
  const present = async (t: string) =>
    (await client.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [t])).rows[0]!.present;
  // Once the registry exists only ensureSchema (under the same lock) needs to run the file again.
  if (await present('migration_backups.full_backups')) return;
  await client.query('BEGIN');
  try {
    // The lock ensureSchema holds: concurrent CREATE ... IF NOT EXISTS of one table can still collide.
    await client.query("SELECT pg_advisory_xact_lock(hashtextextended('migrator:schema', 0))");
    await client.query(sqlFile('control/040_backups.sql'));
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

interface FullBackupRow {
  backup_id: string;
  run_id: string;
  location: string;
  bytes: number;
  sha256: string;
  method: string;
  taken_at: Date;
}

export async function ensureFullBackup(
  deps: ActivityDeps,
  input: { runId: string; target: string; reuse: boolean },
): Promise<BackupRecord> {
  const config = deps.capabilities.target(input.target);
  const maxAgeHours = config.fullBackupMaxAgeHours ?? DEFAULT_FULL_BACKUP_MAX_AGE_HOURS;
  const tag = createHash('sha256').update(input.runId).digest('hex').slice(0, 12);
  // The registry schema and a whole-database dump need the owner's rights (docs/security.md "The PostgreSQL roles").
  const client = new pg.Client({
    connectionString: deps.ddlDsn(input.target),
    application_name: `migrator-full-${tag}`,
  });
  client.on('error', ignoreClientError);
  await client.connect();
  const recent = async (): Promise<BackupRecord | null> => {
    const { rows } = await client.query<FullBackupRow>(sqlFile('queries/recent_full_backups.sql'), [maxAgeHours]);
    // The file must still be there, whole, for this worker: the inventory alone is not a backup.
    const usable = rows.find((r) => existsSync(r.location) && statSync(r.location).size === Number(r.bytes));
    if (!usable) return null;
    return {
      backupId: usable.backup_id,
      kind: 'target-pg_dump',
      location: usable.location,
      bytes: Number(usable.bytes),
      sha256: usable.sha256,
      verified: true,
      verification: {
        shared: 1,
        method: usable.method,
        takenBy: usable.run_id,
        takenAt: usable.taken_at.toISOString(),
        database: client.database ?? '',
      },
    };
  };
  try {
    await ensureBackupControl(client);
    // The common case (a rollout's children): a recent one exists, found without waiting for the lock.
    const found = input.reuse ? await recent() : null;
    if (found) return found;
    await lockOn(client, FULL_BACKUP_LOCK, 'waiting for the target’s full backup');
    try {
      // Again under the lock: the run that held it may just have taken one.
      const taken = input.reuse ? await recent() : null;
      if (taken) return taken;
      const major = Math.floor(
        Number((await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) /
          10000,
      );
      const record = await dumpAndVerify(deps, { runId: input.runId, target: input.target, serverMajor: major });
      await client.query(sqlFile('queries/insert_full_backup.sql'), [
        record.backupId,
        input.runId,
        record.location,
        record.bytes,
        record.sha256,
        record.verification.method,
        JSON.stringify({ ...record.verification, fingerprint: record.fingerprint }),
        record.verification.takenAt,
      ]);
      return record;
    } finally {
      await unlockOn(client, FULL_BACKUP_LOCK);
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * pg_dump -Fc of the whole target in an exported snapshot (fingerprinted in the same snapshot),
 * then verified: restored on the scratch server when the target declares one, else --list only.
 */
async function dumpAndVerify(
  deps: ActivityDeps,
  input: { runId: string; target: string; serverMajor: number },
): Promise<BackupRecord> {
  const attempt = attemptNumber();
  const dsn = deps.ddlDsn(input.target); // the owner: the data role cannot read every table
  const pool = deps.ddlPool(input.target);
  const scratchRef = deps.capabilities.target(input.target).scratchDsn;
  const dir = runBackupDir(deps.backupDir, input.runId);
  const location = join(dir, 'target.dump');
  const pgDump = pgTool('pg_dump', input.serverMajor);
  const pgRestore = pgTool('pg_restore', input.serverMajor);
  // Per run and attempt: findable in pg_stat_activity, and never shared with a stale attempt.
  const tag = createHash('sha256').update(input.runId).digest('hex').slice(0, 12);
  const appName = `migrator-backup-${tag}-a${attempt}`;
  const cancelled = cancellationSignal();
  const cancelOnTarget = (pid: number) => pool.query(sqlFile('queries/cancel_backend.sql'), [pid]);
  let partial: string | null = null;
  try {
    const client = new pg.Client({ connectionString: dsn, application_name: appName });
    client.on('error', ignoreClientError);
    await client.connect();
    let before: Fingerprint;
    let takenAt: string;
    try {
      const size = (await client.query<{ bytes: number }>(sqlFile('queries/database_size.sql'))).rows[0]!.bytes;
      await ensureFreeSpace(dir, Number(size), `the target backup of database ${client.database ?? ''}`);
      partial = startPartial(location, attempt);
      // Dump and fingerprint the same snapshot, so concurrent writers cannot fail the check.
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      const snap = (await client.query<{ s: string; at: Date }>('SELECT pg_export_snapshot() AS s, now() AS at'))
        .rows[0]!;
      takenAt = snap.at.toISOString();
      // Either step failing stops the other: no pg_dump outlives this attempt.
      const sibling = new AbortController();
      const stop = AbortSignal.any([cancelled, sibling.signal]);
      const dumping = runChild(
        pgDump,
        ['-Fc', '--no-owner', `--exclude-schema=${BACKUP_REGISTRY_SCHEMA}`, `--snapshot=${snap.s}`, '-f', partial],
        {
          env: libpqEnv(dsn, undefined, `${appName}-pg_dump`),
          what: 'target backup (pg_dump)',
          signal: sibling.signal,
          captureStdout: false,
        },
      ).catch(async (err: unknown) => {
        throw await asDirectoryFull(err, dir, 'the target dump (pg_dump)');
      });
      const fingerprinting = whileHeartbeating(
        { step: 'target fingerprint' },
        cancellableOn(client, cancelOnTarget, stop, () => fingerprintDatabase(client)),
      );
      try {
        [, before] = await Promise.all([dumping, fingerprinting]);
      } catch (err) {
        sibling.abort();
        await Promise.allSettled([dumping, fingerprinting]);
        throw err;
      }
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
    const list = await runChild(pgRestore, ['--list', partial], {
      env: libpqEnv(dsn),
      what: 'target backup verification (pg_restore --list)',
    }).catch(async (err: unknown) => {
      throw await asDirectoryFull(err, dir, 'the target dump (pg_dump)');
    });
    const tocEntries = list.stdout.split('\n').filter((l) => l && !l.startsWith(';')).length;
    const tablesInToc = list.stdout.split('\n').filter((l) => / TABLE DATA /.test(l)).length;
    // Every table the snapshot held must have its data in the archive (the --list-only floor).
    if (tablesInToc < Object.keys(before).length)
      throw new BackupError(
        `target backup did not verify: ${tablesInToc} TABLE DATA entries for ${Object.keys(before).length} tables`,
      );
    const method = scratchRef ? 'scratch-restore' : 'list-only';
    if (scratchRef) {
      const scratchDsn = resolveSecretRef(scratchRef, `the scratch DSN of target "${input.target}"`);
      await verifyOnScratch({ scratchDsn, tag, attempt, appName, partial, pgRestore, before });
    }
    const sha256 = await whileHeartbeating({ step: 'target sha256' }, sha256File(partial));
    throwIfCancelled();
    commitPartial(partial, location);
    partial = null;
    const totalRows = Object.values(before).reduce((n, t) => n + t.rows, 0);
    return {
      backupId: `${input.runId}:target`,
      kind: 'target-pg_dump',
      location,
      bytes: statSync(location).size,
      sha256,
      verified: true,
      verification: {
        method,
        tocEntries,
        tables: Object.keys(before).length,
        rows: totalRows,
        pgDump,
        database: parseDsn(dsn).database ?? '',
        takenAt,
        attempt,
      },
      fingerprint: before,
    };
  } finally {
    if (partial) rmSync(partial, { force: true });
  }
}

/**
 * Restores the dump into a scratch database on the scratch server and compares its fingerprint
 * with the snapshot's. One scratch database at a time on that server (advisory lock there).
 */
async function verifyOnScratch(input: {
  scratchDsn: string;
  tag: string;
  attempt: number;
  appName: string;
  partial: string;
  pgRestore: string;
  before: Fingerprint;
}): Promise<void> {
  const { scratchDsn, tag, attempt, appName, before } = input;
  const scratch = `migrator_scratch_${tag}_a${attempt}`;
  const cancelled = cancellationSignal();
  const admin = new pg.Client({ connectionString: scratchDsn, application_name: appName });
  admin.on('error', ignoreClientError);
  await admin.connect();
  try {
    await lockOn(admin, SCRATCH_LOCK, 'waiting for the scratch server');
    // Earlier attempts' scratch databases (and the sessions of their orphaned pg_restore) go.
    await dropScratch(admin, tag, attempt);
    await admin.query(sqlFile('queries/create_scratch_database.sql', { database: scratch }));
    await runChild(input.pgRestore, ['--no-owner', '--exit-on-error', '-d', scratch, input.partial], {
      env: libpqEnv(scratchDsn, scratch, `${appName}-pg_restore`),
      what: `restoring the target backup into scratch database ${scratch}`,
    });
    const restored = new pg.Client({ connectionString: withDatabase(scratchDsn, scratch), application_name: appName });
    restored.on('error', ignoreClientError);
    await restored.connect();
    let after: Fingerprint;
    try {
      after = await whileHeartbeating(
        { step: 'scratch fingerprint' },
        cancellableOn(
          restored,
          (pid) => admin.query(sqlFile('queries/cancel_backend.sql'), [pid]),
          cancelled,
          () => fingerprintDatabase(restored),
        ),
      );
    } finally {
      await restored.end().catch(() => undefined);
    }
    const mismatched = Object.keys({ ...before, ...after }).filter(
      (t) => before[t]?.rows !== after[t]?.rows || before[t]?.checksum !== after[t]?.checksum,
    );
    if (mismatched.length)
      throw new BackupError(`target backup did not verify: scratch restore differs in ${mismatched.join(', ')}`);
  } finally {
    await admin.query(sqlFile('queries/terminate_database_sessions.sql'), [scratch]).catch(() => undefined);
    await admin.query(sqlFile('queries/drop_scratch_database.sql', { database: scratch })).catch(() => undefined);
    await unlockOn(admin, SCRATCH_LOCK);
    await admin.end().catch(() => undefined);
  }
}

export function createFullBackupActivities(deps: ActivityDeps) {
  return {
    /**
     * Before patch 'backups-scale' (runs in flight replay it): always a new full backup of the
     * target, recorded in migration_backups.full_backups so later runs of the window share it.
     */
    async backupTarget(input: { runId: string; target: string; serverMajor: number }): Promise<BackupRecord> {
      return ensureFullBackup(deps, { runId: input.runId, target: input.target, reuse: false });
    },

    /**
     * The target's verified full backup for this window: the newest recorded one younger than the
     * target's fullBackupMaxAgeHours whose file is still there, or one taken now (one at a time
     * per target; a run waiting for it heartbeats, then shares it).
     */
    async ensureFullBackup(input: { runId: string; target: string }): Promise<BackupRecord> {
      return ensureFullBackup(deps, { ...input, reuse: true });
    },
  };
}
