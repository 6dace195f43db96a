// Compensations of the saga (each idempotent, each touching only what this run recorded as its
// own) and the proof of restoration: a fingerprint of the target taken before anything changed,
// compared with one taken after the rollback.
import { beat as heartbeat } from './heartbeat';
import type pg from 'pg';
import { RollbackBlockedError, RunSupersededError } from '../lib/errors';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import type { TableMapping } from '../lib/mapping/types';
import { qualified, quoteIdent, sqlFile, tableLabel } from '../infra/sql-files';
import type { TargetFingerprint } from '../lib/fingerprint';
import { fingerprintDatabase } from './backup';
import type { ActivityDeps } from './deps';
import { inTransaction } from './transaction';
import { describeDependents, foreignDependents, runCreatedIds } from './dependents';
import {
  acquireBuilderLock,
  hasIndexUsers,
  indexNamesOf,
  otherIndexUsers,
  ourIndexNames,
  releaseBuilderLock,
} from './indexes';
import { DEFAULT_LOCK_TIMEOUT_MS, SCHEMA_USER_GRACE_MS } from '../lib/defaults';

const REMOVE_BATCH = 5000;

/**
 * What the proof of restoration looks at: the mapped target tables and their bridge tables in the
 * app schema, over this user's rows. Other users' rows, other schemas and tables the run never writes
 * (sessions, job queues, audit logs) change all the time on a live database and are not the run's business.
 * Names are the catalog's `format('%I.%I')` (the schema quoted only when it must be).
 */
function runScope(schema: string): RegExp {
  const tables = TABLE_ORDER.flatMap((t) => [MAPPINGS[t].targetTable, MAPPINGS[t].bridgeTable]).join('|');
  return new RegExp(`^(${schema}|"${schema}")\\.(${tables})$`);
}

/** Reverse foreign-key order: children before parents. */
const REVERSE = [...TABLE_ORDER].reverse();

