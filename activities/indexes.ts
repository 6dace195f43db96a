// Phase 1b / phase 4 — indexes built CONCURRENTLY, one statement at a time on a session outside
// any transaction, with a short lock_timeout and retries; INVALID leftovers of an interrupted
// build are dropped and rebuilt. Returns which indexes this run created (for compensation).
import { Context, heartbeat } from '@temporalio/activity';
import type pg from 'pg';
import { DEFAULT_LOCK_TIMEOUT_MS, INDEX_LOCK_POLL_MS } from '../lib/defaults';
import { asTargetDiskFull } from '../lib/errors';
import { qualified, quoteIdent, sqlFile, sqlStatements } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { beat, cancellationSignal } from './heartbeat';

export type IndexSet = 'critical' | 'temporary' | 'post-migration';

export interface IndexResult {
  created: string[];
  existing: string[];
  rebuiltInvalid: string[];
}

const LOCK_RETRIES = 5;

export const INDEX_SETS: readonly IndexSet[] = ['critical', 'temporary', 'post-migration'];

/** Every index name this project builds, across its sets. */
export function ourIndexNames(): string[] {
  return INDEX_SETS.flatMap(indexNamesOf);
}

/** The index names of one set. */
export function indexNamesOf(set: IndexSet): string[] {
  // The names only: which schema the statements would build in does not change them.
  return sqlStatements(`indexes/${set}.sql`, { schema: quoteIdent('public') }).map(indexName);
}

/**
 * Takes the global index-builder advisory lock by polling pg_try_advisory_lock, heartbeating
 * between tries: a blocking pg_advisory_lock would sit silent behind another run's long build until
 * the heartbeat timeout started a second attempt, and could not be cancelled. Also used outside an
 * activity (runbook clean), where heartbeats are no-ops.
 */
export async function acquireBuilderLock(client: pg.PoolClient): Promise<void> {
  const signal = cancellationSignal();
  for (let waitedMs = 0; ; waitedMs += INDEX_LOCK_POLL_MS) {
    if (signal.aborted) throw signal.reason;
    const { locked } = (await client.query<{ locked: boolean }>(sqlFile('queries/index_builder_try_lock.sql')))
      .rows[0]!;
    if (locked) return;
    beat({ waitingForIndexBuilderLockMs: waitedMs });
    await new Promise((r) => setTimeout(r, INDEX_LOCK_POLL_MS));
  }
}

export async function releaseBuilderLock(client: pg.PoolClient): Promise<void> {
  await client.query(sqlFile('queries/index_builder_unlock.sql')).catch(() => undefined);
}

/** Whether this version's control table of index users exists (not on a target set up by an older version). */
export async function hasIndexUsers(client: pg.PoolClient): Promise<boolean> {
  return (await client.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), ['migration.index_users']))
    .rows[0]!.present;
}

/** The other runs still registered as users of an index (empty = the caller is the last). */
export async function otherIndexUsers(client: pg.PoolClient, name: string, runId: string | null): Promise<string[]> {
  return (
    await client.query<{ run_id: string }>(sqlFile('queries/index_other_users.sql'), [name, runId ?? ''])
  ).rows.map((r) => r.run_id);
}

function indexName(statement: string): string {
  const match = /IF NOT EXISTS\s+(\w+)/i.exec(statement);
  if (!match) throw new Error(`index statement without IF NOT EXISTS <name>: ${statement.slice(0, 80)}`);
  return match[1]!;
}

/**
 * Runs one CREATE INDEX CONCURRENTLY, heartbeating while PostgreSQL works. If the activity is
 * cancelled (abort, rollback) the backend's query is cancelled and the INVALID index it leaves is
 * dropped before the cancellation propagates.
 */
