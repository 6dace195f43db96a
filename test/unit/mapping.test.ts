import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { canonicalJson, ChecksumAccumulator } from '../../lib/checksum';
import { deriveEntityKey, EnvelopeError, openString, sealString } from '../../lib/envelope';
import { userNamespace, uuidV5 } from '../../lib/ids';
import { mappingFor, MAPPINGS, TABLE_ORDER } from '../../lib/mapping';
import { foldersMapping } from '../../lib/mapping/folders';
import type { FolderRow } from '../../lib/mapping/folders';
import { noteFoldersMapping } from '../../lib/mapping/note-folders';
import type { NoteFolderRow } from '../../lib/mapping/note-folders';
import { notesMapping } from '../../lib/mapping/notes';
import type { NoteRow } from '../../lib/mapping/notes';
import { tasksMapping } from '../../lib/mapping/tasks';
import type { TaskRow } from '../../lib/mapping/tasks';
import type { Sealer, TableMapping, TransformContext } from '../../lib/mapping/types';
import { RowRejection } from '../../lib/mapping/values';
import { QuarantineReason } from '../../lib/reasons';

const ROOT = join(import.meta.dirname, '..', '..');
const USER = '0b7e7a4c-3c1d-4a8e-9f6b-2d5c1e8a9f01';
const AS_OF = 1_735_689_600; // 2025-01-01T00:00:00Z
const ctx: TransformContext = { userId: USER, asOfSeconds: AS_OF };
const NS = userNamespace(USER);
const T1 = 1_700_000_000; // 2023-11-14T22:13:20Z, Unix seconds as Drift stores them
const T2 = 1_710_000_000;
const T3 = 1_720_000_000;
const NOTE_UUID = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';
const FOLDER_UUID = '9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d';
const TASK_UUID = 'c0ffee00-1234-4abc-8def-0123456789ab';

const blob = (s: string): Buffer => Buffer.from(s, 'utf8');
const BAD_UTF8 = Buffer.from([0x68, 0x69, 0xc3, 0x28, 0xff]); // "hi" + an invalid sequence
type Row = Record<string, unknown>;

// ---- Source rows as better-sqlite3 returns them for each mapping's selectList ----------------
// The key column is plain TEXT (a string); CAST(x AS BLOB) columns arrive as Buffer; INTEGER as number.
const noteRow = (o: Row = {}): Row => ({
  id: NOTE_UUID,
  title: blob('Groceries 🛒'),
  body: blob('- milk\n- 茶'),
  updated_at: T1,
  deleted: 0,
  encrypted_metadata: blob('{"tags":["home"],"v":2}'),
  is_pinned: 1,
  note_type: 0,
  ...o,
});
const taskRow = (o: Row = {}): Row => ({
  id: TASK_UUID,
  note_id: blob(NOTE_UUID),
  content: blob('Buy milk ✓'),
  status: 1,
  priority: 2,
  due_date: T2,
  completed_at: T3,
  position: 4,
  labels: blob('["errand","home"]'),
  parent_task_id: null,
  created_at: T1,
  updated_at: T3,
  deleted: 0,
  ...o,
});
const folderRow = (o: Row = {}): Row => ({
  id: FOLDER_UUID,
  name: blob('Work 💼'),
  parent_id: null,
  path: blob('/Work'),
  sort_order: 3,
  color: blob('#ff8800'),
  icon: blob('briefcase'),
  description: blob('Job stuff'),
  created_at: T1,
  updated_at: T2,
  deleted: 0,
  ...o,
});
const noteFolderRow = (o: Row = {}): Row => ({ note_id: NOTE_UUID, folder_id: blob(FOLDER_UUID), added_at: T2, ...o });

// ---- A real Sealer over lib/envelope ---------------------------------------------------------
function makeSealer(master: Uint8Array = new Uint8Array(randomBytes(32))): Sealer {
  return {
    seal: (entityId, plaintext) => sealString(deriveEntityKey(master, entityId), plaintext),
    open: (entityId, envelope) => openString(deriveEntityKey(master, entityId), envelope),
  };
}

// ---- node-postgres emulation: encode() output (COPYed into the staging table) → the row SELECT t.* returns --------------------
interface InsertColumn {
  name: string;
  type: string;
}
/** The columns of sql/queries/stage_<table>.sql, the staging table the chunk COPYs encode()'s output into (in order; user_id is not one of them). */
function insertColumns(targetTable: string): InsertColumn[] {
  const sql = readFileSync(join(ROOT, 'sql', 'queries', `stage_${targetTable}.sql`), 'utf8');
  const m = /CREATE TEMP TABLE IF NOT EXISTS migrator_stage_\w+ \(([^)]*)\)/s.exec(sql);
  if (!m) throw new Error(`cannot parse stage_${targetTable}.sql`);
  const cols = m[1]!.split(',').map((c) => {
    const [name, type] = c.trim().split(/\s+/);
    return { name: name!, type: type! };
  });
  expect(cols.map((c) => c.name)).not.toContain('user_id');
  return cols;
}

