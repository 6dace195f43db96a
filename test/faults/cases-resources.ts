// Fault cases that take a resource away from under a run rather than a process or a connection:
// the target's disk (its app tables live in a tablespace on a small tmpfs that the case fills), the
// backup directory's disk (filled by the worker's test-fault plan right after the free-space check),
// and the worker's wall clock (hours ahead, then another worker hours behind).
import { execFile, execFileSync } from 'node:child_process';
import { chownSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { sqlFile } from '../../infra/sql-files';
import { fillFilesystem } from '../../workers/test-faults';
import { waitUntil } from '../helpers/wait';
import { backupFiles, type CaseContext, type FaultCase } from './harness';
import { mountTmpfs, tmpfsForPostgres, unmountTmpfs } from './tmpfs';

/** What a case keeps between its hooks (prepare → inject → extra → cleanup). */
interface ResourceState {
  mount?: string;
  tablespace?: string;
  ballast?: string;
  workflowId?: string;
  /** `migrator status --json` listed the chunk retrying with SQLSTATE 53100. */
  statusShowsDiskFull?: boolean;
}
const execFileAsync = promisify(execFile);
const MIGRATOR_BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const states = new WeakMap<CaseContext, ResourceState>();
const stateOf = (ctx: CaseContext): ResourceState => {
  if (!states.has(ctx)) states.set(ctx, {});
  return states.get(ctx)!;
};

const strikeAt = (ctx: CaseContext, min = 4, spread = 6) => min + (ctx.seed % spread);
const waitFor = (what: string, check: () => Promise<boolean>) => waitUntil(what, check, { timeoutMs: 120_000 });
const postgresId = (flag: '-u' | '-g') => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());

/** Room for the app tables' first chunks; the ballast takes the rest when the fault strikes. */
const TABLESPACE_MB = 64;
/** Passes both free-space checks (source file and the fresh target database, × BACKUP_SPACE_FACTOR). */
const BACKUP_TMPFS_MB = 48;

