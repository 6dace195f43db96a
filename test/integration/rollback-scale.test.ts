// A rollback at the size of a real user: the run's own keys are read, checked for dependents and
// deleted as sets of hundreds of thousands. (Seen in the 100,000-note online benchmark: with 215,017
// task ids, reading them into one array by spreading them as call arguments overflowed the stack, and
// every removeRunRows attempt failed: ROLLBACK_FAILED with all the run's rows left.)
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { expect, it } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createRollbackActivities } from '../../activities/rollback';
import { causeChain } from '../../lib/failures';
import { progressQuery } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { migrationFixture } from '../helpers/fixture';
import { tempDir, testWorkerConfig } from '../helpers/stack';

// Above the ~120,000 arguments a V8 call takes: what a large user's notes or tasks reach.
const EXTRA_NOTES = 150_000;

const fx = migrationFixture('rbscale', { seed: 29, notes: 60, seedTarget: true });
const { userId, source, keyring } = fx;

const count = async (sql: string, params: unknown[]): Promise<number> =>
  (await fx.target.query<{ n: number }>(sql, params))[0]!.n;

it(`removeRunRows removes a run's ${EXTRA_NOTES.toLocaleString('en')} extra notes with their bridge rows, and only them`, async () => {
  // A run whose rollback cannot remove its rows: they stay, with their bridge rows, for the clean below.
  const workflowId = `rbscale-${randomUUID()}`;
  fx.worker.faults.plan(workflowId, { failAfterPhase: 'transfer', failCompensation: 'removeRunRows' });
  const handle = await fx.worker.client.workflow.start(migrationWorkflow, {
    taskQueue: fx.worker.taskQueue,
    workflowId,
    args: [{ source, userId, target: fx.target.ref, keyring: keyring.ref, parallelism: 1, heartbeatTimeoutMs: 3000 }],
  });
  const err = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure).type).toBe(
    'ROLLBACK_FAILED',
  );
  const runId = (await handle.query(progressQuery)).runId;

  // The run's notes grow to a large user's: rows and bridge rows as a chunk writes them.
  await fx.target.query(
    `WITH n AS (
       INSERT INTO public.notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at)
       SELECT gen_random_uuid(), $1::uuid, '\\x01', '\\x02', 'note', now(), now() FROM generate_series(1, $3::int)
       RETURNING id)
     INSERT INTO public.schema_bridge_notes (user_id, local_id, remote_id, status, run_id, created_row)
     SELECT $1::uuid, 'extra-' || n.id, n.id, 'completed', $2, true FROM n`,
    [userId, runId, EXTRA_NOTES],
  );
  const runNotes = await count(
    'SELECT count(*)::int AS n FROM public.schema_bridge_notes WHERE run_id = $1 AND created_row',
    [runId],
  );
  expect(runNotes).toBeGreaterThan(EXTRA_NOTES);
  const othersBefore = await count('SELECT count(*)::int AS n FROM public.notes WHERE user_id <> $1', [userId]);
  const seededBefore = await count(
    'SELECT count(*)::int AS n FROM public.notes n WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM public.schema_bridge_notes b WHERE b.remote_id = n.id AND b.run_id = $2 AND b.created_row)',
    [userId, runId],
  );

  // What `runbook clean --run-id` runs.
  const deps = createDeps({ backupDir: tempDir(), config: testWorkerConfig });
  try {
    const removed = await createRollbackActivities(deps).removeRunRows({ target: fx.target.ref, runId, userId });
    expect(removed.notes).toBe(runNotes);
  } finally {
    await deps.close();
  }
  expect(await count('SELECT count(*)::int AS n FROM public.notes WHERE user_id = $1', [userId])).toBe(seededBefore);
  expect(await count('SELECT count(*)::int AS n FROM public.notes WHERE user_id <> $1', [userId])).toBe(othersBefore);
  expect(
    await count('SELECT count(*)::int AS n FROM public.schema_bridge_notes WHERE run_id = $1 AND created_row', [runId]),
  ).toBe(0);
}, 300_000);
