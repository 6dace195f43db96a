// Rollback never removes or changes a row it did not create. The target's foreign keys are
// ON DELETE CASCADE / SET NULL, so deleting a note this run created would also delete (or orphan)
// a task, a folder link or a row of a table the migrator does not know that the app attached to it
// during the run. Before deleting, find every foreign key (any schema) that references the table,
// and count referencing rows that are not the run's own; any such row blocks the rollback.
import type pg from 'pg';
import { qualified, quoteIdent, sqlFile } from '../infra/sql-files';
import type { TableMapping } from '../lib/mapping/types';

export interface Dependents {
  /** Where the referencing rows are, e.g. `"public"."note_tasks"(note_id)`, and what deleting would do. */
  where: string;
  rows: number;
  onDelete: string;
}

const ACTIONS: Record<string, string> = {
  a: 'NO ACTION',
  r: 'RESTRICT',
  c: 'CASCADE',
  n: 'SET NULL',
  d: 'SET DEFAULT',
};
const quote = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The run-created keys of one table (hot bridge rows and archived ones). */
export async function runCreatedIds(
  db: pg.Pool | pg.PoolClient,
  schema: string,
  m: TableMapping,
  input: { userId: string; runId: string },
): Promise<string[]> {
  const ids: string[] = [];
  for (const [file, table] of [
    ['queries/run_created_ids.sql', qualified(schema, m.bridgeTable)],
    ['queries/archived_run_created_ids.sql', `migration_archive.${m.bridgeTable}`],
  ] as const) {
    const present = (await db.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [table])).rows[0]!
      .present;
    if (!present) continue;
    const { rows } = await db.query<{ id: string }>(
      sqlFile(file, { schema: quoteIdent(schema), bridge: m.bridgeTable }),
      [input.userId, input.runId],
    );
    // One by one: spreading a large user's keys as call arguments overflows the stack (~120,000).
    for (const r of rows) ids.push(r.id);
  }
  return ids;
}

/**
 * Rows that reference `ids` (keys of the mapping's target table) through any foreign key and that
 * the run did not create. `created` holds the run's own keys per mapped target table (its tasks
 * under its notes, its folder links) which go with it.
 */
export async function foreignDependents(
  db: pg.Pool | pg.PoolClient,
  schema: string,
  m: TableMapping,
  ids: string[],
  created: Map<string, { key: string; ids: string[] }>,
): Promise<Dependents[]> {
  if (ids.length === 0) return [];
  const fks = (
    await db.query<{ schema: string; table: string; columns: string[]; on_delete: string }>(
      sqlFile('queries/referencing_foreign_keys.sql'),
      [qualified(schema, m.targetTable)],
    )
  ).rows;
  const found: Dependents[] = [];
  for (const fk of fks) {
    const referencing = `${quote(fk.schema)}.${quote(fk.table)}`;
    const where = `${referencing}(${fk.columns.join(', ')})`;
    const onDelete = ACTIONS[fk.on_delete] ?? fk.on_delete;
    if (fk.columns.length !== 1) {
      // A multi-column key into a uuid key column cannot be checked by value here: refuse to guess.
      found.push({ where, rows: -1, onDelete });
      continue;
    }
    const column = quote(fk.columns[0]!);
    const own = fk.schema === schema ? created.get(fk.table) : undefined;
    const n = own
      ? (
          await db.query<{ n: number }>(
            sqlFile('queries/count_dependents_except.sql', { referencing, column, key: quote(own.key) }),
            [ids, own.ids],
          )
        ).rows[0]!.n
      : (await db.query<{ n: number }>(sqlFile('queries/count_dependents.sql', { referencing, column }), [ids]))
          .rows[0]!.n;
    if (n > 0) found.push({ where, rows: n, onDelete });
  }
  return found;
}

export function describeDependents(table: string, found: Dependents[]): string {
  return found
    .map(
      (d) =>
        `${d.rows < 0 ? 'a multi-column foreign key' : `${d.rows} row(s)`} in ${d.where} (ON DELETE ${d.onDelete}) reference ${table} rows this run created`,
    )
    .join('; ');
}
