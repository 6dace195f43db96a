// The run lease with its fencing check (docs/design.md §1): one run per user in a target,
// and no chunk commits after a rollback released the lease.
import type pg from 'pg';
import { LeaseError } from '../lib/errors';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';

/** Inside a chunk transaction: throws unless this run still holds its lease. */
export async function assertLeaseHeld(client: pg.ClientBase, runId: string): Promise<void> {
  const { rows } = await client.query<{ state: string }>(sqlFile('queries/check_lease.sql'), [runId]);
  if (rows[0]?.state !== 'held') throw new LeaseError(`run ${runId} does not hold its lease (rolled back or never acquired): refusing to write`);
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
      const holder = (await pool.query<{ run_id: string }>(sqlFile('queries/lease_holder.sql'), [input.userId])).rows[0]?.run_id;
      if (holder !== input.runId) {
        throw new LeaseError(`user ${input.userId} is being migrated into this target by run ${holder ?? '(none: this run\'s lease was released)'}; one run per user at a time`);
      }
    },

    /** Releases the lease; waits for chunk transactions that hold it, so none commits afterwards. */
    async releaseLease(input: { target: string; runId: string }): Promise<void> {
      await deps.pool(input.target).query(sqlFile('queries/release_lease.sql'), [input.runId]);
    },
  };
}
