// End-to-end benchmark, one run: the same generated dataset (a) copied with plain COPY plus keys (the
// physical limit), (b) loaded by pgloader when it is installed or installable, (c) migrated by this
// project's workflow on a worker process of its own, against a real dev server and PostgreSQL. Prints
// the comparison and appends it as one JSON line to var/bench/results.jsonl.
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { generateDataset } from '../gen/generate';
import { startLocalPostgres, withDatabase, type LocalPostgres } from '../infra/postgres';
import { startDevServer } from '../infra/temporal-cli';
import type { MigrationResult } from '../workflows/definitions';
import { copyBaseline } from './copy-baseline';
import { runPgloader } from './pgloader';
import { formatReport, mib, perMillion, rate, ratio, toJsonLine, type BenchRecord } from './report';
import { peakRssSampler } from './rss';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'migrator.js');
export const DEFAULT_RESULTS_FILE = join(ROOT, 'var', 'bench', 'results.jsonl');
const DATASET_SEED = 42;
const TABLES = ['local_folders', 'local_notes', 'note_folders', 'note_tasks'];

export interface BenchOptions {
  notes: number;
  chunkRows: number;
  parallelism: number;
  /** Worker processes polling the bench's task queue (default 1): the chunks of the window spread over them. */
  workers?: number;
  /** Dataset file: reused when it exists, generated there otherwise (default var/bench/notes-<n>-seed42.sqlite). */
  source?: string;
  /** false: skip pgloader (it is then reported as skipped). */
  pgloader: boolean;
  resultsFile: string;
}

const log = (line: string): void => console.log(line);

