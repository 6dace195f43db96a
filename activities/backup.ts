// Phase 1a — verified backups before anything changes. The source through SQLite's online
// backup API (then integrity_check and sha256 of the copy); the target with a version-matched
// pg_dump -Fc taken in an exported snapshot, verified by pg_restore --list and by a restore into a
// scratch database whose per-table row counts and checksums must equal the snapshot's.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { heartbeat } from '@temporalio/activity';
import Database from 'better-sqlite3';
import pg from 'pg';
import { parse as parseDsn } from 'pg-connection-string';
import { BackupError } from '../lib/errors';
import type { Fingerprint } from '../lib/fingerprint';
import { pgTool, withDatabase } from '../infra/postgres';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { openSource } from './source';

const run = promisify(execFile);

export interface BackupRecord {
  backupId: string;
  kind: 'source-sqlite' | 'target-pg_dump';
  location: string;
  bytes: number;
  sha256: string;
  verified: boolean;
  verification: Record<string, number | string>;
  /** Per-table counts and checksums of what the backup holds (target dumps only). */
  fingerprint?: Fingerprint;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** libpq environment for pg_dump/pg_restore, so the DSN never appears on a command line. */
export function libpqEnv(dsn: string, database?: string): NodeJS.ProcessEnv {
  const c = parseDsn(dsn);
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (c.host) env.PGHOST = c.host;
  if (c.port) env.PGPORT = String(c.port);
  if (c.user) env.PGUSER = c.user;
  if (c.password) env.PGPASSWORD = c.password;
  env.PGDATABASE = database ?? c.database ?? undefined;
  if (typeof c.ssl === 'object' || c.ssl === true) env.PGSSLMODE = 'require';
  return env;
}


/** Row count and order-independent checksum of every user table, in the client's snapshot. */
export async function fingerprintDatabase(
  client: pg.ClientBase,
  include: RegExp | null = null,
  scope?: { perUser: Set<string>; userId: string },
): Promise<Fingerprint> {
  const tables = (await client.query<{ name: string }>(sqlFile('queries/list_user_tables.sql'))).rows.map((r) => r.name);
  const out: Fingerprint = {};
  for (const name of tables) {
    if (include && !include.test(name)) continue;
    const byUser = scope?.perUser.has(name);
    const { rows } = await client.query<{ rows: number; checksum: string }>(
      sqlFile(byUser ? 'queries/table_fingerprint_user.sql' : 'queries/table_fingerprint.sql', { table: name }),
      byUser ? [scope!.userId] : [],
    );
    out[name] = { rows: Number(rows[0]!.rows), checksum: rows[0]!.checksum };
  }
  return out;
}

export function createBackupActivities(deps: ActivityDeps) {
  return {
    async backupSource(input: { runId: string; source: string }): Promise<BackupRecord> {
      const dir = join(deps.backupDir, input.runId);
      mkdirSync(dir, { recursive: true });
      const location = join(dir, 'source.sqlite');
      rmSync(location, { force: true });
      const db = openSource(input.source);
      try {
        await db.backup(location, { progress: () => (heartbeat(), 256) });
      } finally {
        db.close();
      }
      const copy = new Database(location, { readonly: true });
      let integrity: string;
      let userVersion: number;
      try {
        integrity = String(copy.pragma('integrity_check', { simple: true }));
        userVersion = copy.pragma('user_version', { simple: true }) as number;
      } finally {
        copy.close();
      }
      if (integrity !== 'ok') throw new BackupError(`source backup ${location} failed integrity_check`);
      return {
        backupId: `${input.runId}:source`,
        kind: 'source-sqlite',
        location,
        bytes: statSync(location).size,
        sha256: await sha256File(location),
        verified: true,
        verification: { integrityCheck: integrity, userVersion },
      };
    },

    async backupTarget(input: { runId: string; target: string; serverMajor: number }): Promise<BackupRecord> {
      const dsn = deps.dsn(input.target);
      const dir = join(deps.backupDir, input.runId);
      mkdirSync(dir, { recursive: true });
      const location = join(dir, 'target.dump');
      const pgDump = pgTool('pg_dump', input.serverMajor);
      const pgRestore = pgTool('pg_restore', input.serverMajor);
      const client = new pg.Client({ connectionString: dsn, application_name: 'migrator-backup' });
      await client.connect();
      let before: Fingerprint;
      try {
        // Dump and fingerprint the same snapshot, so concurrent writers cannot fail the check.
        await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
        const snapshot = (await client.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
        const dumping = run(pgDump, ['-Fc', '--no-owner', `--snapshot=${snapshot}`, '-f', location], { env: libpqEnv(dsn) });
        before = await fingerprintDatabase(client);
        await dumping.catch((err: Error & { stderr?: string }) => {
          throw new BackupError(`pg_dump failed: ${err.stderr?.trim() ?? err.message}`);
        });
        await client.query('COMMIT');
      } finally {
        await client.end();
      }
      heartbeat();
      const list = await run(pgRestore, ['--list', location]);
      const tocEntries = list.stdout.split('\n').filter((l) => l && !l.startsWith(';')).length;

      const scratch = `migrator_scratch_${createHash('sha256').update(input.runId).digest('hex').slice(0, 12)}`;
      const admin = new pg.Client({ connectionString: dsn });
      await admin.connect();
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${scratch}`);
        await admin.query(`CREATE DATABASE ${scratch}`);
        await run(pgRestore, ['--no-owner', '--exit-on-error', '-d', scratch, location], { env: libpqEnv(dsn, scratch) }).catch(
          (err: Error & { stderr?: string }) => {
            throw new BackupError(`restoring the target backup into scratch database ${scratch} failed: ${err.stderr?.trim() ?? err.message}`);
          },
        );
        heartbeat();
        const restoredClient = new pg.Client({ connectionString: withDatabase(dsn, scratch) });
        await restoredClient.connect();
        let after: Fingerprint;
        try {
          after = await fingerprintDatabase(restoredClient);
        } finally {
          await restoredClient.end();
        }
        const mismatched = Object.keys({ ...before, ...after }).filter(
          (t) => before[t]?.rows !== after[t]?.rows || before[t]?.checksum !== after[t]?.checksum,
        );
        if (mismatched.length) throw new BackupError(`target backup did not verify: scratch restore differs in ${mismatched.join(', ')}`);
      } finally {
        await admin.query(`DROP DATABASE IF EXISTS ${scratch}`).catch(() => undefined);
        await admin.end();
      }
      const totalRows = Object.values(before).reduce((n, t) => n + t.rows, 0);
      return {
        backupId: `${input.runId}:target`,
        kind: 'target-pg_dump',
        location,
        bytes: statSync(location).size,
        sha256: await sha256File(location),
        verified: true,
        verification: { tocEntries, tables: Object.keys(before).length, rows: totalRows, pgDump, database: parseDsn(dsn).database ?? '' },
        fingerprint: before,
      };
    },
  };
}
