// The physical limit: a plain COPY of the same source rows into tables of the source's shape (SQLite
// types mapped to PostgreSQL's), then the primary and foreign keys the target enforces, built after
// the load as a bulk loader would. No transform, encryption, validation, bridge or ledger: what the
// orchestrator costs is measured against this.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const TABLES = ['local_folders', 'local_notes', 'note_folders', 'note_tasks'];

/** The target's foreign keys (sql/target/001_notes_schema.sql) plus the source's folder tree, on the raw tables. */
const FOREIGN_KEYS: { table: string; column: string; references: string }[] = [
  { table: 'local_folders', column: 'parent_id', references: 'local_folders' },
  { table: 'note_folders', column: 'note_id', references: 'local_notes' },
  { table: 'note_folders', column: 'folder_id', references: 'local_folders' },
  { table: 'note_tasks', column: 'note_id', references: 'local_notes' },
  { table: 'note_tasks', column: 'parent_task_id', references: 'note_tasks' },
];

export interface CopyBaselineResult {
  rows: number;
  /** COPY of every table. */
  copyMs: number;
  /** Primary keys, then foreign keys (each validated over the loaded rows). */
  keysMs: number;
  /** copyMs + keysMs (plus table creation). */
  ms: number;
}

/** SQLite's declared column type → PostgreSQL's, by SQLite's affinity rules. */
export function pgType(declared: string): string {
  const t = declared.toUpperCase();
  if (t.includes('INT')) return 'bigint';
  if (t.includes('CHAR') || t.includes('CLOB') || t.includes('TEXT')) return 'text';
  if (t.includes('REAL') || t.includes('FLOA') || t.includes('DOUB')) return 'double precision';
  if (t === '' || t.includes('BLOB')) return 'bytea';
  return 'numeric';
}

function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return String(value)
    .replace(/\\/g, '\\\\')
    .replace(/\n/g, '\\n')
    .replace(/\r/g, '\\r')
    .replace(/\t/g, '\\t')
    .replace(/\u0000/g, '');
}

export async function copyBaseline(source: string, url: string): Promise<CopyBaselineResult> {
  const db = new Database(source, { readonly: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  let rows = 0;
  let copyMs = 0;
  let keysMs = 0;
  try {
    const primaryKeys: [string, string[]][] = [];
    await client.query(`DROP TABLE IF EXISTS ${TABLES.map((t) => `raw_${t}`).join(', ')} CASCADE`);
    for (const table of TABLES) {
      const columns = db.prepare('SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid').all(table) as {
        name: string;
        type: string;
        pk: number;
      }[];
      primaryKeys.push([
        table,
        columns
          .filter((c) => c.pk > 0)
          .sort((a, b) => a.pk - b.pk)
          .map((c) => c.name),
      ]);
      await client.query(
        `CREATE TABLE raw_${table} (${columns.map((c) => `"${c.name}" ${pgType(c.type)}`).join(', ')})`,
      );
      const iterator = db.prepare(`SELECT * FROM ${table}`).raw().iterate() as Iterable<unknown[]>;
      const lines = Readable.from(
        (function* () {
          for (const row of iterator) {
            rows++;
            yield `${row.map(copyText).join('\t')}\n`;
          }
        })(),
      );
      const t0 = Date.now();
      await pipeline(lines, client.query(copyFrom(`COPY raw_${table} FROM STDIN`)));
      copyMs += Date.now() - t0;
    }
    const t1 = Date.now();
    for (const [table, pk] of primaryKeys) {
      await client.query(`ALTER TABLE raw_${table} ADD PRIMARY KEY (${pk.map((c) => `"${c}"`).join(', ')})`);
    }
    for (const fk of FOREIGN_KEYS) {
      await client.query(
        `ALTER TABLE raw_${fk.table} ADD FOREIGN KEY ("${fk.column}") REFERENCES raw_${fk.references}`,
      );
    }
    keysMs = Date.now() - t1;
  } finally {
    await client.end();
    db.close();
  }
  return { rows, copyMs, keysMs, ms: Date.now() - started };
}
