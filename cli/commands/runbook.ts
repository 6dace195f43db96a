// The manual runbook for when automation cannot finish: show runs and backups,
// cancel the orchestrator's backends, restore the target from a verified backup (in place or into
// a new database), verify a restoration, and clean a run's artifacts. Every command that changes
// something refuses a database that is not the one named by --expect-database.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { promisify } from 'node:util';
import type { Command } from 'commander';
import pg from 'pg';
import { fingerprintDatabase, libpqEnv } from '../../activities/backup';
import { registerBackupCommands } from './backups';
import { createDeps } from '../../activities/deps';
import { createLeaseActivities } from '../../activities/lease';
import { archiveRunBridge } from '../../activities/optimize';
import { createRollbackActivities } from '../../activities/rollback';
import { loadWorkerConfig } from '../../activities/capabilities';
import { resolveTargetDsn } from '../../activities/secrets';
import { parseWorkerConfig, type WorkerConfig } from '../../lib/worker-config';
import type { Fingerprint } from '../../lib/fingerprint';
import { pgTool, withDatabase } from '../../infra/postgres';
import { sqlFile } from '../../infra/sql-files';

const run = promisify(execFile);

async function withClient<T>(dsn: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: dsn, application_name: 'migrator-runbook' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

async function assertDatabase(client: pg.Client, expected: string): Promise<void> {
  const actual = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
  if (actual !== expected)
    throw new Error(`this is database "${actual}", not "${expected}" (--expect-database): refusing to act`);
}

function print(rows: unknown[], json?: boolean): void {
  if (json) console.log(JSON.stringify(rows, null, 2));
  else if (rows.length === 0) console.log('(none)');
  else console.table(rows);
}

interface Backup {
  backup_id: string;
  kind: string;
  location: string;
  sha256: string;
  verified: boolean;
  verification: { database?: string; fingerprint?: Fingerprint; pgDump?: string };
}

async function loadBackup(dsn: string, backupId: string): Promise<Backup> {
  const backup = await withClient(
    dsn,
    async (c) => (await c.query<Backup>(sqlFile('queries/select_backup.sql'), [backupId])).rows[0],
  );
  if (!backup) throw new Error(`no backup ${backupId} in migration.backup_inventory (see: migrator runbook backups)`);
  if (backup.kind !== 'target-pg_dump') throw new Error(`backup ${backupId} is a ${backup.kind}, not a target dump`);
  return backup;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Compares a database with a backup's recorded fingerprint; returns differences (empty = equal). */
async function verifyAgainst(dsn: string, backup: Backup): Promise<{ differences: string[]; extra: string[] }> {
  const expected = backup.verification.fingerprint;
  if (!expected) throw new Error(`backup ${backup.backup_id} has no recorded fingerprint`);
  const actual = await withClient(dsn, (c) => fingerprintDatabase(c));
  const differences: string[] = [];
  for (const [table, want] of Object.entries(expected)) {
    const got = actual[table];
    if (!got) differences.push(`${table}: missing`);
    else if (got.rows !== want.rows || got.checksum !== want.checksum)
      differences.push(`${table}: ${got.rows} rows/${got.checksum}, backup has ${want.rows}/${want.checksum}`);
  }
  const extra = Object.keys(actual).filter((t) => !(t in expected));
  return { differences, extra };
}

const target = (c: Command) =>
  c.requiredOption(
    '--target <name|env:NAME>',
    'a target of the worker config ($MIGRATOR_WORKER_CONFIG, the name rollback reports print) or env:NAME of a variable holding the DSN',
  );

/**
 * The runbook runs on the operator's side: `--target` is a name of the worker config (what the
 * rollback report prints) or the operator's own env:NAME. Returns the DSN and a config granting it.
 */
function runbookTarget(target: string): { name: string; dsn: string; config: WorkerConfig } {
  if (target.startsWith('env:')) {
    const config = parseWorkerConfig({
      targets: { runbook: { dsn: target, database: '(checked by --expect-database)' } },
    });
    return { name: 'runbook', dsn: resolveTargetDsn(target), config };
  }
  const path = process.env.MIGRATOR_WORKER_CONFIG;
  if (!path)
    throw new Error(
      `--target ${target} is a name: set MIGRATOR_WORKER_CONFIG to the worker config that declares it, or pass --target env:NAME`,
    );
  const config = loadWorkerConfig(path);
  const deps = createDeps({ config });
  return { name: target, dsn: deps.dsn(target), config };
}
const targetDsn = (t: string) => runbookTarget(t).dsn;

export function registerRunbook(program: Command): void {
  const runbook = program
    .command('runbook')
    .description(
      'manual recovery when automation cannot finish (least destructive first: runs, cancel-backends, clean, backups, restore, verify)',
    );
  registerRunbookCommands(runbook);
  // The two an operator reaches for first are also top-level: `migrator backups`, `migrator restore`.
  registerBackups(program);
  registerRestore(program);
}

function registerRunbookCommands(runbook: Command): void {
  registerBackups(runbook);
  registerRestore(runbook);

  target(runbook.command('runs').description('runs recorded in the target: last event and lease'))
    .option('--json', 'JSON output')
    .action(async (o: { target: string; json?: boolean }) => {
      print(
        await withClient(targetDsn(o.target), async (c) => (await c.query(sqlFile('queries/runbook_runs.sql'))).rows),
        o.json,
      );
    });

  target(
    runbook
      .command('cancel-backends')
      .description("end the orchestrator's sessions that hold a transaction open (pg_terminate_backend)"),
  )
    .requiredOption('--expect-database <name>', 'refuse unless the target is this database')
    .action(async (o: { target: string; expectDatabase: string }) => {
      await withClient(targetDsn(o.target), async (c) => {
        await assertDatabase(c, o.expectDatabase);
        print((await c.query(sqlFile('queries/cancel_backends.sql'))).rows);
      });
    });

  target(runbook.command('verify').description("compare a database with a backup's recorded row counts and checksums"))
    .requiredOption('--backup-id <id>', 'backup to compare with')
    .option('--database <name>', "database to check (default: the target's)")
    .action(async (o: { target: string; backupId: string; database?: string }) => {
      const dsn = targetDsn(o.target);
      const backup = await loadBackup(dsn, o.backupId);
      const { differences, extra } = await verifyAgainst(o.database ? withDatabase(dsn, o.database) : dsn, backup);
      report(differences, extra);
    });

  target(
    runbook
      .command('clean')
      .description("remove a run's artifacts: rows it wrote, indexes it built, its bridge rows, its lease"),
  )
    .requiredOption('--run-id <id>', 'the run (first execution run id)')
    .requiredOption('--user-id <uuid>', "the run's user")
    .requiredOption('--expect-database <name>', 'refuse unless the target is this database')
    .action(async (o: { target: string; runId: string; userId: string; expectDatabase: string }) => {
      await withClient(targetDsn(o.target), (c) => assertDatabase(c, o.expectDatabase));
      const resolved = runbookTarget(o.target);
      const deps = createDeps({ config: resolved.config });
      try {
        const input = { target: resolved.name, runId: o.runId, userId: o.userId.toLowerCase() };
        await createLeaseActivities(deps).releaseLease(input);
        // Refuses (RunSuperseded, naming the run) when a later run completed over these rows: its data now.
        const removed = await createRollbackActivities(deps).removeRunRows(input);
        const dropped = await createRollbackActivities(deps).dropRunIndexes(input);
        // Only this run's bridge rows: another run of the user may be live, or have completed.
        const archived = await archiveRunBridge(deps, input);
        const remaining = await createRollbackActivities(deps).runArtifacts(input);
        console.log(
          JSON.stringify({ removed, droppedIndexes: dropped, archivedBridgeRows: archived, remaining }, null, 2),
        );
        if (remaining.length) process.exitCode = 1;
      } finally {
        await deps.close();
      }
    });
}

function report(differences: string[], extra: string[]): void {
  if (extra.length) console.log(`tables not in the backup (created after it; see runbook clean): ${extra.join(', ')}`);
  if (differences.length) {
    console.log(`NOT equal to the backup:\n  ${differences.join('\n  ')}`);
    process.exitCode = 1;
  } else console.log('verified: every table of the backup has its recorded row count and checksum');
}

function registerBackups(parent: Command): void {
  const backups = parent
    .command('backups')
    .description("the target's backups: list (default), prune (retention), restore-pre-image (one user's rows)");
  target(
    backups
      .command('list', { isDefault: true })
      .description("verified backups the target records: full backups (shared per window) and runs' own"),
  )
    .option('--json', 'JSON output')
    .action(async (o: { target: string; json?: boolean }) => {
      print(
        await withClient(
          targetDsn(o.target),
          async (c) => (await c.query(sqlFile('queries/runbook_backups.sql'))).rows,
        ),
        o.json,
      );
    });
  registerBackupCommands(backups, {
    withClient: (t, fn) => withClient(targetDsn(t), fn),
    assertDatabase,
    print,
  });
}

function registerRestore(parent: Command): void {
  target(parent.command('restore').description('restore the target from a verified pg_dump backup, then verify it'))
    .requiredOption('--backup-id <id>', 'backup to restore (see: runbook backups)')
    .requiredOption(
      '--expect-database <name>',
      'refuse unless the target is this database (and the backup was taken of it)',
    )
    .option('--into <database>', 'restore into this new database instead of in place')
    .action(async (o: { target: string; backupId: string; expectDatabase: string; into?: string }) => {
      const dsn = targetDsn(o.target);
      const backup = await loadBackup(dsn, o.backupId);
      const major = await withClient(dsn, async (c) => {
        await assertDatabase(c, o.expectDatabase);
        return Math.floor(
          Number((await c.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v) /
            10000,
        );
      });
      if (backup.verification.database && backup.verification.database !== o.expectDatabase) {
        throw new Error(
          `backup ${o.backupId} was taken of database "${backup.verification.database}", not "${o.expectDatabase}": refusing`,
        );
      }
      if ((await sha256File(backup.location)) !== backup.sha256)
        throw new Error(`backup file ${backup.location} does not match its recorded sha256: refusing`);
      const restoreInto = o.into ?? o.expectDatabase;
      if (o.into) await withClient(dsn, (c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(o.into!)}`));
      const args = o.into
        ? ['--no-owner', '--exit-on-error', '-d', restoreInto, backup.location]
        : [
            '--clean',
            '--if-exists',
            '--no-owner',
            '--single-transaction',
            '--exit-on-error',
            '-d',
            restoreInto,
            backup.location,
          ];
      await run(pgTool('pg_restore', major), args, { env: libpqEnv(dsn, restoreInto) });
      const restoredDsn = withDatabase(dsn, restoreInto);
      const { differences, extra } = await verifyAgainst(restoredDsn, backup);
      console.log(`restored ${o.backupId} into ${restoreInto}`);
      report(differences, extra);
    });
}
