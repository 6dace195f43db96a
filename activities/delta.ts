// Online mode, the delta passes: after the bulk copy, apply the changes the source's capture logged
// after the last applied sequence, through the chunk path's rules (transform, quarantine, bridge
// rows, lease fencing), in one PostgreSQL transaction per pass. Changes coalesce per key and the
// source row is re-read (present = upsert, absent = delete), so a pass is idempotent and a retry or
// a replayed range is harmless. Only counts and sequences go back to the workflow, never rows.
// The final pass (`freeze`) holds the source's write lock (BEGIN IMMEDIATE) while it applies the
// rest of the log and computes what validation expects of the target at that point.
import { heartbeat } from '@temporalio/activity';
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { coalesceChanges, type ChangeEntry } from '../lib/capture';
import { canonicalJson, ChecksumAccumulator } from '../lib/checksum';
import { DELTA_MAX_CHANGES_PER_PASS } from '../lib/defaults';
import { mappingFor, TABLE_ORDER } from '../lib/mapping';
import type { Sealer, TableMapping, TransformContext } from '../lib/mapping/types';
import { QuarantineReason } from '../lib/reasons';
import { quoteIdent, sqlFile } from '../infra/sql-files';
import { openSourceWritable } from './capture';
import type { ActivityDeps } from './deps';
import { assertLeaseHeld } from './lease';
import {
  prepareRows,
  readChunkRows,
  selectByKeys,
  targetRefLookup,
  type Prepared,
  type Rejected,
} from './prepare-rows';
import { openSource } from './source';
import { columns, insertAndSettle, writeBridge } from './transfer';

export interface DeltaPassInput {
  runId: string;
  source: string;
  target: string;
  keyring: string;
  userId: string;
  asOfSeconds: number;
  /** The last sequence already applied (the bulk copy's start sequence before the first pass). */
  afterSeq: number;
  /** The final pass: hold the source's write lock, apply the whole rest of the log, report expectations. */
  freeze: boolean;
}

/** What validation expects of one table at the freeze point (the source as it was under the lock). */
export interface ExpectedTable {
  sourceRows: number;
  migrated: number;
  quarantined: number;
  checksum: string;
}

export interface DeltaPassResult {
  afterSeq: number;
  lastSeq: number;
  /** Logged changes read (before coalescing). */
  changes: number;
  /** Distinct keys re-read. */
  keys: number;
  upserted: number;
  deleted: number;
  quarantined: number;
  /** Final pass only: how long the source's writers waited for us (process.hrtime), and when. */
  freeze: { ms: number; drainMs: number; startedAtMs: number; endedAtMs: number } | null;
  expected: Record<string, ExpectedTable> | null;
}

type OkRow = Prepared['ok'][number];

interface BridgeState {
  local_id: string;
  remote_id: string | null;
  status: string;
  run_id: string;
  created_row: boolean;
}

interface PassCtx {
  db: Database.Database;
  client: pg.ClientBase;
  sealer: Sealer;
  input: DeltaPassInput;
  ctx: TransformContext;
  /** The app schema, quoted for the statements' {{schema}}. */
  schema: string;
}

function readLog(db: Database.Database, after: number): ChangeEntry[] {
  return db
    .prepare(sqlFile('source/capture_read.sql'))
    .all({ after, limit: DELTA_MAX_CHANGES_PER_PASS }) as ChangeEntry[];
}

async function forget(p: PassCtx, mapping: TableMapping, keys: string[]): Promise<number> {
  if (keys.length === 0) return 0;
  const vars = {
    schema: p.schema,
    bridge: mapping.bridgeTable,
    table: mapping.targetTable,
    key: mapping.targetKeyColumn,
  };
  const r = await p.client.query(sqlFile('queries/delta_forget.sql', vars), [
    p.input.userId,
    p.input.runId,
    keys,
    mapping.sourceTable,
  ]);
  return r.rowCount ?? 0;
}

/** Updates the target rows this run created; false when PostgreSQL refuses one (they then take the insert path). */
async function updateOwn(p: PassCtx, mapping: TableMapping, rows: OkRow[]): Promise<boolean> {
  if (rows.length === 0) return true;
  const [ids, ...rest] = columns(rows, mapping, p.sealer);
  await p.client.query('SAVEPOINT delta_update');
  try {
    await p.client.query(sqlFile(`queries/delta_update_${mapping.targetTable}.sql`, { schema: p.schema }), [
      ids,
      p.input.userId,
      ...rest,
    ]);
    const own = new Set(rows.map((r) => r.targetId));
    await writeBridge(p.client, p.schema, mapping, p.input, rows, [], own);
    return true;
  } catch (err) {
    if (!/^2[23]/.test((err as { code?: string }).code ?? '')) throw err;
    await p.client.query('ROLLBACK TO SAVEPOINT delta_update');
    return false;
  }
}

