// Backups on a live, shared database: a real slow condition (another session holds an ACCESS
// EXCLUSIVE lock on a table, so pg_dump waits) instead of mocks. A cancelled attempt kills its
// pg_dump; a retry after a heartbeat timeout (the first worker SIGKILLed, its pg_dump orphaned and
// still running) writes its own file and scratch database; backups (the per-run pre-image too) are
// 0700/0600 whatever the umask; integrity_check of a large file leaves the event loop free.
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackupActivities, ensureFreeSpace, sqliteIntegrityCheck } from '../../activities/backup';
import { createFullBackupActivities } from '../../activities/full-backup';
import { createPreImageActivities } from '../../activities/pre-image';
import { InsufficientSpaceError } from '../../lib/errors';
import { createDeps } from '../../activities/deps';
import { generateDataset } from '../../gen/generate';
import type { MigrationResult } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
  testWorkerConfig,
  useScratchServer,
} from '../helpers/stack';
import { readLoadLog, runLoad } from '../../infra/load-generator';
import { seedTarget } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';
import { spawnWorker } from '../helpers/worker-process';

const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'backup-safety.sqlite');
const keyring = writeKeyring([userId]);
let client: TestWorker;

beforeAll(async () => {
  generateDataset({ path: source, seed: 21, notes: 150 });
  client = await startTestWorker();
});
afterAll(async () => {
  await client?.stop();
});

/** A table outside `public` (preflight fingerprints only public) locked ACCESS EXCLUSIVE by another session. */
async function holdLock(target: TestTarget): Promise<{ release(): Promise<void> }> {
  const holder = new pg.Client({ connectionString: target.url, application_name: 'test-lock-holder' });
  await holder.connect();
  await holder.query('CREATE SCHEMA slow; CREATE TABLE slow.hold (x int); INSERT INTO slow.hold VALUES (1)');
  await holder.query('BEGIN');
  await holder.query('LOCK TABLE slow.hold IN ACCESS EXCLUSIVE MODE');
  return {
    async release() {
      await holder.query('COMMIT').catch(() => undefined);
      await holder.end();
    },
  };
}

/** Backup sessions in this target database: pg_dump's (application_name migrator-backup-<run>-a<n>-pg_dump) or, with `all`, the fingerprint's too. */
async function dumpSessions(target: TestTarget, all = false): Promise<{ app: string; waiting: string | null }[]> {
  return target.query(
    'SELECT application_name AS app, wait_event_type AS waiting FROM pg_stat_activity WHERE datname = $1 AND application_name LIKE $2',
    [target.database, all ? 'migrator-backup-%' : 'migrator-backup-%-pg_dump'],
  );
}

/** pg_dump processes writing under `backupDir`, with their command lines. */
function dumpProcesses(backupDir: string): { pid: number; args: string }[] {
  let out = '';
  try {
    out = execFileSync('pgrep', ['-af', backupDir], { encoding: 'utf8' });
  } catch {
    return []; // pgrep exits 1 when nothing matches
  }
  return out
    .split('\n')
    .filter((l) => /\bpg_dump\b/.test(l))
    .map((l) => ({ pid: Number(l.split(' ')[0]), args: l }));
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' });
}

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');
const mode = (path: string) => statSync(path).mode & 0o777;

function migrationArgs(target: TestTarget) {
  return [
    { source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 100, heartbeatTimeoutMs: 2000 },
  ] as const;
}

