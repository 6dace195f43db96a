// note_folders → note_folders: both sides mapped; a missing note or folder quarantines the row.
import { targetId } from '../ids';
import type { TableMapping } from './types';
import { text, time } from './values';
import { iso, millis } from './target-values';

export interface NoteFolderRow {
  [k: string]: unknown;
  note_id: string;
  user_id: string;
  folder_id: string;
  added_at: number;
}

export const noteFoldersMapping: TableMapping<NoteFolderRow> = {
  sourceTable: 'note_folders',
  targetTable: 'note_folders',
  bridgeTable: 'schema_bridge_note_folders',
  keyColumn: 'note_id',
  targetKeyColumn: 'note_id',
  selectList: 'note_id, CAST(folder_id AS BLOB) AS folder_id, added_at',
  coveredColumns: ['note_id', 'folder_id', 'added_at'],
  timeFields: ['added_at'],
  transform(row, ctx) {
    const sourceId = text(row, 'note_id');
    const noteId = targetId('local_notes', sourceId, ctx.userId);
    const folderSource = text(row, 'folder_id');
    const folderId = targetId('local_folders', folderSource, ctx.userId);
    return {
      sourceId,
      targetId: noteId,
      parent: null,
      requiredRefs: [
        { table: 'notes', sourceId, targetId: noteId, column: 'note_id' },
        { table: 'folders', sourceId: folderSource, targetId: folderId, column: 'folder_id' },
      ],
      canonical: {
        note_id: noteId,
        user_id: ctx.userId,
        folder_id: folderId,
        added_at: time(row, 'added_at', ctx.asOfSeconds),
      },
    };
  },
  encode: (c) => [c.note_id, c.folder_id, iso(c.added_at)],
  decode: (r) => ({
    note_id: String(r.note_id),
    user_id: String(r.user_id),
    folder_id: String(r.folder_id),
    added_at: millis(r.added_at),
  }),
};
