// Phase 1b / phase 4 — indexes built CONCURRENTLY, one statement at a time on a session outside
// any transaction, with a short lock_timeout and retries; INVALID leftovers of an interrupted
// build are dropped and rebuilt. Returns which indexes this run created (for compensation).
import { Context, heartbeat } from '@temporalio/activity';
import type pg from 'pg';
import { DEFAULT_LOCK_TIMEOUT_MS, INDEX_LOCK_POLL_MS } from '../lib/defaults';
import { sqlFile, sqlStatements } from '../infra/sql-files';
import type { ActivityDeps } from './deps';

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
  return INDEX_SETS.flatMap((set) => sqlStatements(`indexes/${set}.sql`).map(indexName));
}

/**
 * Takes the global index-builder advisory lock by polling pg_try_advisory_lock, heartbeating
 * between tries: a blocking pg_advisory_lock would sit silent behind another run's long build until
 * the heartbeat timeout started a second attempt, and could not be cancelled.
 */
async function acquireBuilderLock(client: pg.PoolClient): Promise<void> {
  const ctx = Context.current();
  for (let waitedMs = 0; ; waitedMs += INDEX_LOCK_POLL_MS) {
    if (ctx.cancellationSignal.aborted) throw ctx.cancellationSignal.reason;
    const { locked } = (await client.query<{ locked: boolean }>(sqlFile('queries/index_builder_try_lock.sql'))).rows[0]!;
    if (locked) return;
    ctx.heartbeat({ waitingForIndexBuilderLockMs: waitedMs });
    await new Promise((r) => setTimeout(r, INDEX_LOCK_POLL_MS));
  }
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
async function buildCancellable(client: pg.PoolClient, pool: pg.Pool, statement: string, name: string): Promise<void> {
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
      await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`).catch(() => undefined);
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
      const client = await deps.pool(input.target).connect();
      try {
        // Runs for several users may build the same indexes at once: one builder at a time per target.
        await acquireBuilderLock(client);
        await client.query(`SET lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`);
        await client.query('SET statement_timeout = 0');
        for (const statement of sqlStatements(`indexes/${input.set}.sql`)) {
          const name = indexName(statement);
          const state = (await client.query<{ valid: boolean }>(sqlFile('queries/index_state.sql'), [name])).rows[0];
          if (state?.valid) {
            result.existing.push(name);
            continue;
          }
          if (state && !state.valid) {
            await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
            result.rebuiltInvalid.push(name);
          }
          // Recorded before the build: a crash mid-build still leaves the rollback a record to drop.
          await client.query(sqlFile('queries/record_created_index.sql'), [input.runId, name, input.set]);
          for (let attempt = 1; ; attempt++) {
            heartbeat({ index: name, attempt });
            try {
              await buildCancellable(client, deps.pool(input.target), statement, name);
              break;
            } catch (err) {
              // 55P03 lock_not_available: app traffic holds the table; back off and retry.
              if ((err as { code?: string }).code !== '55P03' || attempt >= LOCK_RETRIES) throw err;
              await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
              await new Promise((r) => setTimeout(r, 500 * attempt));
            }
          }
          result.created.push(name);
        }
      } finally {
        await client.query('RESET ALL').catch(() => undefined);
        await client.query(sqlFile('queries/index_builder_unlock.sql')).catch(() => undefined);
        client.release();
      }
      return result;
    },

    async dropIndexes(input: { target: string; set: IndexSet }): Promise<string[]> {
      const client = await deps.pool(input.target).connect();
      const dropped: string[] = [];
      try {
        await client.query(`SET lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`);
        for (const statement of sqlStatements(`indexes/${input.set}.sql`)) {
          const name = indexName(statement);
          heartbeat({ index: name });
          await client.query(`DROP INDEX CONCURRENTLY IF EXISTS ${name}`);
          dropped.push(name);
        }
      } finally {
        await client.query('RESET ALL').catch(() => undefined);
        client.release();
      }
      return dropped;
    },
  };
}
