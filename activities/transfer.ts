// The transfer phase's chunk work. A chunk is a keyset range (lo, hi] over the source primary key.
// transferChunk reads, transforms and validates its rows, then writes target rows, bridge rows,
// quarantine rows and its ledger row in ONE PostgreSQL transaction; the ledger's key makes any
// retry a no-op. Only ids, counts and a checksum go back to the workflow.
import { heartbeat, log } from '@temporalio/activity';
import type pg from 'pg';
import { canonicalJson, ChecksumAccumulator } from '../lib/checksum';
import { SourceError } from '../lib/errors';
import { mappingFor } from '../lib/mapping';
import type { Sealer, TableMapping } from '../lib/mapping/types';
import { TargetRejection, QuarantineReason } from '../lib/reasons';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { prepareRows, sourceRefLookup, targetRefLookup, type Prepared, type Rejected } from './prepare-rows';
import { assertLeaseHeld } from './lease';
import { recordChunk } from './metrics';
import { withSource, withSourceAsync } from './source';

export interface ChunkBounds {
  /** Exclusive lower bound; null = from the first row. */
  lo: string | null;
  /** Inclusive upper bound. */
  hi: string;
}

export interface PlanChunksInput {
  source: string;
  table: string;
  after: string | null;
  chunkRows: number;
  maxChunks: number;
}

export interface TransferChunkInput extends ChunkBounds {
  runId: string;
  source: string;
  target: string;
  keyring: string;
  userId: string;
  table: string;
  asOfSeconds: number;
  dryRun: boolean;
}

export interface ChunkResult {
  read: number;
  migrated: number;
  inserted: number;
  quarantined: number;
  repaired: number;
  checksum: string;
  /** True when the ledger already held this chunk (a retry or a resumed run): nothing was written. */
  replayed: boolean;
}

type OkRow = Prepared['ok'][number];

function readChunk(input: TransferChunkInput, mapping: TableMapping) {
  return withSource(input.source, (db) => {
    const key = mapping.keyColumn;
    return db
      .prepare(`SELECT ${mapping.selectList} FROM ${mapping.sourceTable} WHERE (? IS NULL OR ${key} > ?) AND ${key} <= ? ORDER BY ${key}`)
      .all(input.lo, input.lo, input.hi) as Record<string, unknown>[];
  });
}

/** Column arrays for the unnest() insert: one array per target column. */
function columns(rows: OkRow[], mapping: TableMapping, sealer: Sealer): unknown[][] {
  const encoded = rows.map((r) => mapping.encode(r.canonical, sealer));
  const width = encoded[0]?.length ?? 0;
  return Array.from({ length: width }, (_, i) => encoded.map((e) => e[i]));
}

async function insertTargetRows(client: pg.ClientBase, mapping: TableMapping, rows: OkRow[], sealer: Sealer, userId: string): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const [ids, ...rest] = columns(rows, mapping, sealer);
  const { rows: inserted } = await client.query<{ id: string }>(sqlFile(`queries/insert_${mapping.targetTable}.sql`), [ids, userId, ...rest]);
  return new Set(inserted.map((r) => r.id));
}

/**
 * Inserts the chunk's rows; if PostgreSQL refuses one (a data or constraint error the mapping
 * did not foresee), retries row by row under savepoints so only that row is quarantined and a
 * poison row never makes the chunk retry forever.
 */
async function insertIsolating(client: pg.ClientBase, mapping: TableMapping, rows: OkRow[], sealer: Sealer, userId: string) {
  await client.query('SAVEPOINT chunk_rows');
  try {
    return { inserted: await insertTargetRows(client, mapping, rows, sealer, userId), refused: [] as Rejected[] };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!/^2[23]/.test(code)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT chunk_rows');
  }
  const inserted = new Set<string>();
  const refused: Rejected[] = [];
  for (const row of rows) {
    await client.query('SAVEPOINT one_row');
    try {
      for (const id of await insertTargetRows(client, mapping, [row], sealer, userId)) inserted.add(id);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!/^2[23]/.test(code)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT one_row');
      refused.push({ sourceId: row.sourceId, targetId: row.targetId, reason: TargetRejection.TARGET_REJECTED, detail: `sqlstate=${code}` });
    }
  }
  return { inserted, refused };
}

