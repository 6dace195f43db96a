// Several small statements of a chunk transaction in one round trip. The extended query protocol
// (bind parameters) carries one statement per message, so the chunk's opening (BEGIN, the lease's
// fencing check, the chunk lock, the ledger look-up) cost four round trips, and its close (ledger
// row, COMMIT) two: on a loaded machine 5-8 ms each, for every chunk. Sent as one simple-query
// message they cost one. The values are inlined as literals by the driver's own escaping
// (escapeLiteral: quotes doubled, E'' when a backslash appears), never by hand, and each file keeps
// its $n placeholders so it still reads as the statement it is.
// In a simple-query message PostgreSQL runs the statements in order, each with a fresh snapshot
// (READ COMMITTED), and skips the rest after the first error: a failed ledger insert never reaches
// its COMMIT.
import type pg from 'pg';
import { sqlFile } from '../infra/sql-files';

export type Literal = string | number | null;

export interface BatchPart {
  file: string;
  params: Literal[];
}

function literal(client: pg.ClientBase, v: Literal): string {
  if (v === null) return 'NULL';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot inline ${v} as a SQL literal`);
    return String(v);
  }
  return client.escapeLiteral(v);
}

/** `text` with its $n placeholders replaced by literals (for statement text holding no $n elsewhere). */
export function inlineLiterals(client: pg.ClientBase, text: string, params: Literal[], what = 'statement'): string {
  const out = text.replace(/\$(\d+)/g, (_, n: string) => {
    const i = Number(n) - 1;
    if (i >= params.length) throw new Error(`${what}: no value for $${n}`);
    return literal(client, params[i]!);
  });
  return out.trimEnd().endsWith(';') ? out : `${out.trimEnd()};`;
}

/** One SQL file's statement with its $n placeholders replaced by literals. */
export function inlined(client: pg.ClientBase, file: string, params: Literal[]): string {
  return inlineLiterals(client, sqlFile(file), params, `sql/${file}`);
}

/**
 * Runs the parts (and plain statements such as 'BEGIN', 'COMMIT') as one message; returns each
 * statement's rows in order (a plain statement's rows are empty).
 */
export async function batched(
  client: pg.ClientBase,
  parts: (BatchPart | 'BEGIN' | 'COMMIT')[],
): Promise<Record<string, unknown>[][]> {
  const text = parts.map((p) => (typeof p === 'string' ? `${p};` : inlined(client, p.file, p.params))).join('\n');
  const result = (await client.query(text)) as unknown as pg.QueryResult | pg.QueryResult[];
  const results = Array.isArray(result) ? result : [result];
  if (results.length !== parts.length)
    throw new Error(
      `batched statements: ${parts.length} sent, ${results.length} results (a file holds more than one?)`,
    );
  return results.map((r) => r.rows as Record<string, unknown>[]);
}