/** Present source keys of one table: brought to their current state. Returns the absent keys. */
async function upsertKeys(
  p: PassCtx,
  mapping: TableMapping,
  keys: string[],
): Promise<{ absent: string[]; upserted: number; quarantined: number }> {
  const { db, client, input } = p;
  const present = new Set(
    (
      db
        .prepare(
          `SELECT CAST(${mapping.keyColumn} AS TEXT) AS k FROM ${mapping.sourceTable} WHERE CAST(${mapping.keyColumn} AS TEXT) IN (SELECT value FROM json_each(?))`,
        )
        .all(JSON.stringify(keys)) as { k: string }[]
    ).map((r) => r.k),
  );
  const absent = keys.filter((k) => !present.has(k));
  if (present.size === 0) return { absent, upserted: 0, quarantined: 0 };
  const rows = selectByKeys(db, mapping, [...present]);
  const read = new Set(rows.map((r) => String(r[mapping.keyColumn])));
  // selectByKeys leaves out rows over MAX_ROW_BYTES: quarantined unread, as in the chunk path.
  const oversized: Rejected[] = [...present]
    .filter((k) => !read.has(k))
    .map((k) => ({ sourceId: k, targetId: null, reason: QuarantineReason.ROW_TOO_LARGE, detail: 'bytes>max' }));
  const { rows: states } = await client.query<BridgeState>(
    sqlFile('queries/delta_bridge_state.sql', { schema: p.schema, bridge: mapping.bridgeTable }),
    [input.userId, [...present]],
  );
  const bridge = new Map(states.map((s) => [s.local_id, s]));
  const prepared = await prepareRows(db, mapping, rows, p.ctx, targetRefLookup(client, p.schema, input.userId));
  const isOwn = (r: OkRow) => {
    const b = bridge.get(r.sourceId);
    return b !== undefined && b.run_id === input.runId && b.created_row && b.remote_id === r.targetId;
  };
  let own = prepared.ok.filter(isOwn);
  if (!(await updateOwn(p, mapping, own))) own = [];
  const ownIds = new Set(own.map((r) => r.sourceId));
  // Everything else starts over: this run's earlier mapping of the key is forgotten, then the chunk path's insert.
  await forget(
    p,
    mapping,
    [...present].filter((k) => !ownIds.has(k)),
  );
  const fresh = prepared.ok.filter((r) => !ownIds.has(r.sourceId));
  const { ok, rejected } = await insertAndSettle(client, p.schema, mapping, input, mapping.sourceTable, {
    rows: fresh,
    rejected: [...oversized, ...prepared.rejected],
    sealer: p.sealer,
  });
  return { absent, upserted: own.length + ok.length, quarantined: rejected.length };
}

/** Applies one coalesced batch: upserts in foreign-key order, then deletes in reverse order. */
async function applyBatch(p: PassCtx, keys: Map<string, string[]>) {
  let upserted = 0;
  let deleted = 0;
  let quarantined = 0;
  const absent = new Map<string, string[]>();
  for (const table of TABLE_ORDER) {
    const k = keys.get(table);
    if (!k?.length) continue;
    const r = await upsertKeys(p, mappingFor(table), k);
    absent.set(table, r.absent);
    upserted += r.upserted;
    quarantined += r.quarantined;
    heartbeat({ table, phase: 'delta', keys: k.length });
  }
  for (const table of [...TABLE_ORDER].reverse())
    deleted += await forget(p, mappingFor(table), absent.get(table) ?? []);
  await p.client.query(sqlFile('queries/link_task_parents.sql', { schema: p.schema }), [p.input.userId, p.input.runId]);
  return { upserted, deleted, quarantined };
}

/**
 * What validation expects at the freeze point, recomputed from the source under the lock with the
 * chunk path's rules: rows, migrated (minus rows the target refused, as the bridge records them),
 * quarantined, and the checksum of the migrated rows' canonical values.
 */
async function expectedTable(p: PassCtx, mapping: TableMapping): Promise<ExpectedTable> {
  const { db, client, input } = p;
  const page = db.prepare(
    `SELECT ${mapping.keyColumn} AS k FROM ${mapping.sourceTable} WHERE ${mapping.keyColumn} > coalesce(@lo, -9e999) ORDER BY ${mapping.keyColumn} LIMIT 1000`,
  );
  const acc = new ChecksumAccumulator();
  const out = { sourceRows: 0, migrated: 0, quarantined: 0 };
  let lo: string | null = null;
  for (;;) {
    const keys = page.all({ lo }) as { k: string }[];
    if (keys.length === 0) break;
    const hi = String(keys[keys.length - 1]!.k);
    const { rows, oversized } = readChunkRows(db, mapping, lo, hi);
    const prepared = await prepareRows(db, mapping, rows, p.ctx, targetRefLookup(client, p.schema, input.userId));
    const { rows: refused } = await client.query<{ local_id: string }>(
      sqlFile('queries/bridge_quarantined.sql', { schema: p.schema, bridge: mapping.bridgeTable }),
      [input.userId, prepared.ok.map((r) => r.sourceId)],
    );
    const refusedIds = new Set(refused.map((r) => r.local_id));
    for (const r of prepared.ok) if (!refusedIds.has(r.sourceId)) acc.add(canonicalJson(r.canonical));
    out.sourceRows += rows.length + oversized.length;
    out.quarantined += oversized.length + prepared.rejected.length + refusedIds.size;
    lo = hi;
    heartbeat({ table: mapping.sourceTable, phase: 'expected', rows: out.sourceRows });
  }
  return { ...out, migrated: acc.count, checksum: acc.hex() };
}

