// The transfer phase's chunk work. A chunk is a keyset range (lo, hi] over the source primary key.
// transferChunk reads, transforms and validates its rows, then writes target rows, bridge rows,
// quarantine rows and its ledger row in ONE PostgreSQL transaction; the ledger's key makes any
// retry a no-op. Only ids, counts and a checksum go back to the workflow.
import { heartbeat, log } from '@temporalio/activity';
import type pg from 'pg';
import { canonicalJson, ChecksumAccumulator } from '../lib/checksum';
import { DigestAccumulator } from './row-digest';
import { asTargetDiskFull, SourceError } from '../lib/errors';
import { DEFAULT_CHUNK_BYTES } from '../lib/defaults';
import { mappingFor } from '../lib/mapping';
import { chunkLength, type KeySize } from '../lib/mapping/bounds';
import type { Sealer, TableMapping } from '../lib/mapping/types';
import { TargetRejection, QuarantineReason } from '../lib/reasons';
import { quoteIdent, sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import {
  prepareRows,
  readChunkRows,
  sizeRows,
  sourceRefLookup,
  targetRefLookup,
  type Prepared,
  type Rejected,
} from './prepare-rows';
import { assertLeaseState } from './lease';
import { batched } from './batched-statements';
import { recordChunk } from './metrics';
import { withSource, withSourceAsync } from './source';
import { copyAndInsert, ensureStage } from './stage-rows';

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
  /** Source bytes per chunk (absent in histories from before byte bounds: the default applies). */
  chunkBytes?: number;
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

function readChunk(source: string, input: TransferChunkInput, mapping: TableMapping) {
  return withSource(source, (db) => readChunkRows(db, mapping, input.lo, input.hi));
}

/** Column arrays for the delta pass's unnest() update: one array per target column. */
export function columns(rows: OkRow[], mapping: TableMapping, sealer: Sealer): unknown[][] {
  const encoded = rows.map((r) => mapping.encode(r.canonical, sealer));
  const width = encoded[0]?.length ?? 0;
  return Array.from({ length: width }, (_, i) => encoded.map((e) => e[i]));
}

/**
 * Inserts the chunk's rows (COPY into the staging table, then one INSERT … SELECT); if PostgreSQL
 * refuses one (a data or constraint error the mapping did not foresee), retries row by row under
 * savepoints so only that row is quarantined and a poison row never makes the chunk retry forever.
 * Returns the inserted ids and the digest of each inserted row as written.
 */
async function insertIsolating(
  client: pg.ClientBase,
  schema: string,
  mapping: TableMapping,
  rows: OkRow[],
  sealer: Sealer,
  userId: string,
) {
  const refused: Rejected[] = [];
  if (rows.length === 0) return { inserted: new Set<string>(), digests: new Map<string, bigint>(), refused };
  const encoded = rows.map((r) => mapping.encode(r.canonical, sealer));
  // Outside the savepoint: a rollback to it must not drop a staging table this transaction created.
  await ensureStage(client, mapping);
  await client.query('SAVEPOINT chunk_rows');
  try {
    return { ...(await copyAndInsert(client, schema, mapping, encoded, userId)), refused };
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    if (!/^2[23]/.test(code)) throw err;
    await client.query('ROLLBACK TO SAVEPOINT chunk_rows');
  }
  const inserted = new Set<string>();
  const digests = new Map<string, bigint>();
  for (const [i, row] of rows.entries()) {
    await client.query('SAVEPOINT one_row');
    try {
      const one = await copyAndInsert(client, schema, mapping, [encoded[i]!], userId);
      for (const id of one.inserted) inserted.add(id);
      for (const [id, d] of one.digests) if (!digests.has(id)) digests.set(id, d);
    } catch (err) {
      const code = (err as { code?: string }).code ?? '';
      if (!/^2[23]/.test(code)) throw err;
      await client.query('ROLLBACK TO SAVEPOINT one_row');
      refused.push({
        sourceId: row.sourceId,
        targetId: row.targetId,
        reason: TargetRejection.TARGET_REJECTED,
        detail: `sqlstate=${code}`,
      });
    }
  }
  return { inserted, digests, refused };
}

export function createTransferActivities(deps: ActivityDeps) {
  // Targets whose control schema records target digests. Only a yes is remembered: a run that
  // started on an older build (its schema phase did not add the column) writes its ledger rows
  // without a digest, and validation then decrypts every row as before.
  const digestReady = new Set<string>();
  async function recordsDigests(client: pg.ClientBase, target: string): Promise<boolean> {
    if (digestReady.has(target)) return true;
    const ready = (await client.query<{ ready: boolean }>(sqlFile('queries/ledger_has_digest.sql'))).rows[0]!.ready;
    if (ready) digestReady.add(target);
    return ready;
  }
  return {
    /**
     * Up to `maxChunks` chunk bounds after `after`, each at most `chunkRows` source rows and
     * `chunkBytes` source bytes (a single larger row is a chunk of its own). Reads keys and sizes
     * only, and returns bounds only.
     */
    async planChunks(input: PlanChunksInput): Promise<{ chunks: ChunkBounds[]; done: boolean }> {
      const mapping = mappingFor(input.table);
      const chunkBytes = input.chunkBytes ?? DEFAULT_CHUNK_BYTES;
      return withSource(deps.capabilities.sourcePath(input.source, 'source'), (db) => {
        const next = db.prepare(sqlFile('queries/source_chunk_sizes.sql', { sized: sizeRows(db, mapping) }));
        const chunks: ChunkBounds[] = [];
        let lo = input.after;
        while (chunks.length < input.maxChunks) {
          // One row more than a chunk may hold: whether the table continues after this chunk.
          const sizes = next.all({ after: lo, limit: input.chunkRows + 1 }) as KeySize[];
          const n = chunkLength(sizes, input.chunkRows, chunkBytes);
          if (n === 0) return { chunks, done: true };
          const hi = String(sizes[n - 1]!.k);
          // A key that is not valid UTF-8 comes back with U+FFFD and no longer sorts where its bytes
          // do: keyset pagination cannot make progress. Fail clearly instead of looping.
          if (lo !== null && hi <= lo) throw unsortableKeys(mapping, lo);
          chunks.push({ lo, hi });
          if (sizes.length === n) {
            // The table ends here, unless such a key still sorts after hi: then it would be skipped silently.
            if (next.all({ after: hi, limit: 1 }).length > 0) throw unsortableKeys(mapping, hi);
            return { chunks, done: true };
          }
          lo = hi;
        }
        return { chunks, done: false };
      });
    },

    async transferChunk(input: TransferChunkInput): Promise<ChunkResult> {
      const mapping = mappingFor(input.table);
      const started = performance.now(); // monotonic: a wall-clock step must not skew the measure
      const ctx = { userId: input.userId, asOfSeconds: input.asOfSeconds };
      const { rows, oversized } = readChunk(deps.capabilities.sourcePath(input.source, 'source'), input, mapping);
      const read = rows.length + oversized.length;
      heartbeat({ table: input.table, phase: 'read', rows: read });
      if (input.dryRun) {
        const prepared = await withSourceAsync(deps.capabilities.sourcePath(input.source, 'source'), (db) =>
          prepareRows(db, mapping, rows, ctx, sourceRefLookup(db, ctx)),
        );
        return summarize(read, prepared.ok, [...oversized, ...prepared.rejected], 0, false);
      }
      const sealer = deps.sealer(input.keyring, input.userId);
      // Ledger key of the lower bound: '' = from the start; a real key is prefixed so a source key '' cannot collide.
      const lo = input.lo === null ? '' : `>${input.lo}`;
      // The app schema from the worker config, quoted for the statements' {{schema}}.
      const schema = quoteIdent(deps.schema(input.target));
      const client = await deps.pool(input.target).connect();
      try {
        await ensureStage(client, mapping, true); // outside the transaction: created once per session
        // BEGIN, the fencing check, the chunk lock and the ledger look-up in one round trip.
        const [, lease, , ledger] = await batched(client, [
          'BEGIN',
          { file: 'queries/check_lease.sql', params: [input.runId] },
          { file: 'queries/lock_chunk.sql', params: [input.runId, input.table, lo] },
          { file: 'queries/select_ledger.sql', params: [input.runId, input.table, lo] },
        ]);
        assertLeaseState(lease![0]?.state, input.runId);
        if (ledger![0]) {
          await client.query('COMMIT');
          const r = ledger![0] as Record<string, number | string>;
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
        const prepared = await withSourceAsync(deps.capabilities.sourcePath(input.source, 'source'), (db) =>
          prepareRows(db, mapping, rows, ctx, targetRefLookup(client, schema, input.userId)),
        );
        heartbeat({ table: input.table, phase: 'write', rows: read });
        const withDigest = await recordsDigests(client, input.target);
        const { ok, rejected, inserted, digest } = await insertAndSettle(client, schema, mapping, input, input.table, {
          rows: prepared.ok,
          rejected: [...oversized, ...prepared.rejected],
          sealer,
          digest: withDigest,
        });
        const result = summarize(read, ok, rejected, inserted.size, false);
        // The ledger row and COMMIT in one round trip (a failed insert never reaches the COMMIT).
        await batched(client, [
          {
            file: withDigest ? 'queries/insert_ledger.sql' : 'queries/insert_ledger_v1.sql',
            params: [
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
              ...(withDigest ? [digest] : []),
            ],
          },
          'COMMIT',
        ]);
        recordChunk(input.table, result, Math.round(performance.now() - started));
        log.info('chunk committed', {
          runId: input.runId,
          table: input.table,
          lo: input.lo,
          hi: input.hi,
          read: result.read,
          migrated: result.migrated,
          quarantined: result.quarantined,
        });
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        const full = asTargetDiskFull(err, `writing a chunk of ${input.table}`);
        // Operator-visible while the chunk is retried (the attempts' failures are not in the history).
        if (full !== err) log.warn((full as Error).message, { runId: input.runId, table: input.table });
        throw full;
      } finally {
        client.release();
      }
    },

    /** The deferred self-reference: link every task to its parent once all task chunks committed. */
    async linkTaskParents(input: { target: string; userId: string; runId: string }): Promise<{ linked: number }> {
      const result = await deps
        .pool(input.target)
        .query(sqlFile('queries/link_task_parents.sql', { schema: quoteIdent(deps.schema(input.target)) }), [
          input.userId,
          input.runId,
        ])
        .catch((err: unknown) => {
          throw asTargetDiskFull(err, 'linking tasks to their parents');
        });
      return { linked: result.rowCount ?? 0 };
    },
  };
}

function unsortableKeys(mapping: TableMapping, after: string): SourceError {
  return new SourceError(
    'INTEGRITY',
    `${mapping.sourceTable}: source keys do not sort consistently after ${JSON.stringify(after)} (a key that is not valid UTF-8?); fix the source file`,
  );
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

/**
 * The write half shared by a chunk and a delta pass: inserts `rows` (isolating poison rows), turns
 * rows that already existed under another user into ID_CONFLICT (a re-run's own rows are fine),
 * writes the bridge rows and the quarantine rows. Returns the rows that are the run's now.
 */
export async function insertAndSettle(
  client: pg.ClientBase,
  schema: string,
  mapping: TableMapping,
  input: Pick<TransferChunkInput, 'userId' | 'runId'>,
  sourceTable: string,
  batch: { rows: OkRow[]; rejected: Rejected[]; sealer: Sealer; digest?: boolean },
): Promise<{ ok: OkRow[]; rejected: Rejected[]; inserted: Set<string>; digest: string | null }> {
  const { inserted, digests, refused } = await insertIsolating(
    client,
    schema,
    mapping,
    batch.rows,
    batch.sealer,
    input.userId,
  );
  const rejected = [...batch.rejected, ...refused];
  const refusedIds = new Set(refused.map((r) => r.sourceId));
  let ok = batch.rows.filter((r) => !refusedIds.has(r.sourceId));
  const notInserted = ok.filter((r) => !inserted.has(r.targetId)).map((r) => r.targetId);
  if (notInserted.length) {
    const owners = await client.query<{ id: string; user_id: string }>(
      sqlFile('queries/select_owned_ids.sql', { schema, table: mapping.targetTable, key: mapping.targetKeyColumn }),
      [notInserted],
    );
    const foreign = new Set(owners.rows.filter((o) => o.user_id !== input.userId).map((o) => o.id));
    for (const r of ok.filter((row) => foreign.has(row.targetId)))
      rejected.push({
        sourceId: r.sourceId,
        targetId: r.targetId,
        reason: QuarantineReason.ID_CONFLICT,
        detail: 'column=id',
      });
    ok = ok.filter((r) => !foreign.has(r.targetId));
  }
  // The delta pass records no chunk digest (its final pass records the tables' digests instead).
  const digest = batch.digest ? await chunkDigest(client, schema, mapping, input.userId, ok, digests) : null;
  await writeBridge(client, schema, mapping, input, ok, rejected, inserted);
  if (rejected.length) {
    await client.query(sqlFile('queries/insert_quarantine.sql'), [
      input.runId,
      input.userId,
      sourceTable,
      rejected.map((r) => r.sourceId),
      rejected.map((r) => r.reason),
      rejected.map((r) => r.detail),
    ]);
  }
  return { ok, rejected, inserted, digest };
}

/**
 * The digest of the chunk's target rows: the worker's own for the rows it inserted; for rows of this
 * user that were already there (a re-run), PostgreSQL's over the rows as they are (they were not
 * written now).
 */
async function chunkDigest(
  client: pg.ClientBase,
  schema: string,
  mapping: TableMapping,
  userId: string,
  ok: OkRow[],
  digests: Map<string, bigint>,
): Promise<string> {
  const acc = new DigestAccumulator();
  const existing: string[] = [];
  const seen = new Set<string>();
  for (const r of ok) {
    if (seen.has(r.targetId)) continue;
    seen.add(r.targetId);
    const d = digests.get(r.targetId);
    if (d === undefined) existing.push(r.targetId);
    else acc.addDigest(d.toString());
  }
  if (existing.length) {
    const { rows } = await client.query<{ digest: string }>(
      sqlFile(`queries/digest_${mapping.targetTable}.sql`, { schema, bridge: mapping.bridgeTable }),
      [userId, existing],
    );
    acc.addDigest(rows[0]!.digest);
  }
  return acc.value();
}

export async function writeBridge(
  client: pg.ClientBase,
  schema: string,
  mapping: TableMapping,
  input: Pick<TransferChunkInput, 'userId' | 'runId'>,
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
    ...rejected.map((r) => ({
      local: r.sourceId,
      remote: r.targetId,
      status: 'quarantined',
      code: r.reason,
      created: false,
      parent: null,
    })),
  ];
  if (entries.length === 0) return;
  await client.query(sqlFile('queries/insert_bridge.sql', { schema, bridge: mapping.bridgeTable }), [
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
