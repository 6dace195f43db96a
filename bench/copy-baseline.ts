// The baseline: a plain COPY of the same source rows into same-shaped raw tables (no transform,
// no encryption, no validation, no bridge/ledger). What the orchestrator costs is measured against it.
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const TABLES = ['local_folders', 'local_notes', 'note_folders', 'note_tasks'];

function copyText(value: unknown): string {
  if (value === null || value === undefined) return '\\N';
  return String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t').replace(/\u0000/g, '');
}

export async function copyBaseline(source: string, url: string): Promise<{ rows: number; ms: number }> {
  const db = new Database(source, { readonly: true });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  let rows = 0;
  try {
    for (const table of TABLES) {
      const columns = (db.prepare('SELECT name FROM pragma_table_info(?)').all(table) as { name: string }[]).map((c) => c.name);
      await client.query(`DROP TABLE IF EXISTS raw_${table}; CREATE TABLE raw_${table} (${columns.map((c) => `"${c}" text`).join(', ')})`);
      const iterator = db.prepare(`SELECT * FROM ${table}`).raw().iterate() as Iterable<unknown[]>;
      const lines = Readable.from(
        (function* () {
          for (const row of iterator) {
            rows++;
            yield `${row.map(copyText).join('\t')}\n`;
          }
        })(),
      );
      await pipeline(lines, client.query(copyFrom(`COPY raw_${table} FROM STDIN`)));
    }
  } finally {
    await client.end();
    db.close();
  }
  return { rows, ms: Date.now() - started };
}
