// local_notes → notes. Title and body are encrypted; v12 notes have no created_at, so
// created_at = updated_at.
import { targetId } from '../ids';
import type { TableMapping } from './types';
import { bool, intEnum, optionalJson, text, time } from './values';
import { iso, jsonText, millis } from './target-values';

export const NOTE_TYPES = ['note', 'template'] as const;

export interface NoteRow {
  [k: string]: unknown;
  id: string;
  user_id: string;
  title: string;
  body: string;
  metadata: unknown;
  is_pinned: boolean;
  deleted: boolean;
  note_type: (typeof NOTE_TYPES)[number];
  created_at: number;
  updated_at: number;
}

export const notesMapping: TableMapping<NoteRow> = {
  sourceTable: 'local_notes',
  targetTable: 'notes',
  bridgeTable: 'schema_bridge_notes',
  keyColumn: 'id',
  targetKeyColumn: 'id',
  selectList:
    'id, CAST(title AS BLOB) AS title, CAST(body AS BLOB) AS body, updated_at, deleted, CAST(encrypted_metadata AS BLOB) AS encrypted_metadata, is_pinned, note_type',
  coveredColumns: ['id', 'title', 'body', 'updated_at', 'deleted', 'encrypted_metadata', 'is_pinned', 'note_type'],
  timeFields: ['created_at', 'updated_at'],
  transform(row, ctx) {
    const sourceId = text(row, 'id');
    const id = targetId('local_notes', sourceId, ctx.userId);
    const updatedAt = time(row, 'updated_at', ctx.asOfSeconds);
    return {
      sourceId,
      targetId: id,
      requiredRefs: [],
      parent: null,
      canonical: {
        id,
        user_id: ctx.userId,
        title: text(row, 'title'),
        body: text(row, 'body'),
        metadata: optionalJson(row, 'encrypted_metadata'),
        is_pinned: bool(row, 'is_pinned'),
        deleted: bool(row, 'deleted'),
        note_type: intEnum(row, 'note_type', NOTE_TYPES, 0),
        created_at: updatedAt,
        updated_at: updatedAt,
      },
    };
  },
  encode(c, sealer) {
    return [
      c.id,
      sealer.seal(c.id, c.title),
      sealer.seal(c.id, JSON.stringify({ body: c.body })),
      jsonText(c.metadata),
      c.is_pinned,
      c.note_type,
      c.deleted,
      iso(c.created_at),
      iso(c.updated_at),
    ];
  },
  decode(r, sealer) {
    const id = String(r.id);
    const props = JSON.parse(sealer.open(id, r.props_enc as Uint8Array)) as { body: string };
    return {
      id,
      user_id: String(r.user_id),
      title: sealer.open(id, r.title_enc as Uint8Array),
      body: props.body,
      metadata: r.encrypted_metadata ?? null,
      is_pinned: Boolean(r.is_pinned),
      deleted: Boolean(r.deleted),
      note_type: r.note_type as NoteRow['note_type'],
      created_at: millis(r.created_at),
      updated_at: millis(r.updated_at),
    };
  },
};
