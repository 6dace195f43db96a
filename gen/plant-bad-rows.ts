// Plants one malformed row per failure case into a generated Duru Notes file, and returns what it
// planted with the outcome the migration must produce for each (quarantined / repaired / migrated).
import Database from 'better-sqlite3';
import type { QuarantineReason, RepairReason } from '../lib/reasons';
import { contentHash } from './generate';

export interface PlantedRow {
  table: 'local_notes' | 'note_tasks' | 'local_folders' | 'note_folders';
  sourceId: string;
  expect: 'quarantined' | 'repaired' | 'migrated';
  reason: QuarantineReason | RepairReason | null;
  what: string;
}

const TS = 1700000000; // 2023-11-14, inside the plausible window

/** Id of the valid note that hosts the planted tasks and the note_folders row with a missing folder. */
export const BAD_HOST_NOTE_ID = 'bad_host_note';

export function plantBadRows(path: string): PlantedRow[] {
  const db = new Database(path, { fileMustExist: true });
  try {
    db.pragma('foreign_keys = OFF');
    const planted: PlantedRow[] = [];
    const note = db.prepare(
      `INSERT INTO local_notes (id, title, body, updated_at, deleted, encrypted_metadata, is_pinned, note_type)
       VALUES (@id, @title, @body, @updated_at, 0, @meta, 0, @note_type)`,
    );
    const task = db.prepare(
      `INSERT INTO note_tasks (id, note_id, content, status, priority, due_date, completed_at, completed_by, position,
         content_hash, reminder_id, labels, notes, estimated_minutes, actual_minutes, parent_task_id, created_at, updated_at, deleted)
       VALUES (@id, @note_id, @content, @status, 1, NULL, NULL, NULL, 0, @hash, NULL, @labels, NULL, NULL, NULL, @parent, ${TS}, ${TS}, 0)`,
    );
    const noteFolder = db.prepare('INSERT INTO note_folders (note_id, folder_id, added_at) VALUES (?, ?, ?)');

    const addNote = (
      id: string,
      expect: PlantedRow['expect'],
      reason: PlantedRow['reason'],
      what: string,
      o: { meta?: string; note_type?: number; updated_at?: number | string } = {},
    ): void => {
      note.run({
        id,
        title: `Planted ${id}`,
        body: `Body of ${id}`,
        updated_at: o.updated_at ?? TS,
        meta: o.meta ?? null,
        note_type: o.note_type ?? 0,
      });
      planted.push({ table: 'local_notes', sourceId: id, expect, reason, what });
    };
    const addTask = (
      id: string,
      expect: PlantedRow['expect'],
      reason: PlantedRow['reason'],
      what: string,
      o: { note_id?: string; content?: string; status?: number; labels?: string; parent?: string } = {},
    ): void => {
      const content = o.content ?? `Planted task ${id}`;
      task.run({
        id,
        note_id: o.note_id ?? BAD_HOST_NOTE_ID,
        content,
        status: o.status ?? 0,
        hash: contentHash(content),
        labels: o.labels ?? null,
        parent: o.parent ?? null,
      });
      planted.push({ table: 'note_tasks', sourceId: id, expect, reason, what });
    };

    db.transaction(() => {
      addNote(
        BAD_HOST_NOTE_ID,
        'migrated',
        null,
        'valid note hosting the planted tasks and a planted note_folders row',
      );
      addNote('bad_note_json', 'quarantined', 'INVALID_JSON', 'encrypted_metadata is not JSON', { meta: '{not json' });
      addNote(
        'bad_note_json_nul',
        'quarantined',
        'UNSUPPORTED_TEXT',
        'encrypted_metadata JSON contains a \\u0000 escape',
        {
          meta: '{"a":"x\\u0000y"}',
        },
      );
      addNote('bad_note_enum', 'quarantined', 'INVALID_ENUM', 'note_type 7 is not a NoteKind', { note_type: 7 });
      addNote('bad_note_ts_ms', 'quarantined', 'TIMESTAMP_OUT_OF_RANGE', 'updated_at stored in milliseconds', {
        updated_at: 1700000000000,
      });
      db.prepare(
        `INSERT INTO local_notes (id, title, body, updated_at, deleted, encrypted_metadata, is_pinned, note_type)
         VALUES ('bad_note_utf8', CAST(x'48ff65' AS TEXT), 'Body of bad_note_utf8', ${TS}, 0, NULL, 0, 0)`,
      ).run();
      planted.push({
        table: 'local_notes',
        sourceId: 'bad_note_utf8',
        expect: 'quarantined',
        reason: 'INVALID_UTF8',
        what: 'title is invalid UTF-8 (48 ff 65)',
      });
      addNote('bad_note_iso_ts', 'migrated', null, 'updated_at is ISO-8601 text', {
        updated_at: '2024-03-01T10:00:00Z',
      });

      addTask('bad_task_enum', 'quarantined', 'INVALID_ENUM', 'status 9 is not a TaskStatus', { status: 9 });
      addTask('bad_task_no_note', 'quarantined', 'MISSING_REFERENCE', 'note_id does not exist', {
        note_id: 'bad_missing_note',
      });
      addTask(
        'bad_task_quarantined_note',
        'quarantined',
        'MISSING_REFERENCE',
        'note_id is a quarantined note (bad_note_enum)',
        {
          note_id: 'bad_note_enum',
        },
      );
      addTask('bad_task_nul', 'quarantined', 'UNSUPPORTED_TEXT', 'content contains a NUL character', {
        content: 'a\u0000b',
      });
      addTask('bad_task_labels_json', 'quarantined', 'INVALID_JSON', 'labels is not JSON', { labels: '[broken' });
      addTask('bad_task_labels_object', 'quarantined', 'INVALID_JSON', 'labels is a JSON object, not an array', {
        labels: '{"a":1}',
      });
      addTask('bad_task_orphan', 'repaired', 'PARENT_MISSING', 'parent_task_id does not exist', {
        parent: 'bad_missing_task',
      });
      addTask('bad_task_cycle_a', 'migrated', null, 'parent_task_id cycle with bad_task_cycle_b', {
        parent: 'bad_task_cycle_b',
      });
      addTask('bad_task_cycle_b', 'migrated', null, 'parent_task_id cycle with bad_task_cycle_a', {
        parent: 'bad_task_cycle_a',
      });

      db.prepare(
        `INSERT INTO local_folders (id, name, parent_id, path, sort_order, color, icon, description, created_at, updated_at, deleted)
         VALUES ('bad_folder_orphan', 'Orphan', 'bad_missing_folder', '/Lost/Orphan', 0, NULL, NULL, '', ${TS}, ${TS}, 0)`,
      ).run();
      planted.push({
        table: 'local_folders',
        sourceId: 'bad_folder_orphan',
        expect: 'repaired',
        reason: 'PARENT_MISSING',
        what: 'parent_id does not exist',
      });

      noteFolder.run(BAD_HOST_NOTE_ID, 'bad_missing_folder', TS);
      planted.push({
        table: 'note_folders',
        sourceId: BAD_HOST_NOTE_ID,
        expect: 'quarantined',
        reason: 'MISSING_REFERENCE',
        what: 'folder_id does not exist',
      });
      const folder = db
        .prepare(
          "SELECT id FROM local_folders WHERE deleted = 0 AND id NOT LIKE 'bad\\_%' ESCAPE '\\' ORDER BY id LIMIT 1",
        )
        .pluck()
        .get() as string | undefined;
      noteFolder.run('bad_nf_missing_note', folder ?? 'system_inbox', TS);
      planted.push({
        table: 'note_folders',
        sourceId: 'bad_nf_missing_note',
        expect: 'quarantined',
        reason: 'MISSING_REFERENCE',
        what: 'note_id does not exist',
      });
    })();
    return planted;
  } finally {
    db.close();
  }
}
