// The chunk's target rows go to PostgreSQL by COPY (text format) into a session-local staging table,
// then one INSERT … SELECT … ON CONFLICT DO NOTHING RETURNING moves them into the app table: no giant
// array literals for the server to parse, and the digest of each row as written is taken from the
// same encoded values that are copied.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { DIGEST_COLUMNS, rowDigest, type ColumnKind } from './row-digest';
import type { TableMapping } from '../lib/mapping/types';
import { sqlFile } from '../infra/sql-files';

const STAGE_BATCH_CHARS = 1 << 20; // COPY data is sent in pieces of about 1 MiB

/** COPY text format: backslash, newline, carriage return and tab are escaped; NULL is \N. */
function copyEscape(s: string): string {
  return /[\\\n\r\t]/.test(s)
    ? s.replace(/[\\\n\r\t]/g, (c) => (c === '\\' ? '\\\\' : c === '\n' ? '\\n' : c === '\r' ? '\\r' : '\\t'))
    : s;
}

function copyField(kind: ColumnKind, v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  switch (kind) {
    case 'bytea':
      return `\\\\x${(Buffer.isBuffer(v) ? v : Buffer.from(v as Uint8Array)).toString('hex')}`;
    case 'bool':
      return v ? 't' : 'f';
    case 'int':
      return String(v);
    default:
      return copyEscape(String(v));
  }
}

/** Column kinds of the staging table: the digest columns without user_id (the insert adds it). */
function stageKinds(mapping: TableMapping): ColumnKind[] {
  const [id, , ...rest] = DIGEST_COLUMNS[mapping.targetTable];
  return [id!, ...rest];
}

/** Sessions known to hold a staging table: created outside a transaction, so no rollback drops it. */
const staged = new WeakMap<pg.ClientBase, Set<string>>();

/**
 * Creates this session's staging table of the mapping's target table if it is not there yet. Called
 * outside a transaction (`outsideTransaction`), the table is remembered for the session and later calls cost
 * no round trip; inside one, a rollback may drop it again, so it is not remembered.
 */
export async function ensureStage(
  client: pg.ClientBase,
  mapping: TableMapping,
  outsideTransaction = false,
): Promise<void> {
  const tables = staged.get(client);
  if (tables?.has(mapping.targetTable)) return;
  await client.query(sqlFile(`queries/stage_${mapping.targetTable}.sql`));
  if (!outsideTransaction) return;
  if (tables) tables.add(mapping.targetTable);
  else staged.set(client, new Set([mapping.targetTable]));
}

export interface StagedInsert {
  /** Target ids this statement inserted. */
  inserted: Set<string>;
  /** Digest (activities/row-digest.ts) of each inserted row as written. */
  digests: Map<string, bigint>;
}

/**
 * COPYs the encoded rows into the staging table (ensureStage first) and inserts them into the app
 * table; the staging table is drained by the insert. Throws PostgreSQL's error for a refused row.
 */
export async function copyAndInsert(
  client: pg.ClientBase,
  schema: string,
  mapping: TableMapping,
  encoded: unknown[][],
  userId: string,
): Promise<StagedInsert> {
  if (encoded.length === 0) return { inserted: new Set(), digests: new Map() };
  const kinds = stageKinds(mapping);
  // COPY text made lazily, ~1 MiB at a time: a chunk of large rows never exists twice as one string.
  function* copyData(): Generator<Buffer> {
    let buf = '';
    for (const row of encoded) {
      for (let i = 0; i < kinds.length; i++) buf += (i ? '\t' : '') + copyField(kinds[i]!, row[i]);
      buf += '\n';
      if (buf.length >= STAGE_BATCH_CHARS) {
        yield Buffer.from(buf, 'utf8');
        buf = '';
      }
    }
    if (buf) yield Buffer.from(buf, 'utf8');
  }
  const stream = client.query(
    copyFrom(sqlFile('queries/copy_stage.sql', { stage: `migrator_stage_${mapping.targetTable}` })),
  );
  await pipeline(Readable.from(copyData()), stream);
  const { rows } = await client.query<{ id: string }>(
    sqlFile(`queries/insert_${mapping.targetTable}.sql`, { schema }),
    [userId],
  );
  const inserted = new Set(rows.map((r) => r.id));
  const digestKinds = DIGEST_COLUMNS[mapping.targetTable];
  const digests = new Map<string, bigint>();
  for (const row of encoded) {
    const id = String(row[0]).toLowerCase();
    // A second row with an id already digested (a duplicate within the batch) was not the one written.
    if (inserted.has(id) && !digests.has(id))
      digests.set(id, rowDigest(digestKinds, [row[0], userId, ...row.slice(1)]));
  }
  return { inserted, digests };
}