const UUID_TEXT = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
/** What PostgreSQL accepts for a parameter of `type`, converted to what node-postgres returns. */
function pgValue(type: string, value: unknown, column: string): unknown {
  if (value === null) return null;
  switch (type) {
    case 'uuid':
      expect(value, column).toMatch(UUID_TEXT);
      return (value as string).toLowerCase();
    case 'bytea':
      expect(value, column).toBeInstanceOf(Uint8Array);
      return Buffer.from(value as Uint8Array);
    case 'jsonb':
      expect(typeof value, column).toBe('string');
      return JSON.parse(value as string) as unknown;
    case 'timestamptz': {
      expect(typeof value, column).toBe('string');
      const d = new Date(value as string);
      expect(Number.isNaN(d.getTime()), column).toBe(false);
      expect(d.toISOString(), `${column} must be exact ISO-8601 UTC`).toBe(value);
      return d;
    }
    case 'boolean':
      expect(typeof value, column).toBe('boolean');
      return value;
    case 'text':
      expect(typeof value, column).toBe('string');
      expect((value as string).includes('\u0000'), column).toBe(false);
      return value;
    case 'integer':
      expect(Number.isInteger(value), column).toBe(true);
      expect(Math.abs(value as number), column).toBeLessThan(2 ** 31);
      return value;
    default:
      throw new Error(`unexpected column type ${type}`);
  }
}

/** Target row as node-postgres returns it, from encode()'s output; `extra` holds columns the insert leaves at their default. */
function pgRow(mapping: TableMapping, encoded: unknown[], userId: string, extra: Row = {}): Row {
  const cols = insertColumns(mapping.targetTable);
  expect(encoded).toHaveLength(cols.length);
  const row: Row = { user_id: userId, ...extra };
  cols.forEach((c, i) => {
    row[c.name] = pgValue(c.type, encoded[i], c.name);
  });
  return row;
}

function roundTrip<C extends Row>(mapping: TableMapping<C>, canonical: C, sealer: Sealer, extra: Row = {}): C {
  const m = mapping as unknown as TableMapping;
  return m.decode(pgRow(m, m.encode(canonical, sealer), USER, extra), sealer) as C;
}

function rejection(fn: () => unknown): RowRejection {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(RowRejection);
    return err as RowRejection;
  }
  throw new Error('expected a RowRejection');
}

// =================================================================================================

