// delta lifecycle (online mode): after the bulk copy the app changes the source (an edit, a soft
// delete, an insert with a task, a hard delete, a key change); the delta passes and the final,
// cut-over's frozen pass bring the target to that state through the chunk path's rules, validation passes
// against it, and the undo of transfer removes every row the run created, delta rows included.
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { targetId } from '../../../lib/ids';
import { notesMapping } from '../../../lib/mapping/notes';
import { capturePhase } from '../../../workflows/phases/capture';
import { cutoverPhase } from '../../../workflows/phases/cutover';
import { deltaPhase } from '../../../workflows/phases/delta';
import { indexesPhase } from '../../../workflows/phases/indexes';
import { transferPhase } from '../../../workflows/phases/transfer';
import { validationPhase } from '../../../workflows/phases/validation';
import {
  expectRestored,
  runPreflight,
  runSchemaActivities,
  runTransferActivities,
  setUp,
  snapshot,
  undo,
  type Lifecycle,
} from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

it('applies the changes made after the bulk copy; the undo of transfer removes the delta rows too', async () => {
  l = await setUp({ notes: 60, input: { chunkRows: 10, online: { enabled: true, deltaThreshold: 1 } } });
  const { userId } = l;
  await runPreflight(l);
  await runSchemaActivities(l);
  await indexesPhase.step(l.ctx);
  const before = await snapshot(l);
  await capturePhase.step(l.ctx);
  await runTransferActivities(l);

  const db = new Database(l.source);
  const now = Math.floor(Date.now() / 1000);
  const notes = (db.prepare('SELECT id FROM local_notes WHERE deleted = 0 ORDER BY id').all() as { id: string }[]).map(
    (r) => r.id,
  );
  const [edited, softDeleted] = [notes[0]!, notes[1]!];
  const task = db.prepare('SELECT id FROM note_tasks ORDER BY id LIMIT 1').get() as { id: string };
  const link = db.prepare('SELECT note_id FROM note_folders ORDER BY note_id LIMIT 1').get() as { note_id: string };
  const free = db
    .prepare('SELECT id FROM local_notes WHERE id NOT IN (SELECT note_id FROM note_folders) ORDER BY id LIMIT 1')
    .get() as { id: string };
  db.prepare("UPDATE local_notes SET title = 'edited during the run', updated_at = ? WHERE id = ?").run(now, edited);
  db.prepare('UPDATE local_notes SET deleted = 1, updated_at = ? WHERE id = ?').run(now, softDeleted);
  db.prepare(
    "INSERT INTO local_notes (id, title, body, updated_at) VALUES ('note-live', 'written during the run', 'body', ?)",
  ).run(now);
  db.prepare(
    "INSERT INTO note_tasks (id, note_id, content, content_hash, created_at, updated_at) VALUES ('task-live', 'note-live', 'live task', 'h', ?, ?)",
  ).run(now, now);
  db.prepare('DELETE FROM note_tasks WHERE id = ?').run(task.id);
  db.prepare('UPDATE note_folders SET note_id = ? WHERE note_id = ?').run(free.id, link.note_id);
  db.close();

  await deltaPhase.step(l.ctx);
  await cutoverPhase.step(l.ctx);
  const online = l.run.online!;
  expect(online.changesApplied).toBe(6);
  // A pass of 6 changes (not below the threshold of 1: another pass), one of 0 (below), then the cut-over's final pass.
  expect(online.passes).toBe(3);
  expect(online.lastSeq).toBe(6);
  expect(online.freezeMs).toBeGreaterThan(0);
  expect(online.attempts).toEqual([
    { outcome: 'done', windowMs: online.freezeMs, pending: 0, changes: 0, tailRows: 0 },
  ]);
  expect(l.run.result.tables.local_notes!.sourceRows).toBe(61);

  const sealer = l.deps.sealer(l.run.cfg.keyring, userId);
  const note = async (id: string) => {
    const [row] = await l!.target.query('SELECT * FROM notes WHERE id = $1', [targetId('local_notes', id, userId)]);
    return row ? notesMapping.decode(row, sealer) : null;
  };
  expect((await note(edited))?.title).toBe('edited during the run');
  expect((await note(softDeleted))?.deleted).toBe(true);
  expect((await note('note-live'))?.title).toBe('written during the run');
  const count = async (sql: string, id: string) => (await l!.target.query(sql, [id])).length;
  expect(await count('SELECT 1 FROM note_tasks WHERE id = $1', targetId('note_tasks', 'task-live', userId))).toBe(1);
  expect(await count('SELECT 1 FROM note_tasks WHERE id = $1', targetId('note_tasks', task.id, userId))).toBe(0);
  const linked = 'SELECT 1 FROM note_folders WHERE note_id = $1';
  expect(await count(linked, targetId('local_notes', link.note_id, userId))).toBe(0);
  expect(await count(linked, targetId('local_notes', free.id, userId))).toBe(1);
  // Delta rows are the run's own, like chunk rows.
  const bridge = await l.target.query<{ run_id: string; created_row: boolean }>(
    "SELECT run_id, created_row FROM public.schema_bridge_notes WHERE user_id = $1 AND local_id = 'note-live'",
    [userId],
  );
  expect(bridge).toEqual([{ run_id: l.run.runId, created_row: true }]);

  await validationPhase.step(l.ctx);
  expect(l.run.result.validation.ok).toBe(true);

  expect(await undo(l, capturePhase, transferPhase)).toEqual(['removeRunRows', 'removeCapture']);
  await expectRestored(l, before);
  const left = await l.acts.runArtifacts({ target: l.run.cfg.target, runId: l.run.runId, userId });
  expect(left.filter((a) => !a.startsWith('index '))).toEqual([]);
});
