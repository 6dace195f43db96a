// The `schema` phase: control tables, target tables and bridge tables from the idempotent
// files in sql/, plus the backup inventory and migration_log writes.
import { DEFAULT_LOCK_TIMEOUT_MS } from '../lib/defaults';
import { qualified, quoteIdent, sqlFile, sqlFolder, tableLabel } from '../infra/sql-files';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import type { BackupRecord } from './backup';
import type { ActivityDeps } from './deps';

export interface LogEventInput {
  target: string;
  runId: string;
  userId: string;
  phase: string;
  status: 'started' | 'completed' | 'failed' | 'skipped' | 'info' | 'closed';
  message?: string;
}

export function createSchemaActivities(deps: ActivityDeps) {
  return {
    /**
     * Creates what is missing; returns the application-schema tables this call created (decided
     * under the schema lock: what the run's undo may drop), and registers the run as a user of them.
     */
    async ensureSchema(input: { target: string; runId?: string }): Promise<{ files: string[]; created: string[] }> {
      const files = [...sqlFolder('target'), ...sqlFolder('control')];
      const created: string[] = [];
      const schema = deps.schema(input.target);
      // DDL runs as the tables' owner (`ddlDsn`); the data role (`dsn`) is then granted row access to
      // what exists (docs/security.md "The PostgreSQL roles").
      const dataRole = (await deps.pool(input.target).query<{ role: string }>('SELECT current_user AS role')).rows[0]!
        .role;
      const client = await deps.ddlPool(input.target).connect();
      try {
        await client.query(`SET lock_timeout = ${DEFAULT_LOCK_TIMEOUT_MS}`);
        // One session-level advisory lock: runs for several users may create the schema at once.
        await client.query("SELECT pg_advisory_lock(hashtextextended('migrator:schema', 0))");
        try {
          const present = async (t: string) =>
            (await client.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [t])).rows[0]!.present;
          const watched = TABLE_ORDER.flatMap((t) => [MAPPINGS[t].targetTable, MAPPINGS[t].bridgeTable]);
          const before = new Map<string, boolean>();
          for (const t of watched) before.set(t, await present(qualified(schema, t)));
          for (const file of files) await client.query(sqlFile(file, { schema: quoteIdent(schema) }));
          for (const t of watched)
            if (!before.get(t) && (await present(qualified(schema, t)))) created.push(tableLabel(schema, t));
          const owner = (await client.query<{ role: string }>('SELECT current_user AS role')).rows[0]!.role;
          if (owner !== dataRole)
            await client.query(
              sqlFile('roles/030_data_grants.sql', {
                data_role: client.escapeIdentifier(dataRole),
                schema: quoteIdent(schema),
              }),
            );
          // This run now relies on these tables: another run's rollback will not drop them under it.
          if (input.runId) await client.query(sqlFile('queries/register_schema_user.sql'), [input.runId]);
        } finally {
          await client.query("SELECT pg_advisory_unlock(hashtextextended('migrator:schema', 0))");
        }
        await client.query('RESET lock_timeout');
      } finally {
        client.release();
      }
      return { files, created };
    },

    async recordBackups(input: {
      target: string;
      runId: string;
      userId: string;
      backups: BackupRecord[];
    }): Promise<void> {
      // The target's full backup is recorded in migration_backups.full_backups by whoever took it (shared by runs).
      for (const b of input.backups.filter((x) => x.kind !== 'target-pg_dump')) {
        const verification = b.fingerprint ? { ...b.verification, fingerprint: b.fingerprint } : b.verification;
        await deps
          .pool(input.target)
          .query(sqlFile('queries/insert_backup.sql'), [
            b.backupId,
            input.runId,
            input.userId,
            b.kind,
            b.location,
            b.bytes,
            b.sha256,
            b.verified,
            JSON.stringify(verification),
          ]);
      }
    },

    async logEvent(input: LogEventInput): Promise<void> {
      await deps
        .pool(input.target)
        .query(sqlFile('queries/log_event.sql'), [
          input.runId,
          input.userId,
          input.phase,
          input.status,
          input.message ?? '',
        ]);
    },
  };
}
