// Rollback never removes or changes a row it did not create. The app attaches a task (note_tasks,
// ON DELETE CASCADE) and a row of a table the migrator does not know (ON DELETE CASCADE) to notes
// this run created, while the run is paused mid-transfer; then the run is aborted. Deleting those
// notes would delete the app's rows through the cascades, so the rollback stops with
// ROLLBACK_FAILED naming them, having deleted nothing; once the operator moved the app's rows away,
// `runbook clean` (the same activity) removes the run's rows.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { beforeAll, expect, it } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createRollbackActivities } from '../../activities/rollback';
import { causeChain } from '../../lib/failures';
import { abortUpdate, pauseUpdate, progressQuery } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { tempDir, testWorkerConfig } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';
import { migrationFixture } from '../helpers/fixture';

const fx = migrationFixture('dependents', { seed: 17, notes: 400, seedTarget: true });
const { userId, source, keyring } = fx;
beforeAll(async () => {
  await fx.target.query(
    'CREATE TABLE app_comments (id uuid PRIMARY KEY, note_id uuid NOT NULL REFERENCES notes (id) ON DELETE CASCADE, body text)',
  );
});

const runNotes = () =>
  fx.target.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM notes n JOIN schema_bridge_notes b ON b.remote_id = n.id AND b.created_row WHERE n.user_id = $1',
    [userId],
  );

it('an app row attached to a run-created note blocks the rollback: ROLLBACK_FAILED names it, nothing is deleted; clean works once it is moved', async () => {
  const handle = await fx.worker.client.workflow.start(migrationWorkflow, {
    taskQueue: fx.worker.taskQueue,
    workflowId: `dep-${randomUUID()}`,
    args: [
      {
        source,
        userId,
        target: fx.target.ref,
        keyring: keyring.ref,
        chunkRows: 20,
        parallelism: 1,
        heartbeatTimeoutMs: 3000,
      },
    ],
  });
  // Notes are done once the transfer moved on to a later table.
  await waitUntil(
    'the transfer is past local_notes',
    async () => {
      const p = await handle.query(progressQuery);
      return p.phase === 'transfer' && (p.table === 'note_folders' || p.table === 'note_tasks');
    },
    { timeoutMs: 90_000 },
  );
  await handle.executeUpdate(pauseUpdate);
  const [a, b] = await fx.target.query<{ id: string }>(
    'SELECT n.id FROM notes n JOIN schema_bridge_notes b ON b.remote_id = n.id AND b.created_row WHERE n.user_id = $1 ORDER BY n.id LIMIT 2',
    [userId],
  );
  const appTask = randomUUID();
  const appComment = randomUUID();
  await fx.target.query(
    "INSERT INTO note_tasks (id, user_id, note_id, content, status, priority, created_at, updated_at) VALUES ($1, $2, $3, 'added by the app', 'pending', 1, now(), now())",
    [appTask, userId, a!.id],
  );
  await fx.target.query("INSERT INTO app_comments (id, note_id, body) VALUES ($1, $2, 'the app''s comment')", [
    appComment,
    b!.id,
  ]);
  const notesBefore = (await runNotes())[0]!.n;
  const tasksBefore = (
    await fx.target.query<{ n: number }>('SELECT count(*)::int AS n FROM note_tasks WHERE user_id = $1', [userId])
  )[0]!.n;

  await handle.executeUpdate(abortUpdate, { args: ['operator abort'] });
  const err = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure;
  expect(failure.type).toBe('ROLLBACK_FAILED');
  expect(failure.message).toMatch(/removeRunRows: .*rollback stopped before deleting from notes/);
  expect(failure.message).toContain('"public"."note_tasks"(note_id) (ON DELETE CASCADE)');
  expect(failure.message).toContain('"public"."app_comments"(note_id) (ON DELETE CASCADE)');
  expect(failure.message).toContain('runbook clean');

  // The app's rows and the notes they hang on are intact; nothing of the run was deleted either.
  expect(await fx.target.query('SELECT content FROM note_tasks WHERE id = $1', [appTask])).toEqual([
    { content: 'added by the app' },
  ]);
  expect(await fx.target.query('SELECT body FROM app_comments WHERE id = $1', [appComment])).toEqual([
    { body: "the app's comment" },
  ]);
  expect((await runNotes())[0]!.n).toBe(notesBefore);
  expect(
    (await fx.target.query<{ n: number }>('SELECT count(*)::int AS n FROM note_tasks WHERE user_id = $1', [userId]))[0]!
      .n,
  ).toBe(tasksBefore);

  // The operator moves the app's rows off the run's notes; clean then removes every row of the run.
  await fx.target.query('DELETE FROM note_tasks WHERE id = $1', [appTask]);
  await fx.target.query('DELETE FROM app_comments WHERE id = $1', [appComment]);
  const deps = createDeps({ backupDir: tempDir(), config: testWorkerConfig });
  try {
    const runId = (await handle.query(progressQuery)).runId;
    const removed = await createRollbackActivities(deps).removeRunRows({ target: fx.target.ref, runId, userId });
    expect(removed.notes).toBe(notesBefore);
  } finally {
    await deps.close();
  }
  expect((await runNotes())[0]!.n).toBe(0);
}, 180_000);