/**
 * The final pass records each table's target digest once the last changes are applied, in the same
 * transaction: validation compares it with the digest PostgreSQL computes then (activities/row-digest.ts),
 * so a target row changed, lost or added after the freeze shows. (The delta passes re-encrypt and
 * delete rows after the chunks recorded their digests, so the ledger's sum no longer describes them.)
 */
async function recordFreezeDigest(p: PassCtx, mapping: TableMapping): Promise<void> {
  // A control schema from a build without digests: nothing to record (validation decrypts instead).
  if (!(await p.client.query<{ ready: boolean }>(sqlFile('queries/ledger_has_digest.sql'))).rows[0]!.ready) return;
  const { rows } = await p.client.query<{ n: number; digest: string }>(
    sqlFile(`queries/digest_${mapping.targetTable}.sql`, { schema: p.schema, bridge: mapping.bridgeTable }),
    [p.input.userId, null],
  );
  await p.client.query(sqlFile('queries/record_freeze_digest.sql'), [
    p.input.runId,
    p.input.userId,
    mapping.sourceTable,
    rows[0]!.n,
    rows[0]!.digest,
  ]);
}

export function createDeltaActivities(deps: ActivityDeps) {
  return {
    async applyDeltaPass(input: DeltaPassInput): Promise<DeltaPassResult> {
      const path = deps.capabilities.sourcePath(input.source, 'source');
      const db = input.freeze ? openSourceWritable(path) : openSource(path);
      const client = await deps.pool(input.target).connect();
      const p: PassCtx = {
        db,
        client,
        sealer: deps.sealer(input.keyring, input.userId),
        input,
        ctx: { userId: input.userId, asOfSeconds: input.asOfSeconds },
        schema: quoteIdent(deps.schema(input.target)),
      };
      const totals = { changes: 0, keys: 0, upserted: 0, deleted: 0, quarantined: 0 };
      let lastSeq = input.afterSeq;
      let expected: Record<string, ExpectedTable> | null = null;
      let frozeAt: bigint | null = null;
      let freeze: DeltaPassResult['freeze'] = null;
      let startedAtMs = 0;
      let drainMs = 0;
      try {
        // The freeze: the app's writers wait (their busy_timeout) until this connection ends its transaction.
        if (input.freeze) {
          db.exec('BEGIN IMMEDIATE');
          frozeAt = process.hrtime.bigint();
          startedAtMs = Date.now(); // after the lock is ours: every write the app committed before is logged
        }
        await client.query('BEGIN');
        await assertLeaseHeld(client, input.runId);
        for (;;) {
          const entries = readLog(db, lastSeq);
          const batch = coalesceChanges(entries, lastSeq);
          lastSeq = batch.lastSeq;
          totals.changes += batch.changes;
          totals.keys += [...batch.keys.values()].reduce((n, k) => n + k.length, 0);
          const r = await applyBatch(p, batch.keys);
          totals.upserted += r.upserted;
          totals.deleted += r.deleted;
          totals.quarantined += r.quarantined;
          // An ordinary pass reads one bounded batch; the final one drains the log (nobody can add to it).
          if (!input.freeze || entries.length < DELTA_MAX_CHANGES_PER_PASS) break;
        }
        if (input.freeze) {
          drainMs = Number(process.hrtime.bigint() - frozeAt!) / 1e6;
          expected = {};
          for (const table of TABLE_ORDER) {
            expected[table] = await expectedTable(p, mappingFor(table));
            await recordFreezeDigest(p, mappingFor(table));
          }
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
        if (frozeAt !== null) {
          // Measured while the lock is still ours: every write the app commits later is after endedAtMs.
          freeze = {
            ms: Number(process.hrtime.bigint() - frozeAt) / 1e6,
            drainMs,
            startedAtMs,
            endedAtMs: Date.now(),
          };
        }
        if (db.inTransaction) db.exec('ROLLBACK'); // the freeze wrote nothing: releasing the lock is all
        db.close();
      }
      return { afterSeq: input.afterSeq, lastSeq, ...totals, freeze, expected };
    },
  };
}
