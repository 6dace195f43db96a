// Compensations of the saga (each idempotent, each touching only what this run recorded as its
// own) and the proof of restoration: a fingerprint of the target taken before anything changed,
// compared with one taken after the rollback.
import { beat as heartbeat } from './heartbeat';
import type pg from 'pg';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { sqlFile } from '../infra/sql-files';
import type { TargetFingerprint } from '../lib/fingerprint';
import { fingerprintDatabase } from './backup';
import type { ActivityDeps } from './deps';
import { ourIndexNames } from './indexes';

const REMOVE_BATCH = 5000;

/** Reverse foreign-key order: children before parents. */
const REVERSE = [...TABLE_ORDER].reverse();

export function createRollbackActivities(deps: ActivityDeps) {
  return {
    /** Row counts and checksums of the application schema (this user's rows where tables have user_id), and its index list. */
    async fingerprintTarget(input: { target: string; userId: string }): Promise<TargetFingerprint> {
      const client = await deps.pool(input.target).connect();
      try {
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const perUser = new Set((await client.query<{ name: string }>(sqlFile('queries/tables_with_user_id.sql'))).rows.map((r) => r.name));
        const tables = await fingerprintDatabase(client, /^public\./, { perUser, userId: input.userId });
        const ours = new Set(ourIndexNames());
        const { rows } = await client.query<{ name: string; def: string; valid: boolean }>(sqlFile('queries/list_indexes.sql'));
        await client.query('COMMIT');
        return { tables, indexes: rows.map((r) => ({ ...r, ours: ours.has(r.name) })) };
      } finally {
        client.release();
      }
    },

    /** Deletes the target rows this run created (via its bridge rows), children first, in batches. */
    async removeRunRows(input: { target: string; runId: string; userId: string }): Promise<Record<string, number>> {
      const pool = deps.pool(input.target);
      const removed: Record<string, number> = {};
      for (const source of REVERSE) {
        const m = MAPPINGS[source];
        const vars = { table: m.targetTable, bridge: m.bridgeTable, key: m.targetKeyColumn };
        let n = 0;
        for (const file of ['queries/remove_run_rows.sql', 'queries/remove_archived_run_rows.sql']) {
          if (file.includes('remove_run_rows') && !(await exists(pool, `public.${m.bridgeTable}`))) continue;
          // The archive exists once the schema phase ran; before that there is nothing archived to remove.
          if (file.includes('archived') && !(await exists(pool, `migration_archive.${m.bridgeTable}`))) continue;
          if (!(await exists(pool, `public.${m.targetTable}`))) continue;
          for (;;) {
            const r = await pool.query(sqlFile(file, vars), [input.userId, input.runId, REMOVE_BATCH]);
            n += r.rowCount ?? 0;
            heartbeat({ table: m.targetTable, removed: n });
            const left = file.includes('archived') ? (r.rowCount ?? 0) : await bridgeLeft(pool, m.bridgeTable, input);
            if (left === 0) break;
          }
        }
        removed[m.targetTable] = n;
      }
      return removed;
    },

    /** Drops the indexes this run created and any INVALID index an interrupted build of its sets left. */
    async dropRunIndexes(input: { target: string; runId: string }): Promise<string[]> {
      const client = await deps.pool(input.target).connect();
      const dropped: string[] = [];
      try {
        const created = (await client.query<{ index_name: string }>(sqlFile('queries/run_created_indexes.sql'), [input.runId]).catch(() => ({ rows: [] }))).rows.map(
          (r) => r.index_name,
        );
        const ours = ourIndexNames();
        const invalid = (await client.query<{ name: string; valid: boolean }>(sqlFile('queries/list_indexes.sql'))).rows.filter((r) => !r.valid).map((r) => r.name);
        for (const name of new Set([...created, ...invalid.filter((n) => ours.includes(n))])) {
          heartbeat({ index: name });
          await client.query(`DROP INDEX CONCURRENTLY IF EXISTS public.${name}`);
          dropped.push(name);
        }
      } finally {
        client.release();
      }
      return dropped;
    },

    /** Drops application-schema tables this run created, if nothing else wrote into them. */
    async dropCreatedTables(input: { target: string; tables: string[] }): Promise<{ dropped: string[]; kept: string[] }> {
      const pool = deps.pool(input.target);
      const dropped: string[] = [];
      const kept: string[] = [];
      // Bridge tables first, then target tables children-first (foreign keys).
      const order = [...REVERSE.map((t) => `public.${MAPPINGS[t].bridgeTable}`), ...REVERSE.map((t) => `public.${MAPPINGS[t].targetTable}`)];
      for (const table of order.filter((t) => input.tables.includes(t))) {
        if (!(await exists(pool, table))) continue;
        const { rows } = await pool.query<{ any: boolean }>(`SELECT EXISTS (SELECT 1 FROM ${table}) AS any`);
        if (rows[0]!.any) {
          kept.push(table);
          continue;
        }
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
        dropped.push(table);
      }
      return { dropped, kept };
    },

    /** What of the run is still in the target (for a ROLLBACK_FAILED report). */
    async runArtifacts(input: { target: string; runId: string; userId: string }): Promise<string[]> {
      const pool = deps.pool(input.target);
      const out: string[] = [];
      for (const source of REVERSE) {
        const m = MAPPINGS[source];
        if (!(await exists(pool, `public.${m.targetTable}`))) continue;
        // Post-migration archives the bridge rows, after which a rollback may drop the (empty)
        // live bridge table: the archived half alone still names the rows this run created.
        const live = await exists(pool, `public.${m.bridgeTable}`);
        if (!(await exists(pool, `migration_archive.${m.bridgeTable}`))) {
          if (live) out.push(`(could not check ${m.targetTable}: migration_archive.${m.bridgeTable} is missing)`);
          continue;
        }
        const file = live ? 'queries/run_artifacts.sql' : 'queries/run_artifacts_archived.sql';
        const { rows } = await pool.query<{ object: string; n: number }>(sqlFile(file, { table: m.targetTable, bridge: m.bridgeTable, key: m.targetKeyColumn }), [
          input.userId,
          input.runId,
        ]);
        if (rows[0]!.n > 0) out.push(`${rows[0]!.n} rows in ${m.targetTable} written by run ${input.runId}`);
      }
      const created = (await pool.query<{ index_name: string }>(sqlFile('queries/run_created_indexes.sql'), [input.runId]).catch(() => ({ rows: [] }))).rows;
      const present = new Set((await pool.query<{ name: string }>(sqlFile('queries/list_indexes.sql'))).rows.map((r) => r.name));
      for (const r of created) if (present.has(r.index_name)) out.push(`index ${r.index_name} created by run ${input.runId}`);
      return out;
    },
  };
}

async function exists(pool: pg.Pool, table: string): Promise<boolean> {
  return (await pool.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [table])).rows[0]!.present;
}

async function bridgeLeft(pool: pg.Pool, bridge: string, input: { runId: string; userId: string }): Promise<number> {
  const { rows } = await pool.query<{ n: number }>(sqlFile('queries/bridge_run_rows.sql', { bridge }), [input.userId, input.runId]);
  return Number(rows[0]!.n);
}
