// Rollback never removes or changes a row it did not create. The app attaches a task (note_tasks,
// ON DELETE CASCADE) and a row of a table the migrator does not know (ON DELETE CASCADE) to notes
// this run created, while the run is paused mid-transfer; then the run is aborted. Deleting those
// notes would delete the app's rows through the cascades, so the rollback stops with
// ROLLBACK_FAILED naming them, having deleted nothing; once the operator moved the app's rows away,
// `runbook clean` (the same activity) removes the run's rows. The same holds for ON DELETE SET NULL:
// an app task whose parent_id points at a task the run created would be changed (its parent nulled).
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { beforeAll, expect, it } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createRollbackActivities } from '../../activities/rollback';
import { pauseUpdate, progressQuery } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { tempDir, testWorkerConfig } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';
import { abortExpecting } from '../helpers/abort';
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

/** Starts a run in small chunks, one at a time, and pauses it once `ready` holds. */
async function startAndPause(what: string, ready: (handle: WorkflowHandle) => Promise<boolean>) {
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
  await waitUntil(what, () => ready(handle), { timeoutMs: 90_000 });
  await handle.executeUpdate(pauseUpdate);
  return handle;
}

/** `runbook clean`'s activity for the run; returns the rows it removed per table. */
async function clean(handle: WorkflowHandle): Promise<Record<string, number>> {
  const deps = createDeps({ backupDir: tempDir(), config: testWorkerConfig });
  try {
    const runId = (await handle.query(progressQuery)).runId;
    return await createRollbackActivities(deps).removeRunRows({ target: fx.target.ref, runId, userId });
  } finally {
    await deps.close();
  }
}

it('an app row attached to a run-created note blocks the rollback: ROLLBACK_FAILED names it, nothing is deleted; clean works once it is moved', async () => {
  // Notes are done once the transfer moved on to a later table.
  const handle = await startAndPause('the transfer is past local_notes', async (h) => {
    const p = await h.query(progressQuery);
    return p.phase === 'transfer' && (p.table === 'note_folders' || p.table === 'note_tasks');
  });
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

  const failure = await abortExpecting(handle, 'ROLLBACK_FAILED', 'operator abort');
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
  expect((await clean(handle)).notes).toBe(notesBefore);
  expect((await runNotes())[0]!.n).toBe(0);
}, 180_000);

it('an app task whose parent_id (ON DELETE SET NULL) points at a run-created task blocks the rollback: ROLLBACK_FAILED names it, its parent_id is kept', async () => {
  const runTasks = async (runId: string) =>
    fx.target.query<{ id: string }>(
      'SELECT t.id FROM note_tasks t JOIN schema_bridge_tasks b ON b.remote_id = t.id AND b.created_row WHERE b.user_id = $1 AND b.run_id = $2 ORDER BY t.id',
      [userId, runId],
    );
  const handle = await startAndPause('the run created tasks', async (h) => {
    const p = await h.query(progressQuery);
    return (await runTasks(p.runId)).length > 0;
  });
  const runId = (await handle.query(progressQuery)).runId;
  const parent = (await runTasks(runId))[0]!.id;
  // The app's task hangs on a note the run did not create (the user's pre-existing one): only its
  // parent_id ties it to the run, so nothing but the SET NULL key can block the rollback.
  const [appNote] = await fx.target.query<{ id: string }>(
    'SELECT id FROM notes n WHERE user_id = $1 AND NOT EXISTS (SELECT 1 FROM schema_bridge_notes b WHERE b.remote_id = n.id) LIMIT 1',
    [userId],
  );
  expect(appNote, "the user's pre-existing note (seedTarget)").toBeDefined();
  const appTask = randomUUID();
  await fx.target.query(
    "INSERT INTO note_tasks (id, user_id, note_id, parent_id, content, status, priority, created_at, updated_at) VALUES ($1, $2, $3, $4, 'subtask added by the app', 'pending', 1, now(), now())",
    [appTask, userId, appNote!.id, parent],
  );
  const tasksBefore = (await runTasks(runId)).length;
  const notesBefore = (await runNotes())[0]!.n;

  const failure = await abortExpecting(handle, 'ROLLBACK_FAILED', 'operator abort');
  expect(failure.message).toMatch(/removeRunRows: .*rollback stopped before deleting from note_tasks/);
  expect(failure.message).toContain(
    '1 row(s) in "public"."note_tasks"(parent_id) (ON DELETE SET NULL) reference note_tasks rows this run created',
  );
  expect(failure.message).not.toContain('(note_id)'); // the app's task is on a note of its own
  expect(failure.message).toContain('runbook clean');

  // Nothing deleted, nothing nulled: the app's task still points at its parent, which is still there.
  expect(await fx.target.query('SELECT note_id, parent_id, content FROM note_tasks WHERE id = $1', [appTask])).toEqual([
    { note_id: appNote!.id, parent_id: parent, content: 'subtask added by the app' },
  ]);
  expect(await fx.target.query('SELECT id FROM note_tasks WHERE id = $1', [parent])).toEqual([{ id: parent }]);
  expect((await runTasks(runId)).length).toBe(tasksBefore);
  expect((await runNotes())[0]!.n).toBe(notesBefore);

  // The operator moves the app's task off the run's task; clean then removes the run's rows and
  // leaves the app's task (and the note it hangs on) alone.
  await fx.target.query('UPDATE note_tasks SET parent_id = NULL WHERE id = $1', [appTask]);
  expect((await clean(handle)).note_tasks).toBe(tasksBefore);
  expect(await runTasks(runId)).toEqual([]);
  expect(await fx.target.query('SELECT note_id, content FROM note_tasks WHERE id = $1', [appTask])).toEqual([
    { note_id: appNote!.id, content: 'subtask added by the app' },
  ]);
}, 180_000);
