// Staged rollout support: which users of a manifest are already migrated into the target
// (a re-run of a manifest skips them), and the users file read page by page. The users file is
// read only inside the worker config's source directories, like the sources it lists.
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { describeUsersFile, usersFilePage, type RolloutUser } from './users-file';

export function createRolloutActivities(deps: ActivityDeps) {
  return {
    /** The users file's size and sha256 (every line validated). */
    async describeUsersFile(input: { usersFile: string }): Promise<{ users: number; sha256: string }> {
      return describeUsersFile(deps.capabilities.sourcePath(input.usersFile, 'usersFile'));
    },

    /** One page of the users file: ids and source paths only. */
    async usersFilePage(input: {
      usersFile: string;
      sha256: string;
      offset: number;
      limit: number;
    }): Promise<RolloutUser[]> {
      return usersFilePage(
        deps.capabilities.sourcePath(input.usersFile, 'usersFile'),
        input.sha256,
        input.offset,
        input.limit,
      );
    },

    async migratedUsers(input: { target: string; userIds: string[] }): Promise<string[]> {
      const pool = deps.pool(input.target);
      const exists = (
        await pool.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), ['migration.migration_log'])
      ).rows[0]!.present;
      if (!exists) return [];
      return (
        await pool.query<{ user_id: string }>(sqlFile('queries/migrated_users.sql'), [
          input.userIds.map((u) => u.toLowerCase()),
        ])
      ).rows.map((r) => r.user_id);
    },
  };
}
