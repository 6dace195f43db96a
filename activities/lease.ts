// The run lease with its fencing check (docs/design.md §1): one run per user in a target,
// and no chunk commits after a rollback released the lease.
import type pg from 'pg';
import { LEASE_RELEASE_ATTEMPTS } from '../lib/defaults';
import { LeaseError, LeaseReleaseTimeout } from '../lib/errors';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { beat } from './heartbeat';

type Holder = LeaseReleaseTimeout['holders'][number];

async function leaseHolders(client: pg.ClientBase, runId: string): Promise<Holder[]> {
  const { rows } = await client.query<{
    pid: number;
    application_name: string;
    client_addr: string | null;
    state: string | null;
    xact_start: string | null;
    exact: boolean;
  }>(sqlFile('queries/lease_blockers.sql'), [runId]);
  const exact = rows.filter((r) => r.exact);
  return (exact.length ? exact : rows).map((r) => ({
    pid: r.pid,
    applicationName: r.application_name,
    clientAddr: r.client_addr,
    state: r.state,
    xactStart: r.xact_start,
  }));
}

/** Inside a chunk transaction: throws unless this run still holds its lease. */
export async function assertLeaseHeld(client: pg.ClientBase, runId: string): Promise<void> {
  const { rows } = await client.query<{ state: string }>(sqlFile('queries/check_lease.sql'), [runId]);
  assertLeaseState(rows[0]?.state, runId);
}

/** Throws unless `state` (check_lease.sql's, read in this transaction) says the run holds its lease. */
export function assertLeaseState(state: unknown, runId: string): void {
  if (state !== 'held')
    throw new LeaseError(`run ${runId} does not hold its lease (rolled back or never acquired): refusing to write`);
}

export function createLeaseActivities(deps: ActivityDeps) {
  return {
    async acquireLease(input: { target: string; runId: string; userId: string }): Promise<void> {
      const pool = deps.pool(input.target);
      try {
        await pool.query(sqlFile('queries/acquire_lease.sql'), [input.runId, input.userId]);
      } catch (err) {
        if ((err as { code?: string }).code !== '23505') throw err;
      }
      const holder = (await pool.query<{ run_id: string }>(sqlFile('queries/lease_holder.sql'), [input.userId])).rows[0]
        ?.run_id;
      if (holder !== input.runId) {
        throw new LeaseError(
          `user ${input.userId} is being migrated into this target by run ${holder ?? "(none: this run's lease was released)"}; one run per user at a time`,
        );
      }
    },

    /**
     * Releases the lease; waits for chunk transactions that hold it, so none commits afterwards. Each
     * wait is bounded by the session's lock_timeout (55P03) and retried; a dead worker's transaction
     * is ended by the server's idle-in-transaction timeout within the attempts. A holder still there
     * after the last one is named in a LeaseReleaseTimeout instead of being waited on for ever.
     */
    async releaseLease(input: { target: string; runId: string }): Promise<void> {
      const started = performance.now(); // monotonic: a wall-clock step must not skew the measure
      const client = await deps.pool(input.target).connect();
      // The blocked UPDATE sends nothing: heartbeat from a timer so the activity is not timed out.
      const ticker = setInterval(() => beat({ releasing: input.runId }), 1000);
      try {
        let holders: Holder[] = [];
        for (let attempt = 1; attempt <= LEASE_RELEASE_ATTEMPTS; attempt++) {
          try {
            await client.query(sqlFile('queries/release_lease.sql'), [input.runId]);
            return;
          } catch (err) {
            // 42P01: the control tables were never created (the schema step failed first): no lease to release.
            if ((err as { code?: string }).code === '42P01') return;
            if ((err as { code?: string }).code !== '55P03') throw err; // lock_not_available
            holders = await leaseHolders(client, input.runId);
            beat({ releasing: input.runId, attempt, holders: holders.map((h) => h.pid) });
            if (attempt < LEASE_RELEASE_ATTEMPTS)
              await new Promise((r) => setTimeout(r, Math.min(250 * attempt, 2000)));
          }
        }
        throw new LeaseReleaseTimeout(input.runId, holders, Math.round(performance.now() - started));
      } finally {
        clearInterval(ticker);
        client.release();
      }
    },
  };
}