async function buildCancellable(
  client: pg.PoolClient,
  pool: pg.Pool,
  statement: string,
  name: string,
  schema: string,
): Promise<void> {
  const ctx = Context.current();
  const pid = (await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]!.pid;
  let cancelled = false;
  const ticker = setInterval(() => ctx.heartbeat({ index: name }), 1000);
  void ctx.cancelled.catch(async () => {
    cancelled = true;
    await pool.query('SELECT pg_cancel_backend($1)', [pid]).catch(() => undefined);
  });
  try {
    await client.query(statement);
  } catch (err) {
    if (cancelled) {
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`).catch(() => undefined);
      throw new Error(`index build ${name} cancelled; its INVALID leftover was dropped`);
    }
    throw err;
  } finally {
    clearInterval(ticker);
  }
}

export function createIndexActivities(deps: ActivityDeps) {
  return {
    async buildIndexes(input: { target: string; runId: string; set: IndexSet }): Promise<IndexResult> {
      const result: IndexResult = { created: [], existing: [], rebuiltInvalid: [] };
      const schema = deps.schema(input.target);
      // CREATE INDEX needs the table's owner: the DDL connection (docs/security.md "The PostgreSQL roles").
      const client = await deps.ddlPool(input.target).connect();
      try {
        // Runs for several users may build the same indexes at once: one builder at a time per target.
        await acquireBuilderLock(client);
        await client.query(`SET lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`);
        await client.query('SET statement_timeout = 0');
        const register = await hasIndexUsers(client);
        for (const statement of sqlStatements(`indexes/${input.set}.sql`, { schema: quoteIdent(schema) })) {
          const name = indexName(statement);
          // This run uses the index from now on, whoever built it: no other run drops it under us.
          if (register) await client.query(sqlFile('queries/register_index_user.sql'), [input.runId, name, input.set]);
          const state = (await client.query<{ valid: boolean }>(sqlFile('queries/index_state.sql'), [name, schema]))
            .rows[0];
          if (state?.valid) {
            result.existing.push(name);
            continue;
          }
          if (state && !state.valid) {
            await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`);
            result.rebuiltInvalid.push(name);
          }
          // Recorded before the build: a crash mid-build still leaves the rollback a record to drop.
          await client.query(sqlFile('queries/record_created_index.sql'), [input.runId, name, input.set]);
          for (let attempt = 1; ; attempt++) {
            heartbeat({ index: name, attempt });
            try {
              await buildCancellable(client, deps.ddlPool(input.target), statement, name, schema);
              break;
            } catch (err) {
              // 55P03 lock_not_available: app traffic holds the table; back off and retry.
              // 53100 disk_full: typed and retried by the activity (the INVALID leftover is rebuilt then).
              if ((err as { code?: string }).code !== '55P03' || attempt >= LOCK_RETRIES)
                throw asTargetDiskFull(err, `building index ${name}`);
              await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`);
              await new Promise((r) => setTimeout(r, 500 * attempt));
            }
          }
          result.created.push(name);
        }
      } finally {
        await client.query('RESET ALL').catch(() => undefined);
        await releaseBuilderLock(client);
        client.release();
      }
      return result;
    },

    /**
     * A run leaves a set of indexes (post-migration: the temporary ones). Each is dropped only when
     * no other run still uses it, under the index-builder lock (no build in progress meanwhile);
     * returns the ones dropped. Without `runId` (a run started before index users were recorded)
     * an index any run is registered for stays.
     */
    async dropIndexes(input: { target: string; set: IndexSet; runId?: string }): Promise<string[]> {
      const schema = deps.schema(input.target);
      const client = await deps.ddlPool(input.target).connect();
      const dropped: string[] = [];
      try {
        await acquireBuilderLock(client);
        await client.query(`SET lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`);
        const names = indexNamesOf(input.set);
        const counted = await hasIndexUsers(client);
        if (counted && input.runId)
          await client.query(sqlFile('queries/unregister_index_users.sql'), [input.runId, names]);
        for (const name of names) {
          heartbeat({ index: name });
          if (counted && (await otherIndexUsers(client, name, input.runId ?? null)).length > 0) continue;
          await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${qualified(schema, name)}`);
          dropped.push(name);
        }
      } finally {
        await client.query('RESET ALL').catch(() => undefined);
        await releaseBuilderLock(client);
        client.release();
      }
      return dropped;
    },
  };
}