/** Reuses the dataset file when present; otherwise generates it beside, then renames, so an interrupted run leaves no half file. */
function dataset(path: string, notes: number): { reused: boolean; rows: number; notes: number } {
  let reused = true;
  if (!existsSync(path)) {
    reused = false;
    mkdirSync(dirname(path), { recursive: true });
    const partial = `${path}.partial-${process.pid}`;
    rmSync(partial, { force: true });
    const t0 = Date.now();
    log(`dataset: generating ${notes.toLocaleString('en-US')} notes into ${path}`);
    const s = generateDataset({ path: partial, seed: DATASET_SEED, notes });
    renameSync(partial, path);
    log(
      `dataset: ${s.notes} notes, ${s.tasks} tasks, ${s.folders} folders, ${s.noteFolders} note_folders in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
  }
  const db = new Database(path, { readonly: true });
  try {
    const count = (t: string): number => (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n;
    return { reused, rows: TABLES.reduce((n, t) => n + count(t), 0), notes: count('local_notes') };
  } finally {
    db.close();
  }
}

/** Waits for the worker's "polling task queue" line (printed once its workflow bundle is built), so startup is not timed. */
async function workerReady(worker: ChildProcess): Promise<void> {
  let err = '';
  await new Promise<void>((resolveReady, reject) => {
    const onData = (d: Buffer): void => {
      err += d.toString();
      if (err.includes('polling task queue')) {
        worker.stderr!.off('data', onData);
        worker.stderr!.pipe(process.stderr);
        resolveReady();
      }
    };
    worker.stderr!.on('data', onData);
    worker.once('exit', (code) => reject(new Error(`bench worker exited with ${code} before polling:\n${err}`)));
  });
}

/** Events of a workflow run, its continued-as-new runs and, recursively, its children's: what Temporal stores for one migration. */
async function historyEvents(
  client: Client,
  workflowId: string,
  runId: string,
): Promise<{ events: number; runs: number }> {
  let events = 0;
  let runs = 0;
  const queue: { workflowId: string; runId: string }[] = [{ workflowId, runId }];
  while (queue.length > 0) {
    const next = queue.shift()!;
    const history = await client.workflow.getHandle(next.workflowId, next.runId).fetchHistory();
    const list = history.events ?? [];
    events += list.length;
    runs++;
    for (const e of list) {
      const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
      if (child?.workflowId && child.runId) queue.push({ workflowId: child.workflowId, runId: child.runId });
      const continued = e.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId;
      if (continued) queue.push({ workflowId: next.workflowId, runId: continued });
    }
  }
  return { events, runs };
}

function gitCommit(): string | null {
  // "-dirty" when the worktree has uncommitted changes: the figures are then not of that commit alone.
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function recreateDatabases(url: string, names: string[]): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    for (const db of names) {
      await admin.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin.query(`CREATE DATABASE ${db}`);
    }
  } finally {
    await admin.end();
  }
}

/** (c): the migration workflow on worker processes of their own, whose VmHWM is the peak RSS reported. */
async function runMigration(
  opts: BenchOptions,
  source: string,
  target: string,
  address: string,
  dir: string,
): Promise<BenchRecord['migration']> {
  const userId = randomUUID();
  const keyring = join(dir, 'keyring.json');
  writeFileSync(keyring, JSON.stringify({ [userId]: randomBytes(32).toString('base64') }));
  const taskQueue = 'bench';
  // The bench worker's config grants the bench target, keyring and the source's directory only.
  const configFile = join(dir, 'worker.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      targets: { bench: { dsn: 'env:BENCH_TARGET', database: 'bench_target' } },
      keyrings: { bench: `file:${keyring}` },
      sourceDirs: [dirname(resolve(source))],
      // Datasets are generated once and reused under a fresh user id each run: no user marker to match.
      allowUnmarkedSources: true,
    }),
  );
  // BENCH_WORKER_NODE_ARGS: extra node flags for the worker only (e.g. `--cpu-prof --cpu-prof-dir=DIR`,
  // which NODE_OPTIONS does not accept); the profile is written when the worker exits on SIGTERM.
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const workers = Array.from({ length: opts.workers ?? 1 }, () =>
    spawn(
      process.execPath,
      [
        ...nodeArgs,
        BIN,
        'worker',
        '--task-queue',
        taskQueue,
        '--backup-dir',
        join(dir, 'backups'),
        '--config',
        configFile,
      ],
      {
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: address,
          TEMPORAL_NAMESPACE: 'default',
          BENCH_TARGET: target,
          MIGRATOR_LOG_LEVEL: 'WARN',
        },
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    ),
  );
  const connection = await Connection.connect({ address });
  try {
    await Promise.all(workers.map(workerReady));
    const samplers = workers.map((w) => peakRssSampler(w.pid!));
    const client = new Client({ connection });
    const started = Date.now();
    const handle = await client.workflow.start('migrationWorkflow', {
      taskQueue,
      workflowId: `bench-${userId}`,
      args: [
        {
          source: resolve(source),
          userId,
          target: 'bench',
          keyring: 'bench',
          chunkRows: opts.chunkRows,
          parallelism: opts.parallelism,
        },
      ],
    });
    const result = (await handle.result()) as MigrationResult;
    const ms = Date.now() - started;
    const peaks = samplers.map((r) => mib(r.stop()));
    const history = await historyEvents(client, handle.workflowId, handle.firstExecutionRunId);
    const rows = Object.values(result.tables).reduce((n, t) => n + t.migrated, 0);
    return {
      ms,
      rows,
      rowsPerSecond: rate(rows, ms),
      validationOk: result.validation.ok,
      phasesMs: result.phaseDurationsMs,
      workerPeakRssMb: Math.max(...peaks),
      ...(workers.length > 1 ? { workersPeakRssMb: peaks } : {}),
      historyEvents: history.events,
      historyRuns: history.runs,
      historyEventsPerMillionRows: perMillion(history.events, rows),
    };
  } finally {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
    await connection.close();
  }
}

export async function runBenchmark(opts: BenchOptions): Promise<BenchRecord> {
  const source = resolve(opts.source ?? join(ROOT, 'var', 'bench', `notes-${opts.notes}-seed${DATASET_SEED}.sqlite`));
  const data = dataset(source, opts.notes);
  log(`dataset: ${data.rows.toLocaleString('en-US')} rows in ${source}${data.reused ? ' (reused)' : ''}`);
  const dir = mkdtempSync(join(tmpdir(), 'migrator-bench-'));
  let pgServer: LocalPostgres | null = null;
  const pgUrl = process.env.DATABASE_URL ?? (pgServer = await startLocalPostgres()).url;
  const temporal = await startDevServer({ headless: true });
  try {
    await recreateDatabases(pgUrl, ['bench_copy', 'bench_pgloader', 'bench_target']);

    log('(a) COPY + primary and foreign keys ...');
    const copyRss = { peak: process.memoryUsage().rss };
    const copyTimer = setInterval(() => (copyRss.peak = Math.max(copyRss.peak, process.memoryUsage().rss)), 200);
    const copy = await copyBaseline(source, withDatabase(pgUrl, 'bench_copy')).finally(() => clearInterval(copyTimer));

    let pgloader: BenchRecord['pgloader'] = { status: 'skipped', reason: '--no-pgloader' };
    if (opts.pgloader) {
      log('(b) pgloader ...');
      const out = await runPgloader(source, withDatabase(pgUrl, 'bench_pgloader'), dir, log);
      pgloader =
        out.status === 'ok'
          ? {
              status: 'ok',
              version: out.version,
              ms: out.ms,
              rows: out.rows,
              rowsPerSecond: rate(out.rows, out.ms),
              peakRssMb: mib(out.peakRssKb),
            }
          : { status: out.status, reason: out.reason };
    }

    log('(c) migration, end to end ...');
    const migration = await runMigration(opts, source, withDatabase(pgUrl, 'bench_target'), temporal.address, dir);

    const limitRate = rate(copy.rows, copy.ms);
    const [load1, load5] = loadavg();
    const record: BenchRecord = {
      at: new Date().toISOString(),
      commit: gitCommit(),
      host: { cpus: cpus().length, loadAvg1: load1!, loadAvg5: load5! },
      dataset: { path: source, notes: data.notes, rows: data.rows, reused: data.reused },
      settings: { chunkRows: opts.chunkRows, parallelism: opts.parallelism, workers: opts.workers ?? 1 },
      limit: {
        ms: copy.ms,
        copyMs: copy.copyMs,
        keysMs: copy.keysMs,
        rows: copy.rows,
        rowsPerSecond: limitRate,
        peakRssMb: Math.round(copyRss.peak / 2 ** 20),
      },
      pgloader,
      migration,
      ratios: {
        toLimit: ratio(migration.rowsPerSecond, limitRate) ?? 0,
        toPgloader: pgloader.status === 'ok' ? ratio(migration.rowsPerSecond, pgloader.rowsPerSecond) : null,
      },
    };
    log('');
    for (const line of formatReport(record)) log(line);
    mkdirSync(dirname(opts.resultsFile), { recursive: true });
    appendFileSync(opts.resultsFile, toJsonLine(record));
    log(`\nappended to ${opts.resultsFile}`);
    return record;
  } finally {
    await temporal.stop();
    pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
