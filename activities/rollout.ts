// Staged rollout support: which users of a manifest are already migrated into the target
// (a re-run of a manifest skips them).
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';

export function createRolloutActivities(deps: ActivityDeps) {
  return {
    async migratedUsers(input: { target: string; userIds: string[] }): Promise<string[]> {
      const pool = deps.pool(input.target);
      const exists = (await pool.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), ['migration.migration_log'])).rows[0]!.present;
      if (!exists) return [];
      return (await pool.query<{ user_id: string }>(sqlFile('queries/migrated_users.sql'), [input.userIds.map((u) => u.toLowerCase())])).rows.map((r) => r.user_id);
    },
  };
}
