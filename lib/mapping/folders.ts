// local_folders → folders. Name and every other property are encrypted; parentId is mapped and,
// when the parent is missing or quarantined, set to null (the row is recorded as `repaired`).
import { targetId } from '../ids';
import type { TableMapping } from './types';
import { bool, int, optionalText, text, time } from './values';
import { iso, millis } from './target-values';

export interface FolderRow {
  [k: string]: unknown;
  id: string;
  user_id: string;
  name: string;
  parentId: string | null;
  path: string;
  sortOrder: number;
  color: string | null;
  icon: string | null;
  description: string;
  deleted: boolean;
  created_at: number;
  updated_at: number;
}

export const foldersMapping: TableMapping<FolderRow> = {
  sourceTable: 'local_folders',
  targetTable: 'folders',
  bridgeTable: 'schema_bridge_folders',
  keyColumn: 'id',
  targetKeyColumn: 'id',
  selectList:
    'id, CAST(name AS BLOB) AS name, CAST(parent_id AS BLOB) AS parent_id, CAST(path AS BLOB) AS path, sort_order, CAST(color AS BLOB) AS color, CAST(icon AS BLOB) AS icon, CAST(description AS BLOB) AS description, created_at, updated_at, deleted',
  coveredColumns: [
    'id',
    'name',
    'parent_id',
    'path',
    'sort_order',
    'color',
    'icon',
    'description',
    'created_at',
    'updated_at',
    'deleted',
  ],
  timeFields: ['created_at', 'updated_at'],
  transform(row, ctx) {
    const sourceId = text(row, 'id');
    const id = targetId('local_folders', sourceId, ctx.userId);
    const parentSource = optionalText(row, 'parent_id');
    return {
      sourceId,
      targetId: id,
      requiredRefs: [],
      parent:
        parentSource === null
          ? null
          : {
              sourceId: parentSource,
              targetId: targetId('local_folders', parentSource, ctx.userId),
              column: 'parent_id',
            },
      canonical: {
        id,
        user_id: ctx.userId,
        name: text(row, 'name'),
        parentId: null,
        path: text(row, 'path'),
        sortOrder: int(row, 'sort_order', 0),
        color: optionalText(row, 'color'),
        icon: optionalText(row, 'icon'),
        description: optionalText(row, 'description') ?? '',
        deleted: bool(row, 'deleted'),
        created_at: time(row, 'created_at', ctx.asOfSeconds),
        updated_at: time(row, 'updated_at', ctx.asOfSeconds),
      },
    };
  },
  withParent: (c, parentId) => ({ ...c, parentId }),
  encode(c, sealer) {
    const props = {
      parentId: c.parentId,
      path: c.path,
      sortOrder: c.sortOrder,
      color: c.color,
      icon: c.icon,
      description: c.description,
    };
    return [
      c.id,
      sealer.seal(c.id, JSON.stringify({ name: c.name })),
      sealer.seal(c.id, JSON.stringify(props)),
      c.deleted,
      iso(c.created_at),
      iso(c.updated_at),
    ];
  },
  decode(r, sealer) {
    const id = String(r.id);
    const name = JSON.parse(sealer.open(id, r.name_enc as Uint8Array)) as { name: string };
    const props = JSON.parse(sealer.open(id, r.props_enc as Uint8Array)) as Pick<
      FolderRow,
      'parentId' | 'path' | 'sortOrder' | 'color' | 'icon' | 'description'
    >;
    return {
      id,
      user_id: String(r.user_id),
      name: name.name,
      parentId: props.parentId,
      path: props.path,
      sortOrder: props.sortOrder,
      color: props.color,
      icon: props.icon,
      description: props.description,
      deleted: Boolean(r.deleted),
      created_at: millis(r.created_at),
      updated_at: millis(r.updated_at),
    };
  },
};
