// Throttle before harm (14.5): the app's load on the target (here: client sessions busy in
// pg_sleep, counted as active backends) makes the copy wait instead of the guard rolling back; a
// setThrottle Update moves the threshold live; once the load is gone the run completes and reports
// the time it waited. checkLoad's readings are checked against the server directly. Online runs:
// the delta passes wait on the same throttle, moved by the same Update, their wait in the same total.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, expect, inject, it } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createLoadActivities } from '../../activities/load';
import { generateDataset } from '../../gen/generate';
import { runLoad } from '../../infra/load-generator';
import { HealthSchema } from '../../lib/input';
import { migrationWorkflow } from '../../workflows/migration';
import { cutoverNowUpdate, progressQuery, setThrottleUpdate, type MigrationResult } from '../../workflows/definitions';
import { migrationFixture } from '../helpers/fixture';
import { createTargetDatabase, tempDir, testWorkerConfig, writeKeyring } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

const f = migrationFixture('throttle', { seed: 43, notes: 600 });
const LOAD_APP = 'app-under-load';
const loaders: pg.Client[] = [];

/** `n` sessions of "the app", each running a statement (active) until released. */
async function holdLoad(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    const c = new pg.Client({ connectionString: f.target.url, application_name: LOAD_APP });
    await c.connect();
    c.query('SELECT pg_sleep(600)').catch(() => undefined); // ends when released
    loaders.push(c);
  }
  await waitUntil('the load is active', async () => (await activeLoad()) >= n, { timeoutMs: 10_000 });
}
async function activeLoad(): Promise<number> {
  const [r] = await f.target.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND state = 'active'",
    [LOAD_APP],
  );
  return r!.n;
}
async function releaseLoad(): Promise<void> {
  await f.target.query('SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = $1', [LOAD_APP]);
  await Promise.all(loaders.splice(0).map((c) => c.end().catch(() => undefined)));
}
afterAll(releaseLoad);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
/** The operator's CLI against the test's Temporal server. */
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [BIN, ...args], {
    env: { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default' },
  });

it('checkLoad reads active backends (not the migrator own), and the WAL rate between two readings', async () => {
  const deps = createDeps({ config: testWorkerConfig });
  try {
    const { checkLoad } = createLoadActivities(deps);
    const health = HealthSchema.parse({});
    // No probe: the app's tables (which the probe queries) do not exist before the first run.
    const base = { target: f.target.ref, userId: f.userId, health, probe: false };
    const first = await checkLoad({ ...base, previousWal: null });
    expect(first.walBytesPerSec).toBeNull();
    expect(first.probeLatencyMs).toBeNull();
    expect(first.wal!.bytes).toBeGreaterThan(0);
    await holdLoad(3);
    await f.target.query(
      'CREATE TABLE wal_filler AS SELECT g, repeat(md5(g::text), 20) AS t FROM generate_series(1, 20000) g',
    );
    const second = await checkLoad({ ...base, previousWal: first.wal });
    expect(second.activeBackends).toBeGreaterThanOrEqual(3);
    expect(second.walBytesPerSec).toBeGreaterThan(0);
    expect(second.replicationLagMs).toBeNull(); // no standby
    await releaseLoad();
    await f.target.query('DROP TABLE wal_filler');
    const third = await checkLoad({ ...base, previousWal: second.wal });
    expect(third.activeBackends).toBeLessThan(second.activeBackends);
  } finally {
    await deps.close();
  }
}, 60_000);