describe('backupTarget on a live database', () => {
  it('a cancelled attempt kills its pg_dump and leaves no partial file', async () => {
    const backupDir = tempDir('migrator-backups-');
    const worker = await startTestWorker({ backupDir });
    const target = await createTargetDatabase();
    const lock = await holdLock(target);
    try {
      const handle = await worker.client.workflow.start(migrationWorkflow, {
        taskQueue: worker.taskQueue,
        workflowId: `bk-cancel-${randomUUID()}`,
        args: [...migrationArgs(target)],
      });
      await waitUntil('pg_dump waiting on the held lock', async () =>
        (await dumpSessions(target)).some((s) => s.waiting === 'Lock'),
      );
      const running = dumpProcesses(backupDir);
      expect(running).toHaveLength(1);
      expect(running[0]!.args).toMatch(/target\.dump\.attempt-1\.partial/);

      await handle.cancel();
      // The lock is still held: only a kill (and pg_dump's cancel request) can end the dump now, and
      // only a cancel request the snapshot's fingerprint query (its session waits on the lock too).
      await waitUntil(
        'the cancelled attempt’s pg_dump and sessions to be gone',
        async () => dumpProcesses(backupDir).length === 0 && (await dumpSessions(target, true)).length === 0,
        {
          timeoutMs: 30_000,
          intervalMs: 200,
        },
      );
      await handle.result().catch(() => undefined);
      expect(filesUnder(backupDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
      expect(filesUnder(backupDir).filter((f) => f.endsWith('target.dump'))).toEqual([]);
    } finally {
      await lock.release();
      await worker.stop();
      await target.close();
    }
  });

  it('a retry after a heartbeat timeout does not share the file of the stale attempt, whose pg_dump still runs', async () => {
    const backupDir = tempDir('migrator-backups-');
    const target = await createTargetDatabase();
    const lock = await holdLock(target);
    const taskQueue = `backup-${randomUUID()}`;
    const env = { [target.dsnEnv]: target.url };
    const first = await spawnWorker({ taskQueue, env, backupDir });
    let second: Awaited<ReturnType<typeof spawnWorker>> | null = null;
    let released = false;
    try {
      const handle = await client.client.workflow.start(migrationWorkflow, {
        taskQueue,
        workflowId: `bk-retry-${randomUUID()}`,
        args: [...migrationArgs(target)],
      });
      await waitUntil('attempt 1’s pg_dump waiting on the lock', async () =>
        (await dumpSessions(target)).some((s) => /-a1-pg_dump$/.test(s.app) && s.waiting === 'Lock'),
      );
      const stale = dumpProcesses(backupDir);
      expect(stale).toHaveLength(1);
      // Worker gone without a word: no more heartbeats, and its pg_dump is orphaned, still running.
      await first.kill('SIGKILL');
      expect(dumpProcesses(backupDir).map((p) => p.pid)).toEqual([stale[0]!.pid]);

      second = await spawnWorker({ taskQueue, env, backupDir });
      await waitUntil(
        'attempt 2’s pg_dump waiting on the lock',
        async () => (await dumpSessions(target)).some((s) => /-a2-pg_dump$/.test(s.app) && s.waiting === 'Lock'),
        {
          timeoutMs: 60_000,
        },
      );
      const both = dumpProcesses(backupDir);
      expect(both).toHaveLength(2);
      const outputs = both.map((p) => /-f (\S+)/.exec(p.args)![1]!).sort();
      expect(outputs[0]).toMatch(/\/target\.dump\.attempt-1\.partial$/);
      expect(outputs[1]).toBe(outputs[0]!.replace('attempt-1', 'attempt-2'));

      await lock.release();
      released = true;
      const result = (await handle.result()) as MigrationResult;
      const backup = result.backups.find((b) => b.kind === 'target-pg_dump')!;
      const runId = backup.backupId.split(':')[0]!;
      const runDir = join(backupDir, runId);
      const location = join(runDir, 'target.dump');
      expect(sha256(location)).toBe(backup.sha256);
      // The stale pg_dump finishes too (the lock is gone) — into its own file, not the backup.
      await waitUntil('the stale pg_dump to exit', () => dumpProcesses(backupDir).length === 0, { timeoutMs: 30_000 });
      expect(sha256(location)).toBe(backup.sha256);
      expect(filesUnder(runDir).filter((f) => f.endsWith('.partial'))).toEqual([]);
      const tag = createHash('sha256').update(runId).digest('hex').slice(0, 12);
      expect(
        await target.query("SELECT datname FROM pg_database WHERE datname LIKE 'migrator_scratch_' || $1 || '%'", [
          tag,
        ]),
      ).toEqual([]);
      expect(mode(runDir)).toBe(0o700);
      expect(mode(location)).toBe(0o600);
      expect(mode(join(runDir, 'source.sqlite'))).toBe(0o600);
    } finally {
      if (!released) await lock.release();
      await first.kill('SIGKILL');
      await second?.kill('SIGTERM');
      await target.close();
    }
  });
});

describe('backup files', () => {
  it('are 0700 directories and 0600 files regardless of the umask; earlier attempts’ scratch databases are dropped, later ones kept', async () => {
    const backupDir = join(tempDir('migrator-backups-'), 'root');
    const target = await createTargetDatabase();
    useScratchServer(target);
    const deps = createDeps({ backupDir, config: testWorkerConfig });
    const previous = process.umask(0o000);
    try {
      const acts = { ...createBackupActivities(deps), ...createFullBackupActivities(deps) };
      const runId = randomUUID();
      const major = (
        await target.query<{ major: number }>("SELECT current_setting('server_version_num')::int / 10000 AS major")
      )[0]!.major;
      // Leftovers: an earlier attempt's scratch database (dropped) and a later attempt's (kept).
      const tag = createHash('sha256').update(runId).digest('hex').slice(0, 12);
      await target.query(`CREATE DATABASE migrator_scratch_${tag}`);
      await target.query(`CREATE DATABASE migrator_scratch_${tag}_a7`);
      const src = await acts.backupSource({ runId, source });
      const tgt = await acts.backupTarget({ runId, target: target.ref, serverMajor: major });
      const scratch = await target.query<{ datname: string }>(
        "SELECT datname FROM pg_database WHERE datname LIKE 'migrator_scratch_' || $1 || '%'",
        [tag],
      );
      expect(scratch.map((r) => r.datname)).toEqual([`migrator_scratch_${tag}_a7`]);
      await target.query(`DROP DATABASE migrator_scratch_${tag}_a7`);
      expect(mode(backupDir)).toBe(0o700);
      expect(mode(join(backupDir, runId))).toBe(0o700);
      expect(mode(src.location)).toBe(0o600);
      expect(mode(tgt.location)).toBe(0o600);
      expect(filesUnder(backupDir).sort()).toEqual(
        [runId, join(runId, 'source.sqlite'), join(runId, 'target.dump')].sort(),
      );
      expect(sha256(tgt.location)).toBe(tgt.sha256);
    } finally {
      process.umask(previous);
      await deps.close();
      await target.close();
    }
  });
  it('the pre-image (the user’s rows, secret) is a 0700 directory of 0600 files regardless of the umask', async () => {
    const backupDir = join(tempDir('migrator-backups-'), 'root');
    const target = await createTargetDatabase();
    await seedTarget(target, userId); // the app's tables with one note and one task of this user
    const deps = createDeps({ backupDir, config: testWorkerConfig });
    const previous = process.umask(0o000);
    try {
      const runId = randomUUID();
      const record = await createPreImageActivities(deps).backupPreImage({ runId, target: target.ref, userId });
      const preImage = join(backupDir, runId, 'pre-image');
      expect(record.location).toBe(join(preImage, 'manifest.json'));
      expect(record.verification).toMatchObject({ rows: 2 }); // the note and the task: real rows were written
      expect(mode(backupDir)).toBe(0o700);
      expect(mode(join(backupDir, runId))).toBe(0o700);
      expect(mode(preImage)).toBe(0o700);
      const files = readdirSync(preImage);
      expect(files).toContain('manifest.json');
      expect(files.filter((f) => f.endsWith('.copy')).length).toBeGreaterThanOrEqual(2);
      for (const f of files) expect(`${f} ${mode(join(preImage, f)).toString(8)}`).toBe(`${f} 600`);
      // Nothing else under the run's directory: no partial directory left readable by others.
      expect(readdirSync(join(backupDir, runId))).toEqual(['pre-image']);
    } finally {
      process.umask(previous);
      await deps.close();
      await target.close();
    }
  });
});

describe('free space', () => {
  it('is checked before writing: too little is a typed refusal naming the directory', async () => {
    const backupDir = tempDir('migrator-backups-');
    await expect(ensureFreeSpace(backupDir, 1024, 'a small backup')).resolves.toBeUndefined();
    const refusal = await ensureFreeSpace(backupDir, Number.MAX_SAFE_INTEGER / 2, 'the target backup').catch(
      (e: unknown) => e,
    );
    expect(refusal).toBeInstanceOf(InsufficientSpaceError);
    expect(refusal).toMatchObject({ type: 'BackupInsufficientSpace', nonRetryable: true, directory: backupDir });
    expect((refusal as Error).message).toContain('not enough free space for the target backup');
  });
});

describe('the index builder lock', () => {
  it('is waited for by polling and heartbeating, in the first attempt, not by a blocked session', async () => {
    const target = await createTargetDatabase();
    const holder = new pg.Client({ connectionString: target.url });
    await holder.connect();
    await holder.query("SELECT pg_advisory_lock(hashtextextended('migrator:indexes', 0))");
    let held = true;
    try {
      const handle = await client.client.workflow.start(migrationWorkflow, {
        taskQueue: client.taskQueue,
        workflowId: `bk-idxlock-${randomUUID()}`,
        args: [...migrationArgs(target)],
      });
      const waiting = async () => {
        const pending = (await handle.describe()).raw.pendingActivities ?? [];
        const build = pending.find((a) => a.activityType?.name === 'buildIndexes');
        const payload = build?.heartbeatDetails?.payloads?.[0]?.data;
        const details = payload
          ? (JSON.parse(Buffer.from(payload).toString()) as { waitingForIndexBuilderLockMs?: number })
          : {};
        return { attempt: build?.attempt ?? 0, waitedMs: details.waitingForIndexBuilderLockMs ?? -1 };
      };
      // Twice the heartbeat timeout (2 s): a silent blocking wait would have been timed out and retried.
      await waitUntil('buildIndexes waiting 4 s for the lock', async () => (await waiting()).waitedMs >= 4000, {
        timeoutMs: 90_000,
        intervalMs: 250,
      });
      expect((await waiting()).attempt).toBe(1);
      const blocked = await target.query(
        "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event = 'advisory'",
        [target.database],
      );
      expect(blocked).toEqual([]);
      await holder.query("SELECT pg_advisory_unlock(hashtextextended('migrator:indexes', 0))");
      held = false;
      const result = (await handle.result()) as MigrationResult;
      expect(result.status).toBe('completed');
    } finally {
      if (held)
        await holder.query("SELECT pg_advisory_unlock(hashtextextended('migrator:indexes', 0))").catch(() => undefined);
      await holder.end();
      await target.close();
    }
  });
});

describe('integrity_check of a large source', () => {
  it('runs off the event loop', async () => {
    const path = join(tempDir(), 'large.sqlite');
    const db = new Database(path);
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.exec(
      'CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT, b TEXT); CREATE INDEX t_a ON t (a); CREATE INDEX t_b ON t (b)',
    );
    db.exec(
      'WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 250000) INSERT INTO t SELECT i, hex(randomblob(16)), hex(randomblob(24)) FROM c',
    );
    db.close();
    // The same check on the event loop, for reference: long enough to matter.
    const started = performance.now();
    const ref = new Database(path, { readonly: true });
    expect(ref.pragma('integrity_check', { simple: true })).toBe('ok');
    ref.close();
    const onLoopMs = performance.now() - started;
    expect(onLoopMs, 'the file is large enough that an on-loop check would block').toBeGreaterThan(500);

    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const result = await sqliteIntegrityCheck(path);
    delay.disable();
    expect(result).toMatchObject({ ok: true, problems: 0, first: 'ok' });
    const maxMs = delay.max / 1e6;
    console.log(
      `[backup-safety] integrity_check: on-loop ${Math.round(onLoopMs)} ms; off-loop max event-loop delay ${Math.round(maxMs)} ms`,
    );
    expect(maxMs).toBeLessThan(500);
  });
});

it('backs up a source the app keeps writing (the online backup restarts on every write: it must still finish)', async () => {
  const live = join(dir, 'live-backup.sqlite');
  generateDataset({ path: live, seed: 91, notes: 4000 }); // several MB: many 256-page steps
  const deps = createDeps({ backupDir: join(dir, 'live-backups'), config: testWorkerConfig });
  const stop = new AbortController();
  const load = runLoad({
    source: live,
    rate: 300,
    durationMs: 120_000,
    log: join(dir, 'live-load.jsonl'),
    signal: stop.signal,
  });
  try {
    await waitUntil('the load to write', async () => readLoadLog(join(dir, 'live-load.jsonl')).length > 20);
    const started = Date.now();
    const backup = await createBackupActivities(deps).backupSource({ runId: randomUUID(), source: live });
    expect(Date.now() - started).toBeLessThan(60_000);
    expect((await sqliteIntegrityCheck(backup.location)).ok).toBe(true);
  } finally {
    stop.abort();
  }
  // The app went on writing during and after the backup.
  expect((await load).acknowledged).toBeGreaterThan(20);
}, 120_000);
