// note_tasks → note_tasks. Content stays plaintext (as the migration plan says). parent_id is
// inserted NULL and linked after every chunk of the table committed, so parents in later chunks
// and parent cycles load (the self-reference is deferred).
import { targetId } from '../ids';
import { QuarantineReason } from '../reasons';
import type { TableMapping } from './types';
import {
  bool,
  int,
  intEnum,
  optionalJson,
  optionalText,
  optionalTime,
  pgSafe,
  RowRejection,
  text,
  time,
} from './values';
import { iso, jsonText, millis, optionalMillis } from './target-values';

export const TASK_STATUSES = ['pending', 'completed', 'cancelled'] as const;
export const TASK_PRIORITIES = [0, 1, 2, 3] as const;

export interface TaskRow {
  [k: string]: unknown;
  id: string;
  user_id: string;
  note_id: string;
  content: string;
  status: (typeof TASK_STATUSES)[number];
  priority: number;
  due_date: number | null;
  completed_at: number | null;
  created_at: number;
  updated_at: number;
  parent_id: string | null;
  labels: unknown;
  position: number;
  deleted: boolean;
}

export const tasksMapping: TableMapping<TaskRow> = {
  sourceTable: 'note_tasks',
  targetTable: 'note_tasks',
  bridgeTable: 'schema_bridge_tasks',
  keyColumn: 'id',
  targetKeyColumn: 'id',
  selectList:
    'id, CAST(note_id AS BLOB) AS note_id, CAST(content AS BLOB) AS content, status, priority, due_date, completed_at, position, CAST(labels AS BLOB) AS labels, CAST(parent_task_id AS BLOB) AS parent_task_id, created_at, updated_at, deleted',
  coveredColumns: [
    'id',
    'note_id',
    'content',
    'status',
    'priority',
    'due_date',
    'completed_at',
    'position',
    'labels',
    'parent_task_id',
    'created_at',
    'updated_at',
    'deleted',
  ],
  timeFields: ['due_date', 'completed_at', 'created_at', 'updated_at'],
  transform(row, ctx) {
    const sourceId = text(row, 'id');
    const id = targetId('note_tasks', sourceId, ctx.userId);
    const noteSource = text(row, 'note_id');
    const noteId = targetId('local_notes', noteSource, ctx.userId);
    const labels = optionalJson(row, 'labels');
    if (labels !== null && !Array.isArray(labels)) throw new RowRejection(QuarantineReason.INVALID_JSON, 'labels');
    const priority = int(row, 'priority', 1);
    if (!(TASK_PRIORITIES as readonly number[]).includes(priority))
      throw new RowRejection(QuarantineReason.INVALID_ENUM, 'priority');
    const parentSource = optionalText(row, 'parent_task_id');
    return {
      sourceId,
      targetId: id,
      requiredRefs: [{ table: 'notes', sourceId: noteSource, targetId: noteId, column: 'note_id' }],
      parent:
        parentSource === null
          ? null
          : {
              sourceId: parentSource,
              targetId: targetId('note_tasks', parentSource, ctx.userId),
              column: 'parent_task_id',
            },
      canonical: {
        id,
        user_id: ctx.userId,
        note_id: noteId,
        content: pgSafe(text(row, 'content'), 'content'),
        status: intEnum(row, 'status', TASK_STATUSES, 0),
        priority,
        due_date: optionalTime(row, 'due_date', ctx.asOfSeconds),
        completed_at: optionalTime(row, 'completed_at', ctx.asOfSeconds),
        created_at: time(row, 'created_at', ctx.asOfSeconds),
        updated_at: time(row, 'updated_at', ctx.asOfSeconds),
        parent_id: null,
        labels,
        position: int(row, 'position', 0),
        deleted: bool(row, 'deleted'),
      },
    };
  },
  withParent: (c, parentId) => ({ ...c, parent_id: parentId }),
  encode(c) {
    return [
      c.id,
      c.note_id,
      c.content,
      c.status,
      c.priority,
      iso(c.due_date),
      iso(c.completed_at),
      c.position,
      jsonText(c.labels),
      c.deleted,
      iso(c.created_at),
      iso(c.updated_at),
    ];
  },
  decode(r) {
    return {
      id: String(r.id),
      user_id: String(r.user_id),
      note_id: String(r.note_id),
      content: String(r.content),
      status: r.status as TaskRow['status'],
      priority: Number(r.priority),
      due_date: optionalMillis(r.due_date),
      completed_at: optionalMillis(r.completed_at),
      created_at: millis(r.created_at),
      updated_at: millis(r.updated_at),
      parent_id: r.parent_id === null ? null : String(r.parent_id),
      labels: r.labels ?? null,
      position: Number(r.position),
      deleted: Boolean(r.deleted),
    };
  },
};
