// capture lifecycle (online mode): install the change log and triggers in the source, see them log
// inserts, updates, hard deletes and key changes (old and new key), then remove them — by the
// compensation or by release-capture — and find the source's sqlite_master and every table's
// content exactly as before.
import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { capturePhase, releaseCapturePhase } from '../../../workflows/phases/capture';
import { setUp, undo, type Lifecycle } from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

function sourceSnapshot(path: string): { schema: string[]; content: Record<string, string> } {
  const db = new Database(path, { readonly: true });
  try {
    const schema = (
      db.prepare('SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name').all() as Record<
        string,
        unknown
      >[]
    ).map((r) => `${String(r.type)} ${String(r.name)} ${String(r.tbl_name)} ${String(r.sql)}`);
    const content: Record<string, string> = {};
    for (const { name } of db
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND sql NOT LIKE 'CREATE VIRTUAL%' ORDER BY name")
      .all() as { name: string }[]) {
      const rows = db.prepare(`SELECT * FROM "${name}" ORDER BY 1`).all();
      content[name] = createHash('sha256').update(JSON.stringify(rows)).digest('hex');
    }
    return { schema, content };
  } finally {
    db.close();
  }
}

it('installs a log that sees every kind of change; its compensation leaves the source exactly as before', async () => {
  l = await setUp({ input: { online: { enabled: true } } });
  const before = sourceSnapshot(l.source);
  expect(await undo(l)).toEqual([]);
  expect(capturePhase.undo(l.ctx).map((c) => c.name)).toEqual(['removeCapture']);
  await capturePhase.step(l.ctx);
  expect(l.run.online).toMatchObject({ startSeq: 0, lastSeq: 0, passes: 0 });
  expect(l.run.result.online).toBe(l.run.online);

  const db = new Database(l.source);
  try {
    const triggers = db.prepare("SELECT name FROM sqlite_master WHERE type = 'trigger' ORDER BY name").all();
    expect(triggers).toHaveLength(12); // insert, update, delete on the four mapped tables
    const note = db.prepare('SELECT id FROM local_notes ORDER BY id LIMIT 1').get() as { id: string };
    const link = db.prepare('SELECT note_id FROM note_folders ORDER BY note_id LIMIT 1').get() as { note_id: string };
    const free = db
      .prepare('SELECT id FROM local_notes WHERE id NOT IN (SELECT note_id FROM note_folders) ORDER BY id LIMIT 1')
      .get() as { id: string };
    db.prepare("UPDATE local_notes SET title = 'changed' WHERE id = ?").run(note.id);
    db.prepare('UPDATE note_folders SET note_id = ? WHERE note_id = ?').run(free.id, link.note_id);
    const task = db.prepare('SELECT id FROM note_tasks ORDER BY id LIMIT 1').get() as { id: string };
    db.prepare('DELETE FROM note_tasks WHERE id = ?').run(task.id);
    db.prepare(
      "INSERT INTO local_folders (id, name, path, created_at, updated_at) VALUES ('f-new', 'n', '/n', 1700000000, 1700000000)",
    ).run();
    const log = db.prepare('SELECT seq, tbl, op, old_key, new_key FROM _migrator_changes ORDER BY seq').all();
    expect(log).toEqual(
      expect.arrayContaining([
        { seq: 1, tbl: 'local_notes', op: 'U', old_key: note.id, new_key: note.id },
        { seq: 2, tbl: 'note_folders', op: 'U', old_key: link.note_id, new_key: free.id },
        { seq: 3, tbl: 'note_tasks', op: 'D', old_key: task.id, new_key: null },
        { seq: 4, tbl: 'local_folders', op: 'I', old_key: null, new_key: 'f-new' },
      ]),
    );
    // Undo the test's own writes (with the triggers still there: the log grows, and goes with them).
    db.prepare("DELETE FROM local_folders WHERE id = 'f-new'").run();
    db.prepare('UPDATE note_folders SET note_id = ? WHERE note_id = ?').run(link.note_id, free.id);
  } finally {
    db.close();
  }
  expect(await undo(l, capturePhase)).toEqual(['removeCapture']);
  const after = sourceSnapshot(l.source);
  expect(after.schema).toEqual(before.schema);
  // Only the rows the test itself changed differ (a title, the deleted task).
  const differing = Object.keys(before.content).filter((t) => after.content[t] !== before.content[t]);
  expect(differing.sort()).toEqual(['local_notes', 'note_tasks']);
});

it('release-capture removes it after a completed run; install and removal alone change nothing at all', async () => {
  l = await setUp({ input: { online: { enabled: true } } });
  const before = sourceSnapshot(l.source);
  await capturePhase.step(l.ctx);
  await capturePhase.step(l.ctx); // idempotent: a retried install finds everything in place
  await releaseCapturePhase.step(l.ctx);
  expect(l.run.online!.schemaDigestAfter).toBe(l.run.online!.schemaDigestBefore);
  expect(sourceSnapshot(l.source)).toEqual(before);
  expect(await undo(l, capturePhase)).toEqual(['removeCapture']); // a later rollback: removing again is a no-op
  expect(sourceSnapshot(l.source)).toEqual(before);
});