/** A tablespace on its own tmpfs, and the app's tables created in it before the run (the run finds them). */
async function tablespaceOnTmpfs(ctx: CaseContext): Promise<void> {
  const s = stateOf(ctx);
  s.mount = tmpfsForPostgres('migrator-faults-ts-', TABLESPACE_MB);
  const location = join(s.mount, 'pgdata');
  mkdirSync(location, { mode: 0o700 });
  chownSync(location, postgresId('-u'), postgresId('-g'));
  s.tablespace = `fault_ts_${ctx.seed}_${Date.now().toString(36)}`;
  await ctx.query(`CREATE TABLESPACE ${s.tablespace} LOCATION '${location}'`);
  await ctx.query(
    `SET default_tablespace = ${s.tablespace};\n${sqlFile('target/001_notes_schema.sql', { schema: '"public"' })};\nRESET default_tablespace`,
  );
  const inside = await ctx.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM pg_class c JOIN pg_tablespace t ON t.oid = c.reltablespace
     WHERE t.spcname = $1 AND c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace`,
    [s.tablespace],
  );
  if (inside[0]!.n < 4) throw new Error(`only ${inside[0]!.n} app tables were created in ${s.tablespace}`);
}

async function dropTablespace(ctx: CaseContext): Promise<void> {
  const s = stateOf(ctx);
  if (s.tablespace) {
    const admin = new pg.Client({ connectionString: ctx.stack.pgUrl });
    admin.on('error', () => undefined);
    await admin.connect();
    try {
      await admin.query(`DROP TABLESPACE IF EXISTS ${s.tablespace}`);
    } finally {
      await admin.end().catch(() => undefined);
    }
  }
  if (s.mount) unmountTmpfs(s.mount, true);
}

/** Both target-disk cases: fill the tablespace's tmpfs at the seeded chunk, wait for a chunk to hit it. */
function targetDiskFull(name: string, persistent: boolean): FaultCase {
  return {
    name,
    ci: !persistent,
    // Freed: the retried chunks commit once space is back. Never freed: the transfer gives up after
    // its attempts (~2.5 min of backoff) and the run rolls back, which needs no new space.
    expectStatus: persistent ? /^RolledBack$/ : /^completed$/,
    notes: 1200,
    timeoutMs: persistent ? 480_000 : 240_000,
    prepare: tablespaceOnTmpfs,
    cleanup: dropTablespace,
    async inject(ctx) {
      const s = stateOf(ctx);
      const h = await ctx.start();
      await ctx.waitForChunks(strikeAt(ctx));
      ctx.faultStarted();
      s.ballast = join(s.mount!, 'ballast');
      fillFilesystem(s.ballast);
      // The worker logs each disk_full it retries (the attempts' failures are not in the history).
      await waitFor('a chunk to fail with disk_full (53100)', async () =>
        ctx.workers.some((w) => w.output().includes('SQLSTATE 53100')),
      );
      if (!persistent) {
        await ctx.sleep(3000);
        rmSync(s.ballast, { force: true });
      } else {
        // What an operator sees meanwhile: `migrator status` names the retried chunk and the full disk.
        await waitFor('`migrator status` to show the chunk retrying on the full disk', async () => {
          // Async: a blocking call would stop this process draining the workers' output pipes, and a
          // worker writing to a full pipe blocks (stdout to a pipe is synchronous on Linux).
          const { stdout: out } = await execFileAsync(
            process.execPath,
            [MIGRATOR_BIN, 'status', '--workflow-id', h.workflowId, '--json'],
            { env: { ...process.env, TEMPORAL_ADDRESS: ctx.stack.temporalAddress }, encoding: 'utf8' },
          );
          const retrying =
            (JSON.parse(out) as { retrying?: { activity: string; lastFailure: string }[] }).retrying ?? [];
          s.statusShowsDiskFull = retrying.some(
            (r) => r.activity === 'transferChunk' && /SQLSTATE 53100/.test(r.lastFailure),
          );
          return s.statusShowsDiskFull;
        });
      }
      return [h];
    },
    async extra(ctx, { messages }) {
      const v: string[] = [];
      const log = ctx.workers.map((w) => w.output()).join('\n');
      if (!/TargetDiskFull|out of disk space \(SQLSTATE 53100\)/.test(log))
        v.push('no chunk failed with the typed disk-full error (fault not injected, or not classified)');
      // The rolled-back run says why: the disk, not a generic chunk failure.
      if (persistent && !stateOf(ctx).statusShowsDiskFull)
        v.push('`migrator status --json` never listed the chunk retrying on the full disk');
      if (persistent && !/out of disk space \(SQLSTATE 53100\).*free space/.test(messages[0] ?? ''))
        v.push(`the rollback's reason does not name the full disk: ${messages[0] ?? '(none)'}`);
      return v;
    },
  };
}

