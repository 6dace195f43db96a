// Saga rollback, lifecycle style (docs/conventions.md §8): seed a target with rows that existed before the
// run → start a migration → make it fail / abort / trip a health trigger → assert the run ended
// rolled back and the target equals its pre-run state, pre-existing rows untouched.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import type { FaultPlan } from '../../workers/test-faults';
import {
  abortUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setChunkSizeUpdate,
  type MigrationProgress,
  type RollbackReport,
} from '../../workflows/definitions';
import { causeChain } from '../../lib/failures';
import { waitUntil } from '../helpers/wait';
import { migrationWorkflow } from '../../workflows/migration';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { invalidIndexes, seedTarget, targetState } from '../helpers/target-state';

let worker: TestWorker;
const userId = randomUUID();
const source = join(tempDir(), 'rollback.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  generateDataset({ path: source, seed: 9, notes: 600 });
  worker = await startTestWorker();
});
afterAll(async () => {
  await worker?.stop();
});

async function prepared() {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  return { target, before: await targetState(target) };
}

function start(target: TestTarget, extra: Record<string, unknown> = {}, faults?: FaultPlan): Promise<WorkflowHandle> {
  const workflowId = `rb-${randomUUID()}`;
  if (faults) worker.faults.plan(workflowId, faults);
  return worker.client.workflow.start(migrationWorkflow, {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [
      { source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 100, heartbeatTimeoutMs: 3000, ...extra },
    ],
  });
}

/** The run's failure: the first ApplicationFailure in the cause chain (an activity's, when no rollback wrapped it). */
async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = causeChain(err).find((e) => e instanceof ApplicationFailure);
  expect(failure).toBeDefined();
  return failure as ApplicationFailure;
}

async function progressOf(handle: WorkflowHandle): Promise<MigrationProgress> {
  return handle.query(progressQuery);
}

describe('failure in each phase rolls back automatically', () => {
  it.each(['schema', 'indexes', 'transfer', 'validation', 'post-migration'] as const)('after %s', async (phase) => {
    const { target, before } = await prepared();
    const failure = await failureOf(await start(target, {}, { failAfterPhase: phase }));
    expect(failure.type).toBe('RolledBack');
    const report = failure.details![0] as RollbackReport;
    expect(report).toMatchObject({ cause: 'failure', fingerprintEqual: true, failed: [], differences: [] });
    expect(report.reason).toContain(`after phase ${phase}`);
    expect(await targetState(target)).toEqual(before);
    const log = await target.query<{ phase: string; status: string }>(
      "SELECT phase, status FROM migration.migration_log WHERE phase = 'rollback' ORDER BY id",
    );
    expect(log).toEqual([
      { phase: 'rollback', status: 'started' },
      { phase: 'rollback', status: 'completed' },
    ]);
    await target.close();
  });

  it('mid-transfer (a chunk activity of note_tasks fails after 3 chunks)', async () => {
    const { target, before } = await prepared();
    const failure = await failureOf(await start(target, {}, { failAfterChunks: 3, failInTable: 'note_tasks' }));
    expect(failure.type).toBe('RolledBack');
    const [written] = await target.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM migration.chunk_ledger WHERE source_table = 'note_tasks'",
    );
    // Rows really were written before the failure (a chunk in flight when it failed is fenced off by the released lease)...
    expect(written!.n).toBeGreaterThanOrEqual(2);
    expect(written!.n).toBeLessThanOrEqual(3);
    expect(await targetState(target)).toEqual(before); // ...and really removed
    await target.close();
  });

  it('a failure before anything changed (after backup) fails without touching the target', async () => {
    const { target, before } = await prepared();
    const failure = await failureOf(await start(target, {}, { failAfterPhase: 'backup' }));
    expect(failure.type).toBe('InjectedFault');
    expect(await targetState(target)).toEqual(before);
    await target.close();
  });
});

