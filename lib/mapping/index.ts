// The notes-app mapping, in foreign-key order: a table's required references are always
// migrated before it.
import type { SourceTable } from '../ids';
import { foldersMapping } from './folders';
import { noteFoldersMapping } from './note-folders';
import { notesMapping } from './notes';
import { tasksMapping } from './tasks';
import type { TableMapping } from './types';

export const TABLE_ORDER: readonly SourceTable[] = ['local_folders', 'local_notes', 'note_folders', 'note_tasks'];

export const MAPPINGS: Record<SourceTable, TableMapping> = {
  local_folders: foldersMapping as unknown as TableMapping,
  local_notes: notesMapping as unknown as TableMapping,
  note_folders: noteFoldersMapping as unknown as TableMapping,
  note_tasks: tasksMapping as unknown as TableMapping,
};

export function mappingFor(table: string): TableMapping {
  const mapping = MAPPINGS[table as SourceTable];
  if (!mapping) throw new Error(`no mapping for source table ${table}`);
  return mapping;
}
