// The fault suite's own servers: a dedicated PostgreSQL cluster it may crash and restart (never the
// shared test cluster), a Temporal dev server persisting to a db file (so it can be killed and
// started again with its history), and a fault proxy in front of each, which is where the workers
// connect. The suite's own client and checks connect directly, past the proxies.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { restartLocalCluster, startLocalPostgres, type LocalPostgres } from '../../infra/postgres';
import { freePort } from '../../infra/ports';
import { startDevServer, type DevServer } from '../../infra/temporal-cli';
import { FaultProxy } from './proxy';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));

export interface FaultStack {
  dir: string;
  /** Direct admin URL of the dedicated cluster (the suite's checks; workers never see it). */
  pgUrl: string;
  pgProxy: FaultProxy;
  temporalAddress: string;
  temporalProxy: FaultProxy;
  client: Client;
  /** Workers' URL for `database`: through the PostgreSQL proxy. */
  proxiedUrl(database: string): string;
  directUrl(database: string): string;
  restartPostgres(options: { downMs: number }): Promise<void>;
  /** Kills the Temporal dev server (SIGKILL) and starts it again on the same port and db file. */
  restartTemporal(options: { downMs: number }): Promise<void>;
  close(): Promise<void>;
}

export async function startFaultStack(): Promise<FaultStack> {
  const dir = mkdtempSync(join(tmpdir(), 'migrator-faults-'));
  const pgPort = await freePort();
  // Its own temp directory: initdb runs as `postgres` and cannot enter the suite's 0700 one.
  const pgDir = mkdtempSync(join(tmpdir(), 'migrator-faults-pg-'));
  // Durable (fsync, synchronous_commit on): with the test cluster's fsync=off/synchronous_commit=off
  // an immediate stop loses commits already acknowledged, which no client can survive (the first
  // run of this suite saw it: chunks in the ledger whose rows were gone after the restart).
  let pg: LocalPostgres = await startLocalPostgres({ dataDir: pgDir, port: pgPort, durable: true });
  const pgProxy = new FaultProxy('127.0.0.1', pgPort);
  await pgProxy.start();
  const temporalPort = await freePort();
  const dbFile = join(dir, 'temporal.db');
  let temporal: DevServer = await startDevServer({
    headless: true,
    port: temporalPort,
    dbFile,
    logFile: join(dir, 'temporal.log'),
  });
  const temporalProxy = new FaultProxy('127.0.0.1', temporalPort);
  await temporalProxy.start();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const url = (port: number, database: string) => `postgres://postgres@127.0.0.1:${port}/${database}`;
  return {
    dir,
    pgUrl: pg.url,
    pgProxy,
    temporalAddress: temporal.address,
    temporalProxy,
    client,
    proxiedUrl: (database) => url(pgProxy.port, database),
    directUrl: (database) => url(pgPort, database),
    async restartPostgres({ downMs }) {
      pg = await restartLocalCluster(pg.dataDir, pgPort, { mode: 'immediate', downMs, durable: true });
    },
    async restartTemporal({ downMs }) {
      temporal.process?.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, downMs));
      temporal = await startDevServer({
        headless: true,
        port: temporalPort,
        dbFile,
        logFile: join(dir, 'temporal.log'),
      });
      // The suite's client (and the workers) reconnect by themselves: gRPC channels redial.
    },
    async close() {
      await connection.close().catch(() => undefined);
      await temporalProxy.stop();
      await pgProxy.stop();
      await temporal.stop();
      pg.stop();
      rmSync(pgDir, { recursive: true, force: true });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerProcess {
  process: ChildProcess;
  output(): string;
  stopped: boolean;
  /** Exited without the suite killing it (a crash: the bug this suite was started for). */
  died: boolean;
  kill(signal?: NodeJS.Signals): Promise<void>;
  signal(signal: NodeJS.Signals): void;
}

/** A worker in its own process (`migrator worker`), reaching PostgreSQL and Temporal through the proxies. */
export async function spawnWorker(
  stack: FaultStack,
  options: {
    taskQueue: string;
    env: Record<string, string>;
    backupDir: string;
    logFile: string;
    configFile: string;
    faultsFile?: string;
    /** Node options before the CLI (e.g. `--import` of the clock-offset preload). */
    nodeArgs?: string[];
  },
): Promise<WorkerProcess> {
  let out = '';
  const log = createWriteStream(options.logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeArgs ?? []),
      BIN,
      'worker',
      '--task-queue',
      options.taskQueue,
      '--backup-dir',
      options.backupDir,
      '--max-activities',
      '4',
      '--config',
      options.configFile,
      ...(options.faultsFile ? ['--test-faults', options.faultsFile] : []),
    ],
    {
      env: {
        ...process.env,
        ...options.env,
        TEMPORAL_ADDRESS: `127.0.0.1:${stack.temporalProxy.port}`,
        TEMPORAL_NAMESPACE: 'default',
        MIGRATOR_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const collect = (d: Buffer) => {
    out += d.toString();
    log.write(d);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // Generous: each worker bundles its workflows (webpack) at start, several at once on 2 loaded cores.
  const startMs = 120_000;
  const deadline = Date.now() + startMs;
  // Printed once the worker is built, just before it starts polling.
  while (!/polling task queue/.test(out)) {
    if (child.exitCode !== null) throw new Error(`worker process exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL'); // never left running behind the suite
      throw new Error(`worker process did not start within ${startMs / 1000} s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  let killed = false;
  const w: WorkerProcess = {
    process: child,
    get died() {
      return w.stopped && !killed;
    },
    output: () => out,
    get stopped() {
      return child.exitCode !== null || child.signalCode !== null;
    },
    signal(signal) {
      if (!w.stopped) child.kill(signal);
    },
    async kill(signal = 'SIGKILL') {
      killed = true;
      if (!w.stopped) {
        child.kill('SIGCONT'); // a frozen worker cannot act on SIGTERM
        child.kill(signal);
      }
      await exited;
      log.end();
    },
  };
  return w;
}