describe('operator control', () => {
  it('abort during transfer rolls back', async () => {
    const { target, before } = await prepared();
    const handle = await start(target, { chunkRows: 20, parallelism: 1 });
    await waitUntil('a few chunks', async () => (await progressOf(handle)).chunksDone >= 4);
    const answer = await handle.executeUpdate(abortUpdate, { args: ['test says stop'] });
    expect(answer).toEqual({ aborting: true, reason: 'operator abort: test says stop' });
    const failure = await failureOf(handle);
    expect(failure.type).toBe('RolledBack');
    expect((failure.details![0] as RollbackReport).cause).toBe('abort');
    expect(await targetState(target)).toEqual(before);
    await expect(handle.executeUpdate(abortUpdate, { args: ['again'] })).rejects.toThrow(); // the run is closed
    await target.close();
  });

  it('abort during a CONCURRENTLY index build rolls back and leaves no INVALID index', async () => {
    const { target, before } = await prepared();
    // An open REPEATABLE READ snapshot makes CREATE INDEX CONCURRENTLY wait: the build is in flight.
    const pg = await import('pg');
    const blocker = new pg.default.Client({ connectionString: target.url });
    await blocker.connect();
    await blocker.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
    await blocker.query('SELECT count(*) FROM notes');
    try {
      const handle = await start(target);
      await waitUntil(
        'a CONCURRENTLY build in flight',
        async () =>
          (
            await target.query(
              "SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'CREATE INDEX CONCURRENTLY%' AND state = 'active'",
            )
          ).length > 0,
      );
      expect((await progressOf(handle)).phase).toBe('indexes');
      await handle.executeUpdate(abortUpdate, { args: ['during index build'] });
      await blocker.query('ROLLBACK');
      const failure = await failureOf(handle);
      expect(failure.type).toBe('RolledBack');
    } finally {
      await blocker.end();
    }
    expect(await invalidIndexes(target)).toEqual([]);
    expect(await targetState(target)).toEqual(before);
    await target.close();
  });

  it('workflow cancellation means abort: rolled back, run ends cancelled', async () => {
    const { target, before } = await prepared();
    const handle = await start(target, { chunkRows: 20, parallelism: 1 });
    await waitUntil('a few chunks', async () => (await progressOf(handle)).chunksDone >= 3);
    await handle.cancel();
    const err = await handle.result().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((await handle.describe()).status.name).toBe('CANCELLED');
    expect(await targetState(target)).toEqual(before);
    const [last] = await target.query<{ status: string }>(
      "SELECT status FROM migration.migration_log WHERE phase = 'rollback' ORDER BY id DESC LIMIT 1",
    );
    expect(last!.status).toBe('completed');
    await target.close();
  });

  it('pause, setChunkSize and resume take effect mid-run, visible in progress and the ledger', async () => {
    const { target } = await prepared();
    const handle = await start(target, { chunkRows: 20, parallelism: 1 });
    await waitUntil('transfer under way', async () => (await progressOf(handle)).chunksDone >= 2);
    expect(await handle.executeUpdate(pauseUpdate)).toMatchObject({ paused: true });
    await expect(handle.executeUpdate(pauseUpdate)).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/already paused/) },
    });
    const ledgerCount = async () =>
      (await target.query<{ n: number }>('SELECT count(*)::int AS n FROM migration.chunk_ledger'))[0]!.n;
    // Chunks already in flight finish; then nothing more commits while paused.
    let paused = await ledgerCount();
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      const now = await ledgerCount();
      if (now === paused) break;
      paused = now;
    }
    await new Promise((r) => setTimeout(r, 2000));
    expect(await ledgerCount()).toBe(paused);
    expect((await progressOf(handle)).paused).toBe(true);
    await expect(handle.executeUpdate(setChunkSizeUpdate, { args: [0] })).rejects.toMatchObject({
      cause: { message: expect.stringMatching(/from 1 to 100000/) },
    });
    expect(await handle.executeUpdate(setChunkSizeUpdate, { args: [55] })).toEqual({ chunkRows: 55, previous: 20 });
    expect(await handle.executeUpdate(resumeUpdate)).toMatchObject({ paused: false });
    await handle.result();
    const sizes = await target.query<{ rows_read: number }>(
      'SELECT DISTINCT rows_read FROM migration.chunk_ledger WHERE rows_read IN (20, 55)',
    );
    expect(sizes.map((s) => s.rows_read).sort()).toEqual([20, 55]);
    await target.close();
  });
});

describe('a shared target', () => {
  it('rolls back one user exactly while other users write into the same tables', async () => {
    const { target } = await prepared();
    const other = randomUUID();
    const handle = await start(target, { chunkRows: 20, parallelism: 1 }, { failAfterPhase: 'transfer' });
    await waitUntil('transfer under way', async () => (await progressOf(handle)).chunksDone >= 2);
    // Another user's rows arrive mid-run (another run, or the app).
    await target.query(
      `INSERT INTO notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at) VALUES ($1, $2, '\\x01', '\\x02', 'note', now(), now())`,
      [randomUUID(), other],
    );
    const failure = await failureOf(handle);
    expect(failure.type).toBe('RolledBack');
    const report = failure.details![0] as RollbackReport;
    expect(report).toMatchObject({ fingerprintEqual: true, differences: [], remaining: [] });
    const [mine] = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [
      userId,
    ]);
    expect(mine!.n).toBe(1); // only the note this user had before the run
    const [theirs] = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [
      other,
    ]);
    expect(theirs!.n).toBe(1); // the other user's write is untouched
    await target.close();
  });
});