/** The backup directory fills up during pg_dump, after the free-space check passed. */
const backupDirFull: FaultCase = {
  name: 'backup-dir-full',
  ci: true,
  // Attempt 1: BackupDirectoryFull (retryable); attempt 2: the free-space check refuses, not retried.
  expectStatus: /^BackupInsufficientSpace$/,
  noTransfer: true,
  notes: 800,
  timeoutMs: 180_000,
  async prepare(ctx) {
    mkdirSync(ctx.backupDir, { recursive: true });
    mountTmpfs(ctx.backupDir, BACKUP_TMPFS_MB, '0700');
    stateOf(ctx).mount = ctx.backupDir;
  },
  async cleanup(ctx) {
    const s = stateOf(ctx);
    if (s.mount) unmountTmpfs(s.mount);
  },
  async inject(ctx) {
    const workflowId = `backup-full-${ctx.seed}-${Date.now()}`;
    stateOf(ctx).workflowId = workflowId;
    writeFileSync(
      ctx.faultsFile,
      JSON.stringify({ [workflowId]: { fillDiskOnBackup: { dir: ctx.backupDir, file: 'target.dump' } } }),
    );
    ctx.faultStarted();
    return [await ctx.start(workflowId)];
  },
  async extra(ctx, { statuses, messages }) {
    const v: string[] = [];
    const log = ctx.workers.map((w) => w.output()).join('\n');
    if (!log.includes('[test-faults] filled the backup filesystem'))
      v.push('the backup filesystem was never filled (fault not injected)');
    // Attempt 1 (the worker's "Activity failed" warning): pg_dump's ENOSPC, typed and explained.
    if (!log.includes('is full: writing the target dump (pg_dump) ran out of space'))
      v.push('no attempt failed with the typed BackupDirectoryFull error (pg_dump never hit the full disk)');
    if (statuses[0] === 'completed') v.push('the run completed although its backup directory was full');
    const message = messages[0] ?? '';
    if (!message.includes(ctx.backupDir) || !/free space/.test(message) || !/MIGRATOR_BACKUP_DIR/.test(message))
      v.push(`the failure does not name the directory and what to do: ${message}`);
    const files = backupFiles(ctx.backupDir);
    const partials = files.filter((f) => f.endsWith('.partial'));
    if (partials.length) v.push(`partial backup files left behind: ${partials.join(', ')}`);
    if (files.some((f) => f.endsWith('target.dump'))) v.push('a target.dump exists although pg_dump never finished');
    const tables = await ctx.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('public', 'migration')`,
    );
    if (tables[0]!.n !== 0) v.push(`the run went past the backup phase: ${tables[0]!.n} tables created in the target`);
    return v;
  },
};

const SKEW_MS = 7 * 3600_000;

/**
 * Worker 1's wall clock runs 7 h ahead; at the seeded chunk a worker 7 h behind joins and worker 1 is
 * killed, so the run's chunks are written by both. Time that matters comes from PostgreSQL (now()
 * defaults) and from Temporal (the workflow's clock for asOf, the server's for timeouts): nothing
 * the run writes may carry either worker's clock.
 */
const workerClockSkew: FaultCase = {
  name: 'worker-clock-skew',
  ci: true,
  notes: 1200,
  timeoutMs: 180_000,
  workerOptions: (index) => ({ clockOffsetMs: index === 0 ? SKEW_MS : -SKEW_MS }),
  async inject(ctx) {
    const h = await ctx.start();
    await ctx.waitForChunks(strikeAt(ctx));
    ctx.faultStarted();
    await ctx.addWorker();
    await ctx.workers[0]!.kill('SIGKILL');
    return [h];
  },
  async extra(ctx) {
    const v: string[] = [];
    for (const [i, w] of ctx.workers.entries()) {
      if (!/\[test-clock\] wall clock shifted by [+-]7\.00 h/.test(w.output()))
        v.push(`worker ${i + 1} ran without its skewed clock (preload not applied)`);
    }
    // Every timestamp in the control schema within an hour of PostgreSQL's clock (the skew is 7 h).
    const columns = await ctx.query<{ t: string; c: string }>(
      `SELECT table_name AS t, column_name AS c FROM information_schema.columns
       WHERE table_schema = 'migration' AND data_type = 'timestamp with time zone'`,
    );
    if (!columns.length) v.push('no timestamp column in the control schema (nothing checked)');
    for (const { t, c } of columns) {
      const off = await ctx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM migration.${t}
         WHERE ${c} NOT BETWEEN now() - interval '1 hour' AND now() + interval '1 minute'`,
      );
      if (off[0]!.n) v.push(`migration.${t}.${c}: ${off[0]!.n} row(s) off PostgreSQL's clock by more than an hour`);
    }
    const ledger = await ctx.query<{ n: number }>(`SELECT count(*)::int AS n FROM migration.chunk_ledger`);
    if (!ledger[0]!.n) v.push('no chunk in the ledger (timestamps not checked)');
    return v;
  },
};

export const RESOURCE_CASES: FaultCase[] = [
  targetDiskFull('target-disk-full', false),
  targetDiskFull('target-disk-full-persistent', true),
  backupDirFull,
  workerClockSkew,
];