export function createTransferActivities(deps: ActivityDeps) {
  return {
    /** Up to `maxChunks` chunk bounds after `after`, each `chunkRows` source keys wide. */
    async planChunks(input: PlanChunksInput): Promise<{ chunks: ChunkBounds[]; done: boolean }> {
      const mapping = mappingFor(input.table);
      const key = mapping.keyColumn;
      return withSource(input.source, (db) => {
        const nth = db.prepare(`SELECT ${key} AS k FROM ${mapping.sourceTable} WHERE (? IS NULL OR ${key} > ?) ORDER BY ${key} LIMIT 1 OFFSET ?`);
        const last = db.prepare(`SELECT max(${key}) AS k FROM ${mapping.sourceTable} WHERE (? IS NULL OR ${key} > ?)`);
        const chunks: ChunkBounds[] = [];
        let lo = input.after;
        while (chunks.length < input.maxChunks) {
          const row = nth.get(lo, lo, input.chunkRows - 1) as { k: string } | undefined;
          const hi = row?.k ?? (last.get(lo, lo) as { k: string | null }).k;
          if (hi === null || hi === undefined) return { chunks, done: true };
          if (lo !== null && String(hi) <= lo) {
            // A key that is not valid UTF-8 comes back with U+FFFD and no longer sorts where its bytes
            // do: keyset pagination cannot make progress. Fail clearly instead of looping.
            throw new SourceError('INTEGRITY', `${mapping.sourceTable}: source keys do not sort consistently after ${JSON.stringify(lo)} (a key that is not valid UTF-8?); fix the source file`);
          }
          chunks.push({ lo, hi: String(hi) });
          if (!row) return { chunks, done: true };
          lo = String(hi);
        }
        return { chunks, done: false };
      });
    },

    async transferChunk(input: TransferChunkInput): Promise<ChunkResult> {
      const mapping = mappingFor(input.table);
      const started = Date.now();
      const ctx = { userId: input.userId, asOfSeconds: input.asOfSeconds };
      const rows = readChunk(input, mapping);
      heartbeat({ table: input.table, phase: 'read', rows: rows.length });
      if (input.dryRun) {
        const prepared = await withSourceAsync(input.source, (db) => prepareRows(db, mapping, rows, ctx, sourceRefLookup(db, ctx)));
        return summarize(rows.length, prepared.ok, prepared.rejected, 0, false);
      }
      const sealer = deps.sealer(input.keyring, input.userId);
      // Ledger key of the lower bound: '' = from the start; a real key is prefixed so a source key '' cannot collide.
      const lo = input.lo === null ? '' : `>${input.lo}`;
      const client = await deps.pool(input.target).connect();
      try {
        await client.query('BEGIN');
        await assertLeaseHeld(client, input.runId);
        await client.query(sqlFile('queries/lock_chunk.sql'), [input.runId, input.table, lo]);
        const done = await client.query(sqlFile('queries/select_ledger.sql'), [input.runId, input.table, lo]);
        if (done.rows[0]) {
          await client.query('COMMIT');
          const r = done.rows[0] as Record<string, number | string>;
          return {
            read: Number(r.rows_read),
            migrated: Number(r.rows_migrated),
            inserted: Number(r.rows_inserted),
            quarantined: Number(r.rows_quarantined),
            repaired: Number(r.rows_repaired),
            checksum: String(r.checksum),
            replayed: true,
          };
        }
        const prepared = await withSourceAsync(input.source, (db) => prepareRows(db, mapping, rows, ctx, targetRefLookup(client, input.userId)));
        heartbeat({ table: input.table, phase: 'write', rows: rows.length });
        const { inserted, refused } = await insertIsolating(client, mapping, prepared.ok, sealer, input.userId);
        const rejected = [...prepared.rejected, ...refused];
        const refusedIds = new Set(refused.map((r) => r.sourceId));
        let ok = prepared.ok.filter((r) => !refusedIds.has(r.sourceId));
        // Rows not inserted already existed: fine when this user owns them (a re-run), a conflict otherwise.
        const notInserted = ok.filter((r) => !inserted.has(r.targetId)).map((r) => r.targetId);
        if (notInserted.length) {
          const owners = await client.query<{ id: string; user_id: string }>(
            sqlFile('queries/select_owned_ids.sql', { table: mapping.targetTable, key: mapping.targetKeyColumn }),
            [notInserted],
          );
          const foreign = new Set(owners.rows.filter((o) => o.user_id !== input.userId).map((o) => o.id));
          for (const r of ok.filter((row) => foreign.has(row.targetId))) {
            rejected.push({ sourceId: r.sourceId, targetId: r.targetId, reason: QuarantineReason.ID_CONFLICT, detail: 'column=id' });
          }
          ok = ok.filter((r) => !foreign.has(r.targetId));
        }
        await writeBridge(client, mapping, input, ok, rejected, inserted);
        if (rejected.length) {
          await client.query(sqlFile('queries/insert_quarantine.sql'), [
            input.runId,
            input.userId,
            input.table,
            rejected.map((r) => r.sourceId),
            rejected.map((r) => r.reason),
            rejected.map((r) => r.detail),
          ]);
        }
        const result = summarize(rows.length, ok, rejected, inserted.size, false);
        await client.query(sqlFile('queries/insert_ledger.sql'), [
          input.runId,
          input.userId,
          input.table,
          lo,
          input.hi,
          result.read,
          result.migrated,
          result.inserted,
          result.quarantined,
          result.repaired,
          result.checksum,
        ]);
        await client.query('COMMIT');
        recordChunk(input.table, result, Date.now() - started);
        log.info('chunk committed', { runId: input.runId, table: input.table, lo: input.lo, hi: input.hi, read: result.read, migrated: result.migrated, quarantined: result.quarantined });
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    /** The deferred self-reference: link every task to its parent once all task chunks committed. */
    async linkTaskParents(input: { target: string; userId: string; runId: string }): Promise<{ linked: number }> {
      const result = await deps.pool(input.target).query(sqlFile('queries/link_task_parents.sql'), [input.userId, input.runId]);
      return { linked: result.rowCount ?? 0 };
    },
  };
}

function summarize(read: number, ok: OkRow[], rejected: Rejected[], inserted: number, replayed: boolean): ChunkResult {
  const checksum = new ChecksumAccumulator();
  for (const r of ok) checksum.add(canonicalJson(r.canonical));
  return {
    read,
    migrated: ok.length,
    inserted,
    quarantined: rejected.length,
    repaired: ok.filter((r) => r.repaired).length,
    checksum: checksum.hex(),
    replayed,
  };
}

async function writeBridge(
  client: pg.ClientBase,
  mapping: TableMapping,
  input: TransferChunkInput,
  ok: OkRow[],
  rejected: Rejected[],
  inserted: Set<string>,
): Promise<void> {
  const entries = [
    ...ok.map((r) => ({
      local: r.sourceId,
      remote: r.targetId,
      status: r.repaired ? 'repaired' : 'completed',
      code: r.repaired,
      created: inserted.has(r.targetId),
      parent: r.pendingParent,
    })),
    ...rejected.map((r) => ({ local: r.sourceId, remote: r.targetId, status: 'quarantined', code: r.reason, created: false, parent: null })),
  ];
  if (entries.length === 0) return;
  await client.query(sqlFile('queries/insert_bridge.sql', { bridge: mapping.bridgeTable }), [
    input.userId,
    input.runId,
    entries.map((e) => e.local),
    entries.map((e) => e.remote),
    entries.map((e) => e.status),
    entries.map((e) => e.code),
    entries.map((e) => e.created),
    entries.map((e) => e.parent),
  ]);
}
