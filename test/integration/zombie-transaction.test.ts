// No zombie transactions: a worker host that died mid-chunk leaves its transaction idle, holding the
// run's lease row FOR SHARE. The migration's connections carry server-side session settings
// (idle_in_transaction_session_timeout, lock_timeout, statement_timeout, TCP keepalives), so the server
// ends such a transaction and an abort still rolls back within a bounded time; releaseLease never waits
// for ever, and names the backend that holds the lease when it gives up.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDeps, migrationConnectionConfig } from '../../activities/deps';
import { createLeaseActivities } from '../../activities/lease';
import { createSchemaActivities } from '../../activities/schema';
import { generateDataset } from '../../gen/generate';
import { sqlFile } from '../../infra/sql-files';
import { causeChain } from '../../lib/failures';
import { LeaseReleaseTimeout } from '../../lib/errors';
import { POOL_HEADROOM } from '../../lib/defaults';
import { abortUpdate, progressQuery, type RollbackReport } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestWorker,
  testWorkerConfig,
} from '../helpers/stack';
import { seedTarget, targetState } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';

// The worker (in this process) and the zombie get the same short settings through libpq's PGOPTIONS,
// the operator's override of the defaults: a 60 s idle timeout would make this test slow, not different.
const IDLE_MS = 8000;
process.env.PGOPTIONS = `-c idle_in_transaction_session_timeout=${IDLE_MS} -c lock_timeout=1000`;

let worker: TestWorker;
const userId = randomUUID();
const source = join(tempDir(), 'zombie.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  generateDataset({ path: source, seed: 21, notes: 600 });
  worker = await startTestWorker();
});
afterAll(async () => {
  await worker?.stop();
});

async function show(pool: pg.Pool, name: string): Promise<string> {
  return String((await pool.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name]);
}

describe('migration connections carry server-side session settings', () => {
  it('through the pool: the defaults, PGOPTIONS over them, explicit settings over both; pool sized from activity concurrency', async () => {
    const target = await createTargetDatabase();
    const defaults = new pg.Pool({
      ...migrationConnectionConfig(target.url, {}, {}),
      max: 1,
    });
    try {
      expect(await show(defaults, 'idle_in_transaction_session_timeout')).toBe('1min');
      expect(await show(defaults, 'lock_timeout')).toBe('10s');
      expect(await show(defaults, 'statement_timeout')).toBe('5min');
      // Over TCP (the test cluster listens on 127.0.0.1) the server applies its keepalive settings.
      expect(await show(defaults, 'tcp_keepalives_idle')).toBe('60');
      expect(await show(defaults, 'tcp_keepalives_interval')).toBe('10');
      expect(await show(defaults, 'tcp_keepalives_count')).toBe('6');
      expect(await show(defaults, 'application_name')).toBe('migrator');
      // RESET ALL (as the index builder does after its own shorter lock_timeout) returns to the startup value.
      const client = await defaults.connect();
      await client.query('SET lock_timeout = 2000');
      await client.query('RESET ALL');
      expect(String((await client.query<{ lock_timeout: string }>('SHOW lock_timeout')).rows[0]!.lock_timeout)).toBe(
        '10s',
      );
      client.release();
    } finally {
      await defaults.end();
    }

    const deps = createDeps({
      config: testWorkerConfig,
      backupDir: tempDir(),
      activityConcurrency: 3,
      session: { statementTimeoutMs: 123_000 },
    });
    try {
      const pool = deps.pool(target.ref);
      expect(pool.options.max).toBe(3 + POOL_HEADROOM);
      expect(await show(pool, 'idle_in_transaction_session_timeout')).toBe(`${IDLE_MS / 1000}s`); // PGOPTIONS
      expect(await show(pool, 'lock_timeout')).toBe('1s'); // PGOPTIONS
      expect(await show(pool, 'statement_timeout')).toBe('123s'); // explicit
    } finally {
      await deps.close();
    }
    expect(() => createDeps({ activityConcurrency: 0 })).toThrow(/activityConcurrency/);
    expect(() => createDeps({ session: { lockTimeoutMs: -1 } })).toThrow(/session\.lockTimeoutMs/);
    await target.close();
  });
});

