// Scale test: the same 4-user staged rollout (workflows/rollout.ts, one cohort of all 4 users, 4 in
// flight) run once on 1 worker process and once on 2, each a separate `migrator worker` OS process
// polling one task queue, a fresh target database each time. Prints wall times, the speed-up, whether
// every user's run validated, and how much CPU each worker process used (a single Node worker runs
// its activities on one event loop: CPU-bound chunk work uses at most one core however many activity
// slots it has). Appends one JSON line to var/bench/scale.jsonl.
//
//   node --import tsx bench/scale.ts [--cluster] [--notes-per-user N] [--workers 1,2] [--max-activities N]
//
// --cluster: a Temporal server with PostgreSQL persistence (infra/temporal-cluster.ts), built and set
// up on first use; default the CLI dev server. PostgreSQL: DATABASE_URL, else a throwaway local one.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { generateDataset } from '../gen/generate';
import { startLocalPostgres, withDatabase, type LocalPostgres } from '../infra/postgres';
import { PROJECT_ROOT, startDevServer } from '../infra/temporal-cli';
import { startTemporalCluster } from '../infra/temporal-cluster';
import { TEMPORAL_SERVER_VERSION } from '../infra/temporal-cluster-config';
import { migrationWorkflowId, type RolloutInput } from '../lib/input';
import type { MigrationResult, RolloutStatus } from '../workflows/definitions';
import { peakRssSampler } from './rss';

const BIN = join(PROJECT_ROOT, 'bin', 'migrator.js');
const USERS = 4;
const TARGET = 'scale';
const TARGET_DB = 'scale_target';
const RESULTS = join(PROJECT_ROOT, 'var', 'bench', 'scale.jsonl');
const log = (line: string): void => console.log(line);

interface RunResult {
  workers: number;
  ms: number;
  rows: number;
  rowsPerSecond: number;
  validated: boolean;
  failures: string[];
  /** CPU seconds each worker process (with the pg_dump/pg_restore it runs) used during the run / wall seconds (1.0 = one core busy). */
  workerCores: number[];
  /** The whole machine's busy fraction of all its cores during the run. */
  machineBusy: number;
  /** Cores used by the Temporal server process and by PostgreSQL (postmaster and its backends), when known. */
  serverCores: number | null;
  postgresCores: number | null;
  /** Per phase, the slowest of the 4 users' durations (seconds). */
  phasesMaxS: Record<string, number>;
  workerPeakRssMb: number[];
}

/** utime + stime of a process in seconds (/proc/<pid>/stat fields 14, 15; after the parenthesised name). */
function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ is 100 on Linux
  } catch {
    return 0;
  }
}

/** CPU seconds of a process and of its children: live ones now, and the reaped ones its cutime/cstime hold. */
function treeCpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    let total = (Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) / 100;
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    for (const child of children ? children.split(' ') : []) total += cpuSeconds(Number(child));
    return total;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of all cores (/proc/stat first line). */
function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

