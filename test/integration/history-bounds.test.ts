// History stays bounded however long a run lives: the health guard is a child workflow that
// continues-as-new, so a run paused for hours at a short interval does not grow the migration's
// own history (at 1 s the in-workflow loop reached the 51,200-event limit in ~78 minutes).
import { randomUUID } from 'node:crypto';
import { expect, it } from 'vitest';
import { GUARD_READINGS_PER_RUN } from '../../lib/defaults';
import {
  healthReadingQuery,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  type MigrationResult,
} from '../../workflows/definitions';
import { waitUntil } from '../helpers/wait';
import { migrationFixture } from '../helpers/fixture';

const fx = migrationFixture('bounds', { seed: 21, notes: 300 });
const { userId, source, keyring } = fx;

it('a paused run at a 100 ms health interval: the guard continues-as-new, the run history stays flat, and the run completes', async () => {
  const workflowId = `bounds-${randomUUID()}`;
  const handle = await fx.worker.client.workflow.start('migrationWorkflow', {
    taskQueue: fx.worker.taskQueue,
    workflowId,
    args: [
      {
        source,
        userId,
        target: fx.target.ref,
        keyring: keyring.ref,
        chunkRows: 10,
        parallelism: 1,
        health: { intervalMs: 100 },
      },
    ],
  });
  let guardId: string | null = null;
  await waitUntil(
    'the health guard child started',
    async () => (guardId = (await handle.query(progressQuery)).healthGuardWorkflowId) !== null,
    { timeoutMs: 60_000 },
  );
  expect(guardId).toBe(`${workflowId}-health`);
  await handle.executeUpdate(pauseUpdate);
  const guard = fx.worker.client.workflow.getHandle(guardId!);
  const firstRunId = (await guard.describe()).runId;
  const eventsOf = async () => (await handle.fetchHistory()).events?.length ?? 0;
  // Let in-flight work settle, then watch the run's own history while the guard keeps reading.
  await waitUntil('a few readings while paused', async () => (await guard.query(healthReadingQuery)).readings >= 5, {
    timeoutMs: 30_000,
  });
  const pausedEvents = await eventsOf();
  await waitUntil(
    `the guard continued-as-new after ${GUARD_READINGS_PER_RUN} readings`,
    async () => (await guard.describe()).runId !== firstRunId,
    { timeoutMs: 200_000, intervalMs: 1_000 },
  );
  const guardState = await guard.query(healthReadingQuery);
  expect(guardState.readings).toBeGreaterThanOrEqual(GUARD_READINGS_PER_RUN); // carried across continue-as-new
  expect(guardState.reading?.trigger ?? null).toBeNull();
  expect(await eventsOf()).toBe(pausedEvents);
  await handle.executeUpdate(resumeUpdate);
  const result = (await handle.result()) as MigrationResult;
  expect(result.validation.ok).toBe(true);
  // The guard ended with the run (cancelled), not left polling.
  await waitUntil('the guard closed', async () => (await guard.describe()).status.name !== 'RUNNING', {
    timeoutMs: 30_000,
  });
}, 330_000);