it("a dead worker's idle transaction on the lease row does not stop an abort from rolling back", async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  const before = await targetState(target);
  const handle = await worker.client.workflow.start(migrationWorkflow, {
    taskQueue: worker.taskQueue,
    workflowId: `zombie-${randomUUID()}`,
    args: [
      {
        source,
        userId,
        target: target.ref,
        keyring: keyring.ref,
        chunkRows: 20,
        parallelism: 1,
        heartbeatTimeoutMs: 3000,
      },
    ],
  });
  await waitUntil('a few chunks', async () => (await handle.query(progressQuery)).chunksDone >= 2);
  const [lease] = await target.query<{ run_id: string }>(
    "SELECT run_id FROM migration.run_leases WHERE user_id = $1 AND state = 'held'",
    [userId],
  );
  expect(lease).toBeDefined();

  // The zombie: opened as the migration opens its connections, then a chunk transaction that never ends.
  const zombie = new pg.Client(migrationConnectionConfig(target.url));
  const zombieErrors: Error[] = [];
  zombie.on('error', (e) => zombieErrors.push(e)); // the server ends it: expected
  await zombie.connect();
  const zombiePid = (await zombie.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  await zombie.query('BEGIN');
  expect(
    (await zombie.query<{ state: string }>(sqlFile('queries/check_lease.sql'), [lease!.run_id])).rows[0]!.state,
  ).toBe('held');

  const aborted = Date.now();
  await handle.executeUpdate(abortUpdate, { args: ['zombie test'] });
  // The rollback's release really is blocked by the zombie (while the server has not ended it yet).
  await waitUntil(
    'the lease release blocked by the zombie',
    async () =>
      (await target.query('SELECT 1 FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))', [zombiePid])).length >
      0,
    {
      timeoutMs: IDLE_MS,
    },
  );
  const err = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  const elapsedMs = Date.now() - aborted;
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure;
  expect(failure.type).toBe('RolledBack');
  const report = failure.details![0] as RollbackReport;
  expect(report).toMatchObject({
    cause: 'abort',
    failed: [],
    fingerprintEqual: true,
  });
  // Bounded: the idle timeout (8 s here, 60 s by default) plus the rollback itself, not TCP's ~2 h.
  expect(elapsedMs).toBeLessThan(60_000);

  const [released] = await target.query<{ state: string }>('SELECT state FROM migration.run_leases WHERE run_id = $1', [
    lease!.run_id,
  ]);
  expect(released!.state).toBe('released');
  // It was the server's idle-in-transaction timeout that ended the zombie (SQLSTATE 25P03).
  expect(await target.query('SELECT 1 FROM pg_stat_activity WHERE pid = $1', [zombiePid])).toHaveLength(0);
  await expect(zombie.query('SELECT 1')).rejects.toThrow();
  expect(zombieErrors.map((e) => (e as { code?: string }).code)).toContain('25P03');
  expect(await targetState(target)).toEqual(before);
  await zombie.end().catch(() => undefined);
  await target.close();
});

it('releaseLease gives up after bounded attempts with a LeaseReleaseTimeout naming the backend that holds the lease', async () => {
  const target = await createTargetDatabase();
  const deps = createDeps({
    config: testWorkerConfig,
    backupDir: tempDir(),
    session: { lockTimeoutMs: 200 },
  });
  // A live session outside the migration's settings (no idle timeout): only an operator can end it.
  const holder = new pg.Client({
    connectionString: target.url,
    application_name: 'zombie-holder',
    options: '-c idle_in_transaction_session_timeout=0',
  });
  try {
    await createSchemaActivities(deps).ensureSchema({ target: target.ref });
    const runId = `run-${randomUUID()}`;
    const leases = createLeaseActivities(deps);
    await leases.acquireLease({ target: target.ref, runId, userId });
    await holder.connect();
    const holderPid = (await holder.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
    await holder.query('BEGIN');
    await holder.query(sqlFile('queries/check_lease.sql'), [runId]);

    const started = Date.now();
    const err = await leases.releaseLease({ target: target.ref, runId }).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(err).toBeInstanceOf(LeaseReleaseTimeout);
    const timeout = err as LeaseReleaseTimeout;
    expect(timeout.holders.map((h) => h.pid)).toEqual([holderPid]);
    expect(timeout.message).toContain(`pid ${holderPid}`);
    expect(timeout.message).toContain('"zombie-holder"');
    expect(timeout.message).toContain('idle in transaction');
    expect(
      (await target.query<{ state: string }>('SELECT state FROM migration.run_leases WHERE run_id = $1', [runId]))[0]!
        .state,
    ).toBe('held');

    // Once the holder is gone the same call releases the lease.
    await holder.query('ROLLBACK');
    await leases.releaseLease({ target: target.ref, runId });
    expect(
      (await target.query<{ state: string }>('SELECT state FROM migration.run_leases WHERE run_id = $1', [runId]))[0]!
        .state,
    ).toBe('released');
  } finally {
    await holder.end().catch(() => undefined);
    await deps.close();
    await target.close();
  }
});