function sources(dir: string, notes: number): string[] {
  mkdirSync(dir, { recursive: true });
  return Array.from({ length: USERS }, (_, i) => {
    const path = join(dir, `user-${i}-notes-${notes}.sqlite`);
    if (!existsSync(path)) {
      const partial = `${path}.partial-${process.pid}`;
      rmSync(partial, { force: true });
      const t0 = Date.now();
      const s = generateDataset({ path: partial, seed: 1000 + i, notes });
      renameSync(partial, path);
      log(`source ${i}: ${s.notes} notes, ${s.tasks} tasks generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    }
    return path;
  });
}

async function recreateDatabase(adminUrl: string, name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
}

/** A `migrator worker` process; resolves once it polls (its workflow bundle is built), so startup is not timed. */
async function startWorker(opts: {
  taskQueue: string;
  address: string;
  configFile: string;
  target: string;
  backupDir: string;
  logFile: string;
  maxActivities?: number;
}): Promise<ChildProcess> {
  const args = [BIN, 'worker', '--task-queue', opts.taskQueue, '--backup-dir', opts.backupDir];
  args.push('--config', opts.configFile);
  if (opts.maxActivities) args.push('--max-activities', String(opts.maxActivities));
  const child = spawn(process.execPath, args, {
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.address,
      TEMPORAL_NAMESPACE: 'default',
      SCALE_TARGET: opts.target,
      MIGRATOR_LOG_LEVEL: 'WARN',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const out = createWriteStream(opts.logFile);
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (d: Buffer) => {
      out.write(d);
      if (seen !== 'ready') {
        seen += d.toString();
        if (seen.includes('polling task queue')) {
          seen = 'ready';
          resolve();
        }
      }
    });
    child.once('exit', (code) => reject(new Error(`worker exited with ${code} before polling:\n${seen}`)));
  });
  return child;
}

async function stopWorker(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(timer);
}

async function runOnce(opts: {
  workers: number;
  client: Client;
  address: string;
  adminUrl: string;
  sources: string[];
  dir: string;
  maxActivities?: number;
  serverPid: number | null;
  postmasterPid: number | null;
}): Promise<RunResult> {
  await recreateDatabase(opts.adminUrl, TARGET_DB);
  const users = opts.sources.map((source) => ({ userId: randomUUID(), source }));
  const runDir = join(opts.dir, `workers-${opts.workers}`);
  mkdirSync(runDir, { recursive: true });
  const keyring = join(runDir, 'keyring.json');
  writeFileSync(
    keyring,
    JSON.stringify(Object.fromEntries(users.map((u) => [u.userId, randomBytes(32).toString('base64')]))),
  );
  const configFile = join(runDir, 'worker.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      targets: { [TARGET]: { dsn: 'env:SCALE_TARGET', database: TARGET_DB } },
      keyrings: { [TARGET]: `file:${keyring}` },
      sourceDirs: [dirname(opts.sources[0]!)],
      // Datasets are generated once and reused under a fresh user id each run: no user marker to match.
      allowUnmarkedSources: true,
    }),
  );
  const taskQueue = `scale-${opts.workers}w-${randomUUID().slice(0, 8)}`;
  const workers = await Promise.all(
    Array.from({ length: opts.workers }, (_, i) =>
      startWorker({
        taskQueue,
        address: opts.address,
        configFile,
        target: withDatabase(opts.adminUrl, TARGET_DB),
        backupDir: join(runDir, `backups-${i}`),
        logFile: join(runDir, `worker-${i}.log`),
        maxActivities: opts.maxActivities,
      }),
    ),
  );
  try {
    const rss = workers.map((w) => peakRssSampler(w.pid!));
    const cpu0 = workers.map((w) => treeCpuSeconds(w.pid!));
    const machine0 = machineJiffies();
    const server0 = opts.serverPid ? cpuSeconds(opts.serverPid) : 0;
    const pg0 = opts.postmasterPid ? treeCpuSeconds(opts.postmasterPid) : 0;
    const input: RolloutInput = { target: TARGET, keyring: TARGET, users, cohorts: [1], concurrency: USERS };
    const started = Date.now();
    const handle = await opts.client.workflow.start('stagedRollout', {
      taskQueue,
      workflowId: `scale-rollout-${taskQueue}`,
      args: [input],
    });
    const status = (await handle.result()) as RolloutStatus;
    const ms = Date.now() - started;
    const machine1 = machineJiffies();
    const cores = (cpu: number): number => +(cpu / (ms / 1000)).toFixed(2);
    const serverCores = opts.serverPid ? cores(cpuSeconds(opts.serverPid) - server0) : null;
    const postgresCores = opts.postmasterPid ? cores(treeCpuSeconds(opts.postmasterPid) - pg0) : null;
    const phasesMaxS: Record<string, number> = {};
    const workerCores = workers.map((w, i) => +((treeCpuSeconds(w.pid!) - cpu0[i]!) / (ms / 1000)).toFixed(2));
    const failures = status.cohorts.flatMap((c) => c.failures.map((f) => `${f.userId}: ${f.type} ${f.message ?? ''}`));
    let rows = 0;
    let validated = status.status === 'completed' && status.cohorts.every((c) => c.failed === 0);
    for (const u of users) {
      const result = (await opts.client.workflow
        .getHandle(migrationWorkflowId({ target: TARGET, userId: u.userId }))
        .result()
        .catch(() => null)) as MigrationResult | null;
      if (!result?.validation.ok) validated = false;
      for (const [phase, phaseMs] of Object.entries(result?.phaseDurationsMs ?? {}))
        phasesMaxS[phase] = Math.max(phasesMaxS[phase] ?? 0, +((phaseMs ?? 0) / 1000).toFixed(1));
      rows += result ? Object.values(result.tables).reduce((n, t) => n + t.migrated, 0) : 0;
    }
    return {
      workers: opts.workers,
      ms,
      rows,
      rowsPerSecond: Math.round(rows / (ms / 1000)),
      validated,
      failures,
      workerCores,
      machineBusy: +((machine1.busy - machine0.busy) / (machine1.total - machine0.total)).toFixed(2),
      serverCores,
      postgresCores,
      phasesMaxS,
      workerPeakRssMb: rss.map((r) => Math.round(r.stop() / 1024)),
    };
  } finally {
    await Promise.all(workers.map(stopWorker));
  }
}

/** Cores the rest of the machine (other jobs) used: busy cores minus the workers', the server's and PostgreSQL's. */
function otherCores(r: RunResult): string {
  const ours = r.workerCores.reduce((a, b) => a + b, 0) + (r.serverCores ?? 0) + (r.postgresCores ?? 0);
  return (r.machineBusy * cpus().length - ours).toFixed(2);
}

function gitCommit(): string | null {
  const r = spawnSync('git', ['describe', '--always', '--dirty'], { cwd: PROJECT_ROOT, encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : null;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      cluster: { type: 'boolean', default: false },
      'notes-per-user': { type: 'string', default: '2000' },
      workers: { type: 'string', default: '1,2' },
      'max-activities': { type: 'string' },
      'tools-dir': { type: 'string' },
    },
  });
  const notes = Number(values['notes-per-user']);
  if (!Number.isInteger(notes) || notes < 1)
    throw new Error(`--notes-per-user: expected a positive integer, got ${values['notes-per-user']}`);
  const workerCounts = values.workers.split(',').map(Number);
  if (workerCounts.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`--workers: expected e.g. 1,2, got ${values.workers}`);
  const maxActivities = values['max-activities'] ? Number(values['max-activities']) : undefined;
  if (maxActivities !== undefined && (!Number.isInteger(maxActivities) || maxActivities < 1))
    throw new Error(`--max-activities: expected a positive integer, got ${values['max-activities']}`);

  const srcs = sources(join(PROJECT_ROOT, 'var', 'bench', 'scale'), notes);
  const dir = mkdtempSync(join(tmpdir(), 'migrator-scale-'));
  let local: LocalPostgres | null = null;
  const adminUrl = process.env.DATABASE_URL ?? (local = await startLocalPostgres()).url;
  const server = values.cluster
    ? await startTemporalCluster({ adminUrl, stateDir: join(dir, 'cluster'), toolsDir: values['tools-dir'] })
    : await startDevServer({ headless: true });
  const serverKind = values.cluster
    ? `temporal-server ${TEMPORAL_SERVER_VERSION}, PostgreSQL persistence`
    : 'CLI dev server (SQLite)';
  const connection = await Connection.connect({ address: server.address });
  try {
    const client = new Client({ connection, namespace: 'default' });
    const runs: RunResult[] = [];
    for (const workers of workerCounts) {
      log(`rollout of ${USERS} users x ${notes} notes on ${workers} worker process(es) ...`);
      const r = await runOnce({
        workers,
        client,
        address: server.address,
        adminUrl,
        sources: srcs,
        dir,
        maxActivities,
        serverPid: server.process?.pid ?? null,
        postmasterPid: local
          ? Number(readFileSync(join(local.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0])
          : null,
      });
      log(
        `  ${(r.ms / 1000).toFixed(1)} s, ${r.rows.toLocaleString('en-US')} rows (${r.rowsPerSecond.toLocaleString('en-US')} rows/s), validated: ${r.validated ? 'yes' : 'NO'}; machine busy ${(r.machineBusy * 100).toFixed(0)} %, worker peak RSS ${r.workerPeakRssMb.join(' + ')} MiB`,
      );
      log(
        `  CPU (cores of ${cpus().length}): worker(s) ${r.workerCores.join(' + ')}, Temporal server ${r.serverCores ?? 'n/a'}, PostgreSQL ${r.postgresCores ?? 'n/a'}, everything else on the machine ${otherCores(r)}`,
      );
      log(
        `  slowest user per phase (s): ${Object.entries(r.phasesMaxS)
          .map(([p, sec]) => `${p} ${sec}`)
          .join(', ')}`,
      );
      for (const f of r.failures) log(`  failure: ${f}`);
      runs.push(r);
    }
    const [load1, load5, load15] = loadavg();
    // Repeated counts (--workers 1,2,1,2: interleaved, so a change in the machine's load hits both) are averaged.
    const meanMs = (n: number): number | null => {
      const of = runs.filter((r) => r.workers === n);
      return of.length ? of.reduce((a, r) => a + r.ms, 0) / of.length : null;
    };
    const base = meanMs(1);
    const speedUps = [...new Set(runs.map((r) => r.workers))]
      .filter((n) => n !== 1)
      .map((n) => ({ workers: n, meanMs: meanMs(n)!, speedUp: base ? +(base / meanMs(n)!).toFixed(2) : null }));
    log('');
    log(
      `server: ${serverKind}; ${cpus().length} cores; load average ${load1!.toFixed(2)} ${load5!.toFixed(2)} ${load15!.toFixed(2)}`,
    );
    for (const n of [...new Set(runs.map((r) => r.workers))])
      log(
        `${n} worker process(es): ${runs
          .filter((r) => r.workers === n)
          .map((r) => `${(r.ms / 1000).toFixed(1)} s`)
          .join(', ')}`,
      );
    for (const s of speedUps) log(`speed-up, ${s.workers} worker processes vs 1: ${s.speedUp ?? 'n/a'}x`);
    log(`every run validated: ${runs.every((r) => r.validated) ? 'yes' : 'NO'}`);
    mkdirSync(dirname(RESULTS), { recursive: true });
    appendFileSync(
      RESULTS,
      JSON.stringify({
        at: new Date().toISOString(),
        commit: gitCommit(),
        server: serverKind,
        host: { cpus: cpus().length, loadAvg: [load1, load5, load15] },
        users: USERS,
        notesPerUser: notes,
        maxActivities: maxActivities ?? null,
        runs,
        speedUps,
      }) + '\n',
    );
    log(`appended to ${RESULTS}`);
    if (!runs.every((r) => r.validated)) process.exitCode = 1;
  } finally {
    await connection.close();
    await server.stop();
    local?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