it('under load the copy waits (chunks flat, no rollback), setThrottle moves the level live, and the run completes once the load is gone', async () => {
  const handle = await f.worker.client.workflow.start(migrationWorkflow, {
    taskQueue: f.worker.taskQueue,
    workflowId: `throttle-${f.userId}`,
    args: [
      {
        source: f.source,
        userId: f.userId,
        target: f.target.ref,
        keyring: f.keyring.ref,
        chunkRows: 10,
        parallelism: 1,
        // The guard runs throughout (and would roll back on its own levels); the throttle sits below them.
        health: { intervalMs: 1_000, minLatencyDeltaMs: 500 },
        throttle: { maxActiveBackends: 4, checkIntervalMs: 200, maxBackoffMs: 1_000 },
      },
    ],
  });
  const progress = () => handle.query(progressQuery);
  await waitUntil('the copy is under way', async () => (await progress()).chunksDone >= 3, { timeoutMs: 90_000 });
  expect((await progress()).throttleReason).toBeNull();

  // The app gets busy: 6 active sessions, above the throttle's 4.
  await holdLoad(6);
  await waitUntil(
    'the throttle engages',
    async () => /active backends \d+ > 4/.test((await progress()).throttleReason ?? ''),
    {
      timeoutMs: 20_000,
    },
  );
  const held = (await progress()).chunksDone;
  await sleep(4_000);
  const during = await progress();
  expect(during.chunksDone).toBe(held); // the copy stopped advancing…
  expect(during.phase).toBe('transfer'); // …and the run neither rolled back nor failed
  expect(during.abortReason).toBeNull();
  expect((await handle.describe()).status.name).toBe('RUNNING');

  // A throttle level at or above the guard's rollback level is refused, naming the field.
  await expect(handle.executeUpdate(setThrottleUpdate, { args: [{ maxProbeLatencyMs: 500 }] })).rejects.toMatchObject({
    cause: { message: expect.stringMatching(/throttle\.maxProbeLatencyMs.*below the health guard's rollback level/) },
  });

  // The operator sees why (`status`), and raising the threshold mid-throttle (`set-throttle`) releases the copy.
  const status = await cli(['status', '--workflow-id', handle.workflowId]);
  expect(status.stdout).toMatch(/THROTTLED \(active backends \d+ > 4\)/);
  const raised = JSON.parse(
    (await cli(['set-throttle', '--workflow-id', handle.workflowId, '--max-active-backends', '50', '--json'])).stdout,
  ) as { throttle: { maxActiveBackends: number }; previous: { maxActiveBackends: number } };
  expect(raised.previous.maxActiveBackends).toBe(4);
  expect(raised.throttle.maxActiveBackends).toBe(50);
  await waitUntil('the copy moves again', async () => (await progress()).chunksDone > held, { timeoutMs: 20_000 });
  const released = await progress();
  expect(released.throttleReason).toBeNull();
  expect(released.throttledMs).toBeGreaterThanOrEqual(3_000); // the wait, reported with the release

  // Lowered again: it waits again, until the load is gone.
  await handle.executeUpdate(setThrottleUpdate, { args: [{ maxActiveBackends: 4 }] });
  await waitUntil('the throttle engages again', async () => (await progress()).throttleReason !== null, {
    timeoutMs: 20_000,
  });
  await releaseLoad();
  const result = (await handle.result()) as MigrationResult;
  expect(result.status).toBe('completed');
  expect(result.validation.ok).toBe(true);
  expect(result.throttledMs).toBeGreaterThanOrEqual(3_000);
  expect(Object.values(result.tables).reduce((n, t) => n + (t.throttledMs ?? 0), 0)).toBe(result.throttledMs);
  console.info(
    `throttle figures: chunks held at ${held} for 4 s under ${LOAD_APP} load; released at ${released.throttledMs} ms throttled; run total ${result.throttledMs} ms throttled, transfer ${result.phaseDurationsMs.transfer} ms`,
  );

  // With the app's tables in place, checkLoad times the guard's own probe.
  const deps = createDeps({ config: testWorkerConfig });
  try {
    const reading = await createLoadActivities(deps).checkLoad({
      target: f.target.ref,
      userId: f.userId,
      health: HealthSchema.parse({}),
      probe: true,
      previousWal: null,
    });
    expect(reading.probeLatencyMs).toBeGreaterThan(0);
  } finally {
    await deps.close();
  }
}, 240_000);

it('online: a delta pass waits while the throttle is engaged (setThrottle during the delta phase), resumes once it is raised, and the wait is reported', async () => {
  const userId = randomUUID();
  const keyring = writeKeyring([userId]);
  const source = join(tempDir(), 'throttle-online.sqlite');
  generateDataset({ path: source, seed: 44, notes: 300 });
  const target = await createTargetDatabase('thronl');
  const stop = new AbortController();
  const load = runLoad({
    source,
    rate: 100,
    durationMs: 600_000,
    log: join(tempDir(), 'load.jsonl'),
    seed: 9,
    signal: stop.signal,
  });
  try {
    const handle = await f.worker.client.workflow.start(migrationWorkflow, {
      taskQueue: f.worker.taskQueue,
      workflowId: `throttle-online-${userId}`,
      args: [
        {
          source,
          userId,
          target: target.ref,
          keyring: keyring.ref,
          chunkRows: 200,
          heartbeatTimeoutMs: 10_000,
          health: { probe: { enabled: false } },
          // No throttle at the start (the copy runs free); passes go on until cutoverNow: no threshold,
          // no catch-up estimate, no stall rule.
          online: { enabled: true, deltaThreshold: 0, maxDeltaPasses: 1000, catchUpEstimate: false, stallPasses: 0 },
        },
      ],
    });
    const progress = () => handle.query(progressQuery);
    await waitUntil(
      'delta passes running',
      async () => {
        const p = await progress();
        return p.phase === 'delta' && (p.deltaPasses ?? 0) >= 2;
      },
      { timeoutMs: 180_000, intervalMs: 200 },
    );

    // The app gets busy on the target, and the operator sets a level below it during the delta phase.
    await holdLoad(6);
    await handle.executeUpdate(setThrottleUpdate, {
      args: [{ maxActiveBackends: 4, checkIntervalMs: 200, maxBackoffMs: 1_000 }],
    });
    await waitUntil(
      'the throttle engages before a delta pass',
      async () => /active backends \d+ > 4/.test((await progress()).throttleReason ?? ''),
      { timeoutMs: 20_000 },
    );
    const held = (await progress()).deltaPasses!;
    await sleep(4_000);
    const during = await progress();
    expect(during.deltaPasses).toBe(held); // no pass ran while throttled…
    expect(during.phase).toBe('delta'); // …and the run neither moved on nor rolled back
    expect(during.abortReason).toBeNull();
    expect((await handle.describe()).status.name).toBe('RUNNING');

    // Raised: the wait wakes at once and the passes go on; the wait is reported.
    await handle.executeUpdate(setThrottleUpdate, { args: [{ maxActiveBackends: 50 }] });
    await waitUntil('the delta passes move again', async () => (await progress()).deltaPasses! > held, {
      timeoutMs: 20_000,
    });
    const released = await progress();
    expect(released.throttleReason).toBeNull();
    expect(released.throttledMs).toBeGreaterThanOrEqual(3_000);

    await releaseLoad();
    await handle.executeUpdate(cutoverNowUpdate);
    const result = (await handle.result()) as MigrationResult;
    expect(result.status).toBe('completed');
    expect(result.validation.ok).toBe(true);
    expect(result.online!.throttledMs).toBeGreaterThanOrEqual(3_000);
    // The copy ran without a throttle: all of the run's throttled time is the delta passes'.
    expect(Object.values(result.tables).reduce((n, t) => n + (t.throttledMs ?? 0), 0)).toBe(0);
    expect(result.throttledMs).toBe(result.online!.throttledMs);
    console.info(
      `delta throttle figures: passes held at ${held} for 4 s; released at ${released.throttledMs} ms throttled; ${result.online!.passes} passes, run total ${result.throttledMs} ms throttled`,
    );
  } finally {
    stop.abort();
    await load.catch(() => undefined);
    await releaseLoad();
    await target.close();
  }
}, 300_000);
