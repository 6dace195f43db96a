// The `post-migration` phase: ANALYZE the target tables and move this user's bridge rows out of
// the hot schema into migration_archive (kept for audit). Indexes are built by activities/indexes.
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { qualified, quoteIdent, sqlFile } from '../infra/sql-files';
import type pg from 'pg';
import type { ActivityDeps } from './deps';
import { inTransaction } from './transaction';

async function present(client: pg.PoolClient, table: string): Promise<boolean> {
  return (await client.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [table])).rows[0]!.present;
}

export function createOptimizeActivities(deps: ActivityDeps) {
  return {
    async analyzeTargets(input: { target: string }): Promise<string[]> {
      const tables = TABLE_ORDER.map((t) => MAPPINGS[t].targetTable);
      const schema = deps.schema(input.target);
      // Only a table's owner may ANALYZE it (others get a warning and nothing done): the DDL connection.
      for (const table of tables) await deps.ddlPool(input.target).query(`ANALYZE ${qualified(schema, table)}`);
      return tables;
    },

    /**
     * Archives every bridge row of this user. Given the completing run (`runId`), that run first
     * takes ownership of the rows earlier runs created that are still there (a run that ended
     * ROLLBACK_FAILED with rows left): it validated them, so a later clean of the earlier run
     * refuses instead of deleting this run's validated data (migration.run_supersessions).
     */
    async archiveBridge(input: { target: string; userId: string; runId?: string }): Promise<Record<string, number>> {
      const moved: Record<string, number> = {};
      const schema = quoteIdent(deps.schema(input.target));
      await inTransaction(deps.pool(input.target), async (client) => {
        for (const table of TABLE_ORDER) {
          const m = MAPPINGS[table];
          const vars = { schema, bridge: m.bridgeTable, table: m.targetTable, key: m.targetKeyColumn };
          // (Before this version's control tables exist — a run started before the upgrade — there is nothing to record into.)
          if (input.runId && (await present(client, 'migration.run_supersessions')))
            await client.query(sqlFile('queries/record_supersessions.sql', vars), [input.userId, input.runId]);
          const result = await client.query(sqlFile('queries/archive_bridge.sql', vars), [input.userId]);
          moved[m.bridgeTable] = result.rowCount ?? 0;
        }
      });
      return moved;
    },
  };
}

/** Runbook clean (not an activity): archives one run's bridge rows of this user, never another run's. */
export async function archiveRunBridge(
  deps: ActivityDeps,
  input: { target: string; userId: string; runId: string },
): Promise<Record<string, number>> {
  const moved: Record<string, number> = {};
  const schema = quoteIdent(deps.schema(input.target));
  for (const table of TABLE_ORDER) {
    const bridge = MAPPINGS[table].bridgeTable;
    const result = await deps
      .pool(input.target)
      .query(sqlFile('queries/archive_run_bridge.sql', { schema, bridge }), [input.userId, input.runId]);
    moved[bridge] = result.rowCount ?? 0;
  }
  return moved;
}
