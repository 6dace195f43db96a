// The `post-migration` phase: ANALYZE the target tables and move this user's bridge rows out of
// the hot schema into migration_archive (kept for audit). Indexes are built by activities/indexes.
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';

export function createOptimizeActivities(deps: ActivityDeps) {
  return {
    async analyzeTargets(input: { target: string }): Promise<string[]> {
      const tables = TABLE_ORDER.map((t) => MAPPINGS[t].targetTable);
      for (const table of tables) await deps.pool(input.target).query(`ANALYZE ${table}`);
      return tables;
    },

    async archiveBridge(input: { target: string; userId: string }): Promise<Record<string, number>> {
      const moved: Record<string, number> = {};
      for (const table of TABLE_ORDER) {
        const bridge = MAPPINGS[table].bridgeTable;
        const result = await deps.pool(input.target).query(sqlFile('queries/archive_bridge.sql', { bridge }), [input.userId]);
        moved[bridge] = result.rowCount ?? 0;
      }
      return moved;
    },
  };
}