describe('mapping registry', () => {
  it('covers the four tables in foreign-key order', () => {
    expect(TABLE_ORDER).toEqual(['local_folders', 'local_notes', 'note_folders', 'note_tasks']);
    expect(mappingFor('local_notes')).toBe(notesMapping);
    expect(mappingFor('note_tasks')).toBe(tasksMapping);
    expect(mappingFor('local_folders')).toBe(foldersMapping);
    expect(mappingFor('note_folders')).toBe(noteFoldersMapping);
    expect(() => mappingFor('note_tags')).toThrow(/no mapping/);
  });

  it.each(Object.values(MAPPINGS).map((m) => [m.sourceTable, m] as const))(
    '%s: selectList yields exactly coveredColumns',
    (_t, m) => {
      const aliases = m.selectList.split(',').map((part) => {
        const as = /\bAS\s+(\w+)\s*$/i.exec(part.trim());
        return as ? as[1]! : part.trim();
      });
      expect([...aliases].sort()).toEqual([...m.coveredColumns].sort());
      expect(aliases).toContain(m.keyColumn);
      // Every column but the key column is read as BLOB or is a non-text column.
      for (const part of m.selectList.split(',').map((p) => p.trim())) {
        if (/CAST\(/i.test(part)) expect(part).toMatch(/^CAST\((\w+) AS BLOB\) AS \1$/);
      }
    },
  );
});

describe('notes mapping (local_notes → notes)', () => {
  it('transforms a valid row to canonical values', () => {
    const t = notesMapping.transform(noteRow(), ctx);
    expect(t.sourceId).toBe(NOTE_UUID);
    expect(t.targetId).toBe(NOTE_UUID);
    expect(t.requiredRefs).toEqual([]);
    expect(t.parent).toBeNull();
    expect(t.canonical).toEqual({
      id: NOTE_UUID,
      user_id: USER,
      title: 'Groceries 🛒',
      body: '- milk\n- 茶',
      metadata: { tags: ['home'], v: 2 },
      is_pinned: true,
      deleted: false,
      note_type: 'note',
      created_at: T1 * 1000,
      updated_at: T1 * 1000,
    });
  });

  it('maps note_type 0 → note, 1 → template, NULL → note (column default)', () => {
    expect(notesMapping.transform(noteRow({ note_type: 0 }), ctx).canonical.note_type).toBe('note');
    expect(notesMapping.transform(noteRow({ note_type: 1 }), ctx).canonical.note_type).toBe('template');
    expect(notesMapping.transform(noteRow({ note_type: null }), ctx).canonical.note_type).toBe('note');
  });

  it('maps booleans 0/1 and NULL metadata', () => {
    const c = notesMapping.transform(noteRow({ is_pinned: 0, deleted: 1, encrypted_metadata: null }), ctx).canonical;
    expect(c.is_pinned).toBe(false);
    expect(c.deleted).toBe(true);
    expect(c.metadata).toBeNull();
  });

  it('accepts empty title/body and text that is not valid in PostgreSQL text (it is encrypted)', () => {
    const c = notesMapping.transform(noteRow({ title: blob(''), body: blob('a\u0000b') }), ctx).canonical;
    expect(c.title).toBe('');
    expect(c.body).toBe('a\u0000b');
  });

  it('accepts ISO-8601 text timestamps (ms precision, UTC)', () => {
    expect(notesMapping.transform(noteRow({ updated_at: '2024-03-01T10:00:00Z' }), ctx).canonical.updated_at).toBe(
      Date.UTC(2024, 2, 1, 10, 0, 0),
    );
    expect(notesMapping.transform(noteRow({ updated_at: '2024-03-01T10:00:00.250Z' }), ctx).canonical.updated_at).toBe(
      Date.UTC(2024, 2, 1, 10, 0, 0, 250),
    );
    expect(notesMapping.transform(noteRow({ updated_at: '2024-03-01T12:00:00+02:00' }), ctx).canonical.updated_at).toBe(
      Date.UTC(2024, 2, 1, 10, 0, 0),
    );
    // A zone-less local time is UTC (Drift stores UTC), whatever the test machine's zone.
    expect(notesMapping.transform(noteRow({ updated_at: '2024-03-01 10:00:00' }), ctx).canonical.updated_at).toBe(
      Date.UTC(2024, 2, 1, 10, 0, 0),
    );
    expect(notesMapping.transform(noteRow({ updated_at: '2024-03-01' }), ctx).canonical.updated_at).toBe(
      Date.UTC(2024, 2, 1),
    );
    expect(notesMapping.transform(noteRow({ updated_at: blob(' 1700000000 ') }), ctx).canonical.updated_at).toBe(
      T1 * 1000,
    );
    expect(notesMapping.transform(noteRow({ updated_at: BigInt(T1) }), ctx).canonical.updated_at).toBe(T1 * 1000);
  });

  it('accepts timestamps at both ends of the plausible window', () => {
    expect(notesMapping.transform(noteRow({ updated_at: 631_152_000 }), ctx).canonical.updated_at).toBe(
      631_152_000_000,
    );
    expect(notesMapping.transform(noteRow({ updated_at: AS_OF + 86_400 }), ctx).canonical.updated_at).toBe(
      (AS_OF + 86_400) * 1000,
    );
  });

  it.each([
    ['invalid UTF-8 title', { title: BAD_UTF8 }, 'INVALID_UTF8', 'title'],
    ['invalid UTF-8 body', { body: BAD_UTF8 }, 'INVALID_UTF8', 'body'],
    ['invalid UTF-8 metadata', { encrypted_metadata: BAD_UTF8 }, 'INVALID_UTF8', 'encrypted_metadata'],
    ['NULL title', { title: null }, 'INVALID_VALUE', 'title'],
    ['note_type 7', { note_type: 7 }, 'INVALID_ENUM', 'note_type'],
    ['note_type -1', { note_type: -1 }, 'INVALID_ENUM', 'note_type'],
    ['note_type 2', { note_type: 2 }, 'INVALID_ENUM', 'note_type'],
    ['note_type as text', { note_type: blob('0') }, 'INVALID_ENUM', 'note_type'],
    ['updated_at in milliseconds', { updated_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['updated_at 0', { updated_at: 0 }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['updated_at before 1990', { updated_at: 631_151_999 }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['updated_at > 1 day after the run start', { updated_at: AS_OF + 86_401 }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['updated_at unparseable text', { updated_at: 'yesterday' }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['updated_at impossible date', { updated_at: '2024-13-45T10:00:00Z' }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['updated_at NULL', { updated_at: null }, 'INVALID_VALUE', 'updated_at'],
    ['metadata that is not JSON', { encrypted_metadata: blob('{not json') }, 'INVALID_JSON', 'encrypted_metadata'],
    [
      'metadata with an escaped NUL',
      { encrypted_metadata: blob('{"a":"x\\u0000y"}') },
      'UNSUPPORTED_TEXT',
      'encrypted_metadata',
    ],
    [
      'metadata with a NUL in a key',
      { encrypted_metadata: blob('{"a\\u0000":1}') },
      'UNSUPPORTED_TEXT',
      'encrypted_metadata',
    ],
    [
      'metadata with a nested NUL',
      { encrypted_metadata: blob('{"a":[{"b":"\\u0000"}]}') },
      'UNSUPPORTED_TEXT',
      'encrypted_metadata',
    ],
    [
      'metadata with a lone surrogate',
      { encrypted_metadata: blob('{"a":"\\ud800"}') },
      'UNSUPPORTED_TEXT',
      'encrypted_metadata',
    ],
    ['is_pinned 2', { is_pinned: 2 }, 'INVALID_VALUE', 'is_pinned'],
    ['deleted as text', { deleted: 'yes' }, 'INVALID_VALUE', 'deleted'],
  ])('rejects %s', (_name, override, reason, column) => {
    const r = rejection(() => notesMapping.transform(noteRow(override), ctx));
    expect(r.reason).toBe(QuarantineReason[reason as keyof typeof QuarantineReason]);
    expect(r.column).toBe(column);
    expect(r.message).toBe(`${reason} in column ${column}`);
  });

  it('keeps user content out of the rejection message', () => {
    const r = rejection(() =>
      notesMapping.transform(noteRow({ encrypted_metadata: blob('{"secret":"hunter2\\u0000"}') }), ctx),
    );
    expect(r.message).not.toContain('hunter2');
  });

  it('keeps a uuid id (lower-cased) and maps a non-uuid id to UUIDv5("local_notes:<id>")', () => {
    expect(notesMapping.transform(noteRow({ id: NOTE_UUID.toUpperCase() }), ctx).targetId).toBe(NOTE_UUID);
    const t = notesMapping.transform(noteRow({ id: 'system_daily_standup' }), ctx);
    expect(t.sourceId).toBe('system_daily_standup');
    expect(t.targetId).toBe(uuidV5('local_notes:system_daily_standup', NS));
    expect(t.canonical.id).toBe(t.targetId);
  });
});

describe('tasks mapping (note_tasks → note_tasks)', () => {
  it('transforms a valid row to canonical values', () => {
    const t = tasksMapping.transform(taskRow(), ctx);
    expect(t.targetId).toBe(TASK_UUID);
    expect(t.parent).toBeNull();
    expect(t.requiredRefs).toEqual([{ table: 'notes', sourceId: NOTE_UUID, targetId: NOTE_UUID, column: 'note_id' }]);
    expect(t.canonical).toEqual({
      id: TASK_UUID,
      user_id: USER,
      note_id: NOTE_UUID,
      content: 'Buy milk ✓',
      status: 'completed',
      priority: 2,
      due_date: T2 * 1000,
      completed_at: T3 * 1000,
      created_at: T1 * 1000,
      updated_at: T3 * 1000,
      parent_id: null,
      labels: ['errand', 'home'],
      position: 4,
      deleted: false,
    });
  });

  it('maps status 0 → pending, 1 → completed, 2 → cancelled, NULL → pending', () => {
    const status = (s: unknown): string => tasksMapping.transform(taskRow({ status: s }), ctx).canonical.status;
    expect(status(0)).toBe('pending');
    expect(status(1)).toBe('completed');
    expect(status(2)).toBe('cancelled');
    expect(status(null)).toBe('pending');
  });

  it('applies column defaults and keeps optional NULLs', () => {
    const c = tasksMapping.transform(
      taskRow({ priority: null, position: null, due_date: null, completed_at: null, labels: null, deleted: 1 }),
      ctx,
    ).canonical;
    expect(c.priority).toBe(1);
    expect(c.position).toBe(0);
    expect(c.due_date).toBeNull();
    expect(c.completed_at).toBeNull();
    expect(c.labels).toBeNull();
    expect(c.deleted).toBe(true);
  });

  it('accepts priorities 0..3 and an empty labels array', () => {
    for (const p of [0, 1, 2, 3])
      expect(tasksMapping.transform(taskRow({ priority: p }), ctx).canonical.priority).toBe(p);
    expect(tasksMapping.transform(taskRow({ labels: blob('[]') }), ctx).canonical.labels).toEqual([]);
  });

  it('accepts an ISO-8601 text due_date', () => {
    expect(tasksMapping.transform(taskRow({ due_date: '2024-03-01T10:00:00Z' }), ctx).canonical.due_date).toBe(
      Date.UTC(2024, 2, 1, 10),
    );
  });

  it.each([
    ['invalid UTF-8 content', { content: BAD_UTF8 }, 'INVALID_UTF8', 'content'],
    ['invalid UTF-8 note_id', { note_id: BAD_UTF8 }, 'INVALID_UTF8', 'note_id'],
    ['invalid UTF-8 labels', { labels: BAD_UTF8 }, 'INVALID_UTF8', 'labels'],
    ['invalid UTF-8 parent_task_id', { parent_task_id: BAD_UTF8 }, 'INVALID_UTF8', 'parent_task_id'],
    ['content with NUL', { content: blob('a\u0000b') }, 'UNSUPPORTED_TEXT', 'content'],
    ['NULL content', { content: null }, 'INVALID_VALUE', 'content'],
    ['NULL note_id', { note_id: null }, 'INVALID_VALUE', 'note_id'],
    ['status 9', { status: 9 }, 'INVALID_ENUM', 'status'],
    ['status 3', { status: 3 }, 'INVALID_ENUM', 'status'],
    ['status -1', { status: -1 }, 'INVALID_ENUM', 'status'],
    ['status 1.5', { status: 1.5 }, 'INVALID_ENUM', 'status'],
    ['priority 5', { priority: 5 }, 'INVALID_ENUM', 'priority'],
    ['priority 4', { priority: 4 }, 'INVALID_ENUM', 'priority'],
    ['priority -1', { priority: -1 }, 'INVALID_ENUM', 'priority'],
    ['priority as a blob', { priority: blob('1') }, 'INVALID_VALUE', 'priority'],
    ['labels that are not JSON', { labels: blob('[broken') }, 'INVALID_JSON', 'labels'],
    ['labels that are an object', { labels: blob('{"a":1}') }, 'INVALID_JSON', 'labels'],
    ['labels that are a string', { labels: blob('"errand"') }, 'INVALID_JSON', 'labels'],
    ['labels with a NUL', { labels: blob('["a\\u0000"]') }, 'UNSUPPORTED_TEXT', 'labels'],
    ['due_date in milliseconds', { due_date: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'due_date'],
    ['completed_at in milliseconds', { completed_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'completed_at'],
    ['created_at in milliseconds', { created_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'created_at'],
    ['updated_at in milliseconds', { updated_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['position 1.5', { position: 1.5 }, 'INVALID_VALUE', 'position'],
    ['position beyond int32', { position: 2 ** 31 }, 'INVALID_VALUE', 'position'],
  ])('rejects %s', (_name, override, reason, column) => {
    const r = rejection(() => tasksMapping.transform(taskRow(override), ctx));
    expect(r.reason).toBe(QuarantineReason[reason as keyof typeof QuarantineReason]);
    expect(r.column).toBe(column);
  });

  it('maps a non-uuid note_id exactly as the notes mapping maps that note (no lookups needed)', () => {
    const note = notesMapping.transform(noteRow({ id: 'system_daily_standup' }), ctx);
    const task = tasksMapping.transform(taskRow({ id: 'task-7', note_id: blob('system_daily_standup') }), ctx);
    expect(task.canonical.note_id).toBe(note.targetId);
    expect(task.canonical.note_id).toBe(uuidV5('local_notes:system_daily_standup', NS));
    expect(task.requiredRefs).toEqual([
      { table: 'notes', sourceId: 'system_daily_standup', targetId: note.targetId, column: 'note_id' },
    ]);
    expect(task.targetId).toBe(uuidV5('note_tasks:task-7', NS));
    expect(task.targetId).not.toBe(uuidV5('local_notes:task-7', NS));
  });

  it('maps an upper-case uuid note_id to the lower-case id the note gets', () => {
    const task = tasksMapping.transform(taskRow({ note_id: blob(NOTE_UUID.toUpperCase()) }), ctx);
    expect(task.canonical.note_id).toBe(notesMapping.transform(noteRow({ id: NOTE_UUID.toUpperCase() }), ctx).targetId);
  });

  it('reports the parent for deferred linking and leaves parent_id NULL until withParent', () => {
    const t = tasksMapping.transform(taskRow({ parent_task_id: blob('parent-task') }), ctx);
    expect(t.canonical.parent_id).toBeNull();
    expect(t.parent).toEqual({
      sourceId: 'parent-task',
      targetId: uuidV5('note_tasks:parent-task', NS),
      column: 'parent_task_id',
    });
    const linked = tasksMapping.withParent!(t.canonical, t.parent!.targetId);
    expect(linked.parent_id).toBe(uuidV5('note_tasks:parent-task', NS));
    expect(t.canonical.parent_id).toBeNull(); // withParent does not mutate
    expect(tasksMapping.withParent!(t.canonical, null).parent_id).toBeNull();
  });
});

describe('folders mapping (local_folders → folders)', () => {
  it('transforms a valid row to canonical values', () => {
    const t = foldersMapping.transform(folderRow(), ctx);
    expect(t.targetId).toBe(FOLDER_UUID);
    expect(t.parent).toBeNull();
    expect(t.requiredRefs).toEqual([]);
    expect(t.canonical).toEqual({
      id: FOLDER_UUID,
      user_id: USER,
      name: 'Work 💼',
      parentId: null,
      path: '/Work',
      sortOrder: 3,
      color: '#ff8800',
      icon: 'briefcase',
      description: 'Job stuff',
      deleted: false,
      created_at: T1 * 1000,
      updated_at: T2 * 1000,
    });
  });

  it('applies defaults for NULL optional columns', () => {
    const c = foldersMapping.transform(
      folderRow({ color: null, icon: null, description: null, sort_order: null, deleted: 1 }),
      ctx,
    ).canonical;
    expect(c.color).toBeNull();
    expect(c.icon).toBeNull();
    expect(c.description).toBe('');
    expect(c.sortOrder).toBe(0);
    expect(c.deleted).toBe(true);
  });

  it('reports a parent for repair-or-link and applies it with withParent', () => {
    const t = foldersMapping.transform(folderRow({ id: 'child', parent_id: blob('inbox') }), ctx);
    expect(t.targetId).toBe(uuidV5('local_folders:child', NS));
    expect(t.canonical.parentId).toBeNull();
    expect(t.parent).toEqual({ sourceId: 'inbox', targetId: uuidV5('local_folders:inbox', NS), column: 'parent_id' });
    expect(foldersMapping.withParent!(t.canonical, t.parent!.targetId).parentId).toBe(
      uuidV5('local_folders:inbox', NS),
    );
    expect(t.canonical.parentId).toBeNull();
  });

  it.each([
    ['invalid UTF-8 name', { name: BAD_UTF8 }, 'INVALID_UTF8', 'name'],
    ['invalid UTF-8 path', { path: BAD_UTF8 }, 'INVALID_UTF8', 'path'],
    ['invalid UTF-8 parent_id', { parent_id: BAD_UTF8 }, 'INVALID_UTF8', 'parent_id'],
    ['invalid UTF-8 color', { color: BAD_UTF8 }, 'INVALID_UTF8', 'color'],
    ['invalid UTF-8 description', { description: BAD_UTF8 }, 'INVALID_UTF8', 'description'],
    ['NULL name', { name: null }, 'INVALID_VALUE', 'name'],
    ['NULL path', { path: null }, 'INVALID_VALUE', 'path'],
    ['sort_order as text', { sort_order: 'first' }, 'INVALID_VALUE', 'sort_order'],
    ['created_at in milliseconds', { created_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'created_at'],
    ['updated_at in milliseconds', { updated_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'updated_at'],
    ['deleted 5', { deleted: 5 }, 'INVALID_VALUE', 'deleted'],
  ])('rejects %s', (_name, override, reason, column) => {
    const r = rejection(() => foldersMapping.transform(folderRow(override), ctx));
    expect(r.reason).toBe(QuarantineReason[reason as keyof typeof QuarantineReason]);
    expect(r.column).toBe(column);
  });
});

describe('note_folders mapping (note_folders → note_folders)', () => {
  it('transforms a valid row and requires both the note and the folder', () => {
    const t = noteFoldersMapping.transform(noteFolderRow(), ctx);
    expect(t.sourceId).toBe(NOTE_UUID);
    expect(t.targetId).toBe(NOTE_UUID);
    expect(t.parent).toBeNull();
    expect(t.canonical).toEqual({ note_id: NOTE_UUID, user_id: USER, folder_id: FOLDER_UUID, added_at: T2 * 1000 });
    expect(t.requiredRefs).toEqual([
      { table: 'notes', sourceId: NOTE_UUID, targetId: NOTE_UUID, column: 'note_id' },
      { table: 'folders', sourceId: FOLDER_UUID, targetId: FOLDER_UUID, column: 'folder_id' },
    ]);
  });

  it('maps non-uuid note and folder ids the same way their own tables do', () => {
    const note = notesMapping.transform(noteRow({ id: 'n-1' }), ctx);
    const folder = foldersMapping.transform(folderRow({ id: 'f-1' }), ctx);
    const link = noteFoldersMapping.transform(noteFolderRow({ note_id: 'n-1', folder_id: blob('f-1') }), ctx);
    expect(link.canonical.note_id).toBe(note.targetId);
    expect(link.canonical.folder_id).toBe(folder.targetId);
    expect(link.targetId).toBe(note.targetId);
    expect(link.requiredRefs.map((r) => r.targetId)).toEqual([note.targetId, folder.targetId]);
  });

  it.each([
    ['invalid UTF-8 folder_id', { folder_id: BAD_UTF8 }, 'INVALID_UTF8', 'folder_id'],
    ['NULL folder_id', { folder_id: null }, 'INVALID_VALUE', 'folder_id'],
    ['added_at in milliseconds', { added_at: 1_700_000_000_000 }, 'TIMESTAMP_OUT_OF_RANGE', 'added_at'],
    ['added_at NULL', { added_at: null }, 'INVALID_VALUE', 'added_at'],
  ])('rejects %s', (_name, override, reason, column) => {
    const r = rejection(() => noteFoldersMapping.transform(noteFolderRow(override), ctx));
    expect(r.reason).toBe(QuarantineReason[reason as keyof typeof QuarantineReason]);
    expect(r.column).toBe(column);
  });
});

describe('encode → target row → decode round trip (real envelope Sealer)', () => {
  const master = new Uint8Array(randomBytes(32));
  const sealer = makeSealer(master);

  const notes: NoteRow[] = [
    notesMapping.transform(noteRow(), ctx).canonical,
    notesMapping.transform(
      noteRow({
        id: 'system_daily_standup',
        title: blob(''),
        body: blob(''),
        encrypted_metadata: null,
        is_pinned: 0,
        deleted: 1,
        note_type: 1,
      }),
      ctx,
    ).canonical,
    notesMapping.transform(
      noteRow({
        id: 'n-2',
        title: blob('漢字 "quotes" \\ back'),
        body: blob('x'.repeat(50_000)),
        encrypted_metadata: blob('{"z":1,"a":{"y":[3,2,1],"b":null},"n":-1.25e3}'),
      }),
      ctx,
    ).canonical,
    notesMapping.transform(
      noteRow({ id: 'n-3', encrypted_metadata: blob('[1,"two",true]'), updated_at: '2024-03-01T10:00:00.123Z' }),
      ctx,
    ).canonical,
  ];
  it.each(notes.map((c) => [c.id, c] as const))('notes %s', (_id, canonical) => {
    const decoded = roundTrip(notesMapping, canonical, sealer);
    expect(canonicalJson(decoded)).toBe(canonicalJson(canonical));
  });

  const tasks: TaskRow[] = [
    tasksMapping.transform(taskRow(), ctx).canonical,
    tasksMapping.transform(
      taskRow({
        id: 'task-2',
        note_id: blob('system_daily_standup'),
        status: 0,
        priority: null,
        due_date: null,
        completed_at: null,
        labels: null,
        position: null,
        deleted: 1,
      }),
      ctx,
    ).canonical,
    tasksMapping.transform(
      taskRow({
        id: 'task-3',
        status: 2,
        priority: 0,
        content: blob('中文 🎉 "q"'),
        labels: blob('["a",{"k":"v","b":[1]}]'),
      }),
      ctx,
    ).canonical,
  ];
  it.each(tasks.map((c) => [c.id, c] as const))('note_tasks %s', (_id, canonical) => {
    // parent_id is not in the insert (linked later); the target column is NULL right after it.
    const decoded = roundTrip(tasksMapping, canonical, sealer, { parent_id: null });
    expect(canonicalJson(decoded)).toBe(canonicalJson(canonical));
  });

  it('note_tasks with a linked parent (parent_id set by link_task_parents.sql)', () => {
    const t = tasksMapping.transform(taskRow({ id: 'task-4', parent_task_id: blob('task-3') }), ctx);
    const canonical = tasksMapping.withParent!(t.canonical, t.parent!.targetId);
    const decoded = roundTrip(tasksMapping, canonical, sealer, { parent_id: t.parent!.targetId });
    expect(canonicalJson(decoded)).toBe(canonicalJson(canonical));
  });

  const folders: FolderRow[] = [
    foldersMapping.transform(folderRow(), ctx).canonical,
    foldersMapping.transform(
      folderRow({
        id: 'inbox',
        color: null,
        icon: null,
        description: null,
        sort_order: null,
        deleted: 1,
        name: blob(''),
      }),
      ctx,
    ).canonical,
    (() => {
      const t = foldersMapping.transform(
        folderRow({
          id: 'child',
          parent_id: blob('inbox'),
          name: blob('Ünïcødé 文件夹'),
          path: blob('/Inbox/Ünïcødé'),
        }),
        ctx,
      );
      return foldersMapping.withParent!(t.canonical, t.parent!.targetId);
    })(),
  ];
  it.each(folders.map((c) => [c.id, c] as const))('folders %s', (_id, canonical) => {
    const decoded = roundTrip(foldersMapping, canonical, sealer);
    expect(canonicalJson(decoded)).toBe(canonicalJson(canonical));
  });

  const links: NoteFolderRow[] = [
    noteFoldersMapping.transform(noteFolderRow(), ctx).canonical,
    noteFoldersMapping.transform(
      noteFolderRow({ note_id: 'n-1', folder_id: blob('inbox'), added_at: '2024-03-01T10:00:00Z' }),
      ctx,
    ).canonical,
  ];
  it.each(links.map((c) => [c.note_id, c] as const))('note_folders %s', (_id, canonical) => {
    const decoded = roundTrip(noteFoldersMapping, canonical, sealer);
    expect(canonicalJson(decoded)).toBe(canonicalJson(canonical));
  });

  it('the whole-table checksum over decoded target rows equals the one over source canonicals', () => {
    const src = new ChecksumAccumulator();
    const dst = new ChecksumAccumulator();
    for (const c of notes) {
      src.add(canonicalJson(c));
      dst.add(canonicalJson(roundTrip(notesMapping, c, sealer)));
    }
    expect(dst.hex()).toBe(src.hex());
    expect(dst.count).toBe(notes.length);
  });

  it('notes: title and body are sealed per note id and hold no plaintext', () => {
    const c = notes[0]!;
    const encoded = notesMapping.encode(c, sealer);
    const row = pgRow(notesMapping as unknown as TableMapping, encoded, USER);
    const titleEnc = row.title_enc as Buffer;
    const propsEnc = row.props_enc as Buffer;
    expect(titleEnc.toString('utf8')).not.toContain('Groceries');
    expect(propsEnc.toString('utf8')).not.toContain('milk');
    expect(openString(deriveEntityKey(master, c.id), titleEnc)).toBe(c.title);
    expect(JSON.parse(openString(deriveEntityKey(master, c.id), propsEnc))).toEqual({ body: c.body });
    expect(() => openString(deriveEntityKey(master, notes[1]!.id), titleEnc)).toThrow(EnvelopeError);
    // The metadata column is jsonb, not encrypted; note_type is stored as its name.
    expect(row.encrypted_metadata).toEqual(c.metadata);
    expect(row.note_type).toBe('note');
  });

  it('folders: name and properties are sealed per folder id', () => {
    const c = folders[2]!;
    const row = pgRow(foldersMapping as unknown as TableMapping, foldersMapping.encode(c, sealer), USER);
    expect((row.name_enc as Buffer).toString('utf8')).not.toContain('文件夹');
    expect(JSON.parse(openString(deriveEntityKey(master, c.id), row.name_enc as Buffer))).toEqual({ name: c.name });
    expect(JSON.parse(openString(deriveEntityKey(master, c.id), row.props_enc as Buffer))).toEqual({
      parentId: c.parentId,
      path: c.path,
      sortOrder: c.sortOrder,
      color: c.color,
      icon: c.icon,
      description: c.description,
    });
  });

  it('tasks: status is stored as its name, timestamps as exact ISO text', () => {
    const c = tasks[0]!;
    const row = pgRow(tasksMapping as unknown as TableMapping, tasksMapping.encode(c, sealer), USER);
    expect(row.status).toBe('completed');
    expect((row.due_date as Date).getTime()).toBe(T2 * 1000);
    expect(row.labels).toEqual(['errand', 'home']);
  });

  it('decoding with another master key fails with EnvelopeError', () => {
    const other = makeSealer();
    const noteRowPg = pgRow(notesMapping as unknown as TableMapping, notesMapping.encode(notes[0]!, sealer), USER);
    expect(() => notesMapping.decode(noteRowPg, other)).toThrow(EnvelopeError);
    const folderRowPg = pgRow(
      foldersMapping as unknown as TableMapping,
      foldersMapping.encode(folders[0]!, sealer),
      USER,
    );
    expect(() => foldersMapping.decode(folderRowPg, other)).toThrow(EnvelopeError);
  });

  it('decode notices a changed value (the comparison can fail)', () => {
    const c = notes[0]!;
    const row = pgRow(notesMapping as unknown as TableMapping, notesMapping.encode(c, sealer), USER);
    row.is_pinned = !c.is_pinned;
    expect(canonicalJson(notesMapping.decode(row, sealer))).not.toBe(canonicalJson(c));
  });
});

describe('rows read by real better-sqlite3 from the Drift v12 schema', () => {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = OFF'); // rows with dangling references (parents, folders) are the point here
  db.exec(readFileSync(join(ROOT, 'sql', 'source', 'drift_v12.sql'), 'utf8'));
  db.prepare(
    `INSERT INTO local_notes (id, title, body, updated_at, deleted, encrypted_metadata, is_pinned, note_type) VALUES
     (?, 'Groceries 🛒', ?, ?, 0, '{"tags":["home"],"v":2}', 1, 0),
     ('system_daily_standup', '', '', '2024-03-01T10:00:00Z', 0, NULL, 0, 1),
     ('bad-utf8', ?, '', ?, 0, NULL, 0, 0)`,
  ).run(NOTE_UUID, '- milk\n- 茶', T1, BAD_UTF8, T1);
  db.prepare(
    `INSERT INTO note_tasks (id, note_id, content, status, priority, due_date, completed_at, position, content_hash, labels, parent_task_id, created_at, updated_at, deleted)
     VALUES ('task-1', 'system_daily_standup', 'Stand up', 2, 3, NULL, NULL, 1, 'h', '["a"]', 'task-0', ?, ?, 0)`,
  ).run(T1, T2);
  db.prepare(
    `INSERT INTO local_folders (id, name, parent_id, path, sort_order, color, icon, description, created_at, updated_at, deleted)
     VALUES ('child', 'Child', 'inbox', '/Inbox/Child', 2, NULL, 'star', 'd', ?, ?, 0)`,
  ).run(T1, T2);
  db.prepare(`INSERT INTO note_folders (note_id, folder_id, added_at) VALUES ('system_daily_standup', 'inbox', ?)`).run(
    T3,
  );

  const select = (m: TableMapping): Row[] =>
    db.prepare(`SELECT ${m.selectList} FROM ${m.sourceTable} ORDER BY ${m.keyColumn}`).all() as Row[];

  it('returns text columns as Buffer, integers as number, the key column as string', () => {
    const [note] = select(notesMapping as unknown as TableMapping).filter((r) => r.id === NOTE_UUID);
    expect(typeof note!.id).toBe('string');
    expect(Buffer.isBuffer(note!.title)).toBe(true);
    expect(Buffer.isBuffer(note!.encrypted_metadata)).toBe(true);
    expect(typeof note!.updated_at).toBe('number');
    expect(typeof note!.note_type).toBe('number');
  });

  it('transforms them as the hand-built rows above', () => {
    const rows = select(notesMapping as unknown as TableMapping);
    const byId = new Map(rows.map((r) => [r.id as string, r]));
    expect(notesMapping.transform(byId.get(NOTE_UUID)!, ctx).canonical).toEqual(
      notesMapping.transform(noteRow(), ctx).canonical,
    );
    const standup = notesMapping.transform(byId.get('system_daily_standup')!, ctx);
    expect(standup.targetId).toBe(uuidV5('local_notes:system_daily_standup', NS));
    expect(standup.canonical.updated_at).toBe(Date.UTC(2024, 2, 1, 10));
    expect(standup.canonical.note_type).toBe('template');
    const bad = rejection(() => notesMapping.transform(byId.get('bad-utf8')!, ctx));
    expect(bad.reason).toBe(QuarantineReason.INVALID_UTF8);
    expect(bad.column).toBe('title');

    const [task] = select(tasksMapping as unknown as TableMapping);
    const t = tasksMapping.transform(task!, ctx);
    expect(t.canonical).toMatchObject({
      note_id: standup.targetId,
      status: 'cancelled',
      priority: 3,
      labels: ['a'],
      position: 1,
      due_date: null,
    });
    expect(t.parent?.targetId).toBe(uuidV5('note_tasks:task-0', NS));

    const [folder] = select(foldersMapping as unknown as TableMapping);
    const f = foldersMapping.transform(folder!, ctx);
    expect(f.canonical).toMatchObject({
      name: 'Child',
      path: '/Inbox/Child',
      sortOrder: 2,
      color: null,
      icon: 'star',
      description: 'd',
    });
    expect(f.parent?.targetId).toBe(uuidV5('local_folders:inbox', NS));

    const [link] = select(noteFoldersMapping as unknown as TableMapping);
    const l = noteFoldersMapping.transform(link!, ctx);
    expect(l.canonical).toEqual({
      note_id: standup.targetId,
      user_id: USER,
      folder_id: uuidV5('local_folders:inbox', NS),
      added_at: T3 * 1000,
    });
  });
});