export function createRollbackActivities(deps: ActivityDeps) {
  return {
    /** Row counts and checksums of this user's rows in the mapped and bridge tables, and the index list. */
    async fingerprintTarget(input: { target: string; userId: string }): Promise<TargetFingerprint> {
      const schema = deps.schema(input.target);
      const client = await deps.pool(input.target).connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const perUser = new Set(
          (await client.query<{ name: string }>(sqlFile('queries/tables_with_user_id.sql'), [schema])).rows.map(
            (r) => r.name,
          ),
        );
        const tables = await fingerprintDatabase(client, runScope(schema), { perUser, userId: input.userId });
        const ours = new Set(ourIndexNames());
        const { rows } = await client.query<{ name: string; def: string; valid: boolean }>(
          sqlFile('queries/list_indexes.sql'),
          [schema],
        );
        // One of ours another run is building right now is INVALID until it finishes: its work in
        // progress, not a leftover of this run (the index-builder lock keeps leftovers apart).
        const building = new Set(
          (await client.query<{ name: string }>(sqlFile('queries/indexes_being_built.sql'))).rows.map((r) => r.name),
        );
        await client.query('COMMIT');
        return {
          tables,
          indexes: rows
            .filter((r) => !(ours.has(r.name) && building.has(r.name)))
            .map((r) => ({ ...r, ours: ours.has(r.name) })),
        };
      } finally {
        client.release();
      }
    },

    /**
     * Deletes the target rows this run created (via its bridge rows), children first, in batches.
     * Refuses (RollbackBlocked, nothing deleted from that table) when rows the run did not create
     * reference them: the foreign keys' CASCADE / SET NULL would delete or change the app's rows.
     * Refuses (RunSuperseded, nothing deleted) when a later run of this user completed over the
     * run's rows: it validated them, they are its data now (migration.run_supersessions).
     */
    async removeRunRows(input: { target: string; runId: string; userId: string }): Promise<Record<string, number>> {
      const pool = deps.pool(input.target);
      const schema = deps.schema(input.target);
      const tracked = await exists(pool, 'migration.run_supersessions');
      if (tracked) {
        const later = (
          await pool.query<{ superseded_by: string }>(sqlFile('queries/run_superseded_by.sql'), [
            input.userId,
            input.runId,
          ])
        ).rows.map((r) => r.superseded_by);
        if (later.length > 0) throw new RunSupersededError(input.runId, later);
      }
      // The run's own keys per table; then a check of every table (nothing deleted if any is
      // blocked), then per table the same check again under row locks, so no dependent can appear
      // between the check and the delete.
      const created = new Map<string, { key: string; ids: string[] }>();
      for (const source of REVERSE) {
        const m = MAPPINGS[source];
        if (await exists(pool, qualified(schema, m.targetTable)))
          created.set(m.targetTable, { key: m.targetKeyColumn, ids: await runCreatedIds(pool, schema, m, input) });
      }
      for (const source of REVERSE) await refuseDependents(pool, schema, MAPPINGS[source], input, created);
      const removed: Record<string, number> = {};
      for (const source of REVERSE) {
        const m = MAPPINGS[source];
        if (!created.has(m.targetTable)) continue;
        removed[m.targetTable] = await inTransaction(pool, async (client) => {
          await refuseDependents(client, schema, m, input, created, { lock: true });
          return removeTableRows(client, schema, m, input);
        });
      }
      // Rolled back (or cleaned): the rows it took over from earlier runs are theirs again.
      if (tracked) await pool.query(sqlFile('queries/drop_supersessions.sql'), [input.userId, input.runId]);
      return removed;
    },

    /**
     * The run leaves every index it used; drops the ones it created (and the temporary ones it
     * used) that no other run still uses, and any INVALID leftover of our names. All under the
     * index-builder lock: an INVALID index seen then is no build in progress but a leftover.
     */
    async dropRunIndexes(input: { target: string; runId: string }): Promise<string[]> {
      const schema = deps.schema(input.target);
      const client = await deps.ddlPool(input.target).connect(); // DROP INDEX needs the table's owner
      const dropped: string[] = [];
      try {
        await acquireBuilderLock(client);
        const created = (
          await client
            .query<{ index_name: string }>(sqlFile('queries/run_created_indexes.sql'), [input.runId])
            .catch(() => ({ rows: [] }))
        ).rows.map((r) => r.index_name);
        const ours = ourIndexNames();
        const counted = await hasIndexUsers(client);
        // Temporary indexes serve runs only: the last run to leave drops them, whoever built them.
        const used = counted
          ? (
              await client.query<{ index_name: string }>(sqlFile('queries/unregister_index_users.sql'), [
                input.runId,
                ours,
              ])
            ).rows.map((r) => r.index_name)
          : [];
        const temporary = new Set(indexNamesOf('temporary'));
        const listed = (
          await client.query<{ name: string; valid: boolean }>(sqlFile('queries/list_indexes.sql'), [schema])
        ).rows;
        const invalid = new Set(listed.filter((r) => !r.valid && ours.includes(r.name)).map((r) => r.name));
        const candidates = new Set([...created, ...used.filter((n) => temporary.has(n)), ...invalid]);
        for (const name of candidates) {
          heartbeat({ index: name });
          if (!invalid.has(name) && counted && (await otherIndexUsers(client, name, input.runId)).length > 0) {
            if (created.includes(name))
              await client.query(sqlFile('queries/hand_over_created_index.sql'), [name, input.runId]);
            continue;
          }
          await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`);
          dropped.push(name);
        }
      } finally {
        await releaseBuilderLock(client);
        client.release();
      }
      return dropped;
    },

    /**
     * Drops application-schema tables this run created, if nothing uses them: per table, in one
     * transaction under the schema lock, the table locked (NOWAIT: a writer in it means someone
     * uses it), empty, and no other run holding a lease (it may be about to write into it). Without
     * `runId` every held lease counts. What is kept is listed with why.
     */
    async dropCreatedTables(input: {
      target: string;
      tables: string[];
      runId?: string;
    }): Promise<{ dropped: string[]; kept: string[] }> {
      const pool = deps.ddlPool(input.target); // DROP TABLE needs the table's owner
      const schema = deps.schema(input.target);
      const dropped: string[] = [];
      const kept: string[] = [];
      // Bridge tables first, then target tables children-first (foreign keys).
      const order = [...REVERSE.map((t) => MAPPINGS[t].bridgeTable), ...REVERSE.map((t) => MAPPINGS[t].targetTable)];
      for (const name of order.filter((t) => input.tables.includes(tableLabel(schema, t)))) {
        const table = tableLabel(schema, name);
        const sql = qualified(schema, name);
        heartbeat({ table });
        const client = await pool.connect();
        try {
          await client.query('BEGIN');
          await client.query(`SET LOCAL lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`);
          await client.query(sqlFile('queries/schema_xact_lock.sql'));
          const why = await keepReason(client, sql, input.runId ?? null);
          if (why === 'gone') {
            await client.query('COMMIT');
            continue;
          }
          if (why) {
            await client.query('ROLLBACK');
            kept.push(`${table} (${why})`);
            continue;
          }
          try {
            await client.query(`DROP TABLE ${sql}`);
          } catch (err) {
            // 2BP01: another object (a foreign key of a table the migrator does not know, a view) depends on it.
            if ((err as { code?: string }).code !== '2BP01') throw err;
            await client.query('ROLLBACK');
            kept.push(`${table} (other objects depend on it)`);
            continue;
          }
          await client.query('COMMIT');
          dropped.push(table);
        } catch (err) {
          await client.query('ROLLBACK').catch(() => undefined);
          throw err;
        } finally {
          client.release();
        }
      }
      return { dropped, kept };
    },

    /** What of the run is still in the target (for a ROLLBACK_FAILED report). */
    async runArtifacts(input: { target: string; runId: string; userId: string }): Promise<string[]> {
      const pool = deps.pool(input.target);
      const schema = deps.schema(input.target);
      const out: string[] = [];
      for (const source of REVERSE) {
        const m = MAPPINGS[source];
        if (!(await exists(pool, qualified(schema, m.targetTable)))) continue;
        // Post-migration archives the bridge rows, after which a rollback may drop the (empty)
        // live bridge table: the archived half alone still names the rows this run created.
        const live = await exists(pool, qualified(schema, m.bridgeTable));
        if (!(await exists(pool, `migration_archive.${m.bridgeTable}`))) {
          if (live) out.push(`(could not check ${m.targetTable}: migration_archive.${m.bridgeTable} is missing)`);
          continue;
        }
        const file = live ? 'queries/run_artifacts.sql' : 'queries/run_artifacts_archived.sql';
        const { rows } = await pool.query<{ object: string; n: number }>(
          sqlFile(file, {
            schema: quoteIdent(schema),
            table: m.targetTable,
            bridge: m.bridgeTable,
            key: m.targetKeyColumn,
          }),
          [input.userId, input.runId],
        );
        if (rows[0]!.n > 0) out.push(`${rows[0]!.n} rows in ${m.targetTable} written by run ${input.runId}`);
      }
      const created = (
        await pool
          .query<{ index_name: string }>(sqlFile('queries/run_created_indexes.sql'), [input.runId])
          .catch(() => ({ rows: [] }))
      ).rows;
      const present = new Set(
        (await pool.query<{ name: string }>(sqlFile('queries/list_indexes.sql'), [schema])).rows.map((r) => r.name),
      );
      // An index this run built that other runs still use is theirs now (dropped by its last user), not a leftover.
      const client = await pool.connect();
      try {
        const counted = await hasIndexUsers(client);
        for (const r of created) {
          if (!present.has(r.index_name)) continue;
          if (counted && (await otherIndexUsers(client, r.index_name, input.runId)).length > 0) continue;
          out.push(`index ${r.index_name} created by run ${input.runId}`);
        }
      } finally {
        client.release();
      }
      return out;
    },
  };
}

/** Refuses (RollbackBlocked) when rows the run did not create reference the run's rows of this table (locked first when asked). */
async function refuseDependents(
  db: pg.Pool | pg.PoolClient,
  schema: string,
  m: TableMapping,
  input: { runId: string; userId: string },
  created: Map<string, { key: string; ids: string[] }>,
  opts: { lock?: boolean } = {},
): Promise<void> {
  const ids = created.get(m.targetTable)?.ids ?? [];
  if (ids.length === 0) return;
  if (opts.lock)
    await db.query(
      sqlFile('queries/lock_rows.sql', { schema: quoteIdent(schema), table: m.targetTable, key: m.targetKeyColumn }),
      [ids],
    );
  const found = await foreignDependents(db, schema, m, ids, created);
  if (found.length > 0) {
    throw new RollbackBlockedError(
      `rollback stopped before deleting from ${m.targetTable}: ${describeDependents(m.targetTable, found)}. ` +
        `Deleting them would delete or change rows this run did not write. Those rows belong to the app: ` +
        `move them off these rows or delete them, then run \`npx migrator runbook clean --run-id ${input.runId} --user-id ${input.userId}\`.`,
    );
  }
}

/** This run's rows of one table, in batches, inside the caller's transaction (hot bridge, then archived). */
async function removeTableRows(
  client: pg.PoolClient,
  schema: string,
  m: TableMapping,
  input: { runId: string; userId: string },
): Promise<number> {
  const vars = { schema: quoteIdent(schema), table: m.targetTable, bridge: m.bridgeTable, key: m.targetKeyColumn };
  let n = 0;
  for (const file of ['queries/remove_run_rows.sql', 'queries/remove_archived_run_rows.sql']) {
    if (file.includes('remove_run_rows') && !(await exists(client, qualified(schema, m.bridgeTable)))) continue;
    // The archive exists once the schema phase ran; before that there is nothing archived to remove.
    if (file.includes('archived') && !(await exists(client, `migration_archive.${m.bridgeTable}`))) continue;
    for (;;) {
      const r = await client.query(sqlFile(file, vars), [input.userId, input.runId, REMOVE_BATCH]);
      n += r.rowCount ?? 0;
      heartbeat({ table: m.targetTable, removed: n });
      const left = file.includes('archived')
        ? (r.rowCount ?? 0)
        : await bridgeLeft(client, schema, m.bridgeTable, input);
      if (left === 0) break;
    }
  }
  return n;
}

/** Inside the drop's transaction: why a table must stay ('gone' = nothing to drop; null = drop it). */
async function keepReason(client: pg.PoolClient, table: string, runId: string | null): Promise<string | null> {
  if (!(await exists(client, table))) return 'gone';
  try {
    await client.query('SAVEPOINT lock_table');
    await client.query(sqlFile('queries/lock_table_nowait.sql', { table }));
  } catch (err) {
    if ((err as { code?: string }).code !== '55P03') throw err;
    await client.query('ROLLBACK TO SAVEPOINT lock_table');
    return 'in use by another session';
  }
  if ((await client.query<{ any: boolean }>(sqlFile('queries/table_has_rows.sql', { table }))).rows[0]!.any)
    return 'has rows';
  if (await exists(client, 'migration.schema_users')) {
    const users = (
      await client.query<{ run_id: string }>(sqlFile('queries/other_schema_users.sql'), [
        runId,
        SCHEMA_USER_GRACE_MS / 1000,
      ])
    ).rows.map((r) => r.run_id);
    if (users.length > 0) return `run ${users.join(', ')} uses the schema`;
  }
  if (await exists(client, 'migration.run_leases')) {
    const live = (await client.query<{ run_id: string }>(sqlFile('queries/other_held_leases.sql'), [runId])).rows.map(
      (r) => r.run_id,
    );
    if (live.length > 0) return `run ${live.join(', ')} holds a lease`;
  }
  return null;
}

async function exists(pool: pg.Pool | pg.PoolClient, table: string): Promise<boolean> {
  return (await pool.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [table])).rows[0]!.present;
}

async function bridgeLeft(
  pool: pg.Pool | pg.PoolClient,
  schema: string,
  bridge: string,
  input: { runId: string; userId: string },
): Promise<number> {
  const vars = { schema: quoteIdent(schema), bridge };
  const { rows } = await pool.query<{ n: number }>(sqlFile('queries/bridge_run_rows.sql', vars), [
    input.userId,
    input.runId,
  ]);
  return Number(rows[0]!.n);
}
