// The demo's local stack under var/dev/: a PostgreSQL cluster and a Temporal dev server (with
// its Web UI and a persistent history file) started detached, so the run stays visible after
// the demo command exits. A second `migrator dev` reuses what is already running, also when a
// killed run never recorded it: its own cluster by postmaster.pid in its data directory, its own
// Temporal server by the history file on its command line.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { pgBinDir, runningPostmaster, startLocalPostgres, stopLocalCluster } from '../infra/postgres';
import { freePort, waitFor } from '../infra/ports';
import { PROJECT_ROOT, startDevServer, resolveTemporalCli, temporalCliVersion } from '../infra/temporal-cli';

/** Where the demo's stack lives (MIGRATOR_DEV_DIR overrides, e.g. for tests). */
export const STACK_DIR = process.env.MIGRATOR_DEV_DIR ?? join(PROJECT_ROOT, 'var', 'dev');
const STATE = join(STACK_DIR, 'stack.json');
const TEMPORAL_DB = join(STACK_DIR, 'temporal.db');

interface StackState {
  temporal?: { pid: number; address: string; uiUrl: string | null };
  postgres?: { port: number; dataDir: string };
}

export interface LocalStack {
  temporalAddress: string;
  uiUrl: string | null;
  pgUrl: string;
  temporalCli: string;
  notes: string[];
}

const readState = (): StackState => (existsSync(STATE) ? (JSON.parse(readFileSync(STATE, 'utf8')) as StackState) : {});
const writeState = (s: StackState) => writeFileSync(STATE, JSON.stringify(s, null, 2));
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function temporalResponds(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: 1000 });
    await c.workflowService.getSystemInfo({});
    await c.close();
    return true;
  } catch {
    return false;
  }
}

async function pgResponds(url: string): Promise<boolean> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1000 });
  try {
    await c.connect();
    await c.end();
    return true;
  } catch {
    return false;
  }
}

async function portOr(preferred: number): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => void freePort().then(resolve));
    s.listen(preferred, '127.0.0.1', () => s.close(() => resolve(preferred)));
  });
}

/** Waits up to `ms` for `check` (a server left starting by a killed run may need a moment). */
async function within(ms: number, check: () => Promise<boolean>): Promise<boolean> {
  try {
    await waitFor('a leftover server', check, ms);
    return true;
  } catch {
    return false;
  }
}

/**
 * This stack's own Temporal dev server, found by its command line (`start-dev --db-filename
 * <STACK_DIR>/temporal.db`) — also when a killed `dev` never recorded it in stack.json.
 */
export function ownTemporalServer(dbFile = TEMPORAL_DB): { pid: number; address: string; uiUrl: string | null } | null {
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return null; // no /proc: only stack.json tells
  }
  for (const pid of pids) {
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    const flag = (name: string) => {
      const i = args.indexOf(name);
      return i >= 0 ? args[i + 1] : undefined;
    };
    if (!args.includes('start-dev') || flag('--db-filename') !== dbFile) continue;
    const port = flag('--port');
    const uiPort = flag('--ui-port');
    if (!port) continue;
    return {
      pid: Number(pid),
      address: `${flag('--ip') ?? '127.0.0.1'}:${port}`,
      uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : null,
    };
  }
  return null;
}

async function killAndWait(pid: number): Promise<void> {
  process.kill(pid, 'SIGTERM');
  if (!(await within(10_000, async () => !alive(pid)))) process.kill(pid, 'SIGKILL');
  await within(5_000, async () => !alive(pid));
}

async function ensurePostgres(state: StackState, notes: string[]): Promise<string> {
  const dataDir = join(STACK_DIR, 'pg');
  const urlOn = (port: number) => `postgres://postgres@127.0.0.1:${port}/postgres`;
  if (state.postgres && (await pgResponds(urlOn(state.postgres.port)))) {
    notes.push(`PostgreSQL: reused local cluster ${dataDir} on port ${state.postgres.port}`);
    return urlOn(state.postgres.port);
  }
  // Not recorded (a killed dev) or recorded but not answering: is our own cluster still running?
  const leftover = runningPostmaster(dataDir);
  if (leftover) {
    if (await within(15_000, () => pgResponds(urlOn(leftover.port)))) {
      state.postgres = { port: leftover.port, dataDir };
      writeState(state);
      notes.push(
        `PostgreSQL: reused local cluster ${dataDir} on port ${leftover.port} (left running by an earlier run, pid ${leftover.pid})`,
      );
      return urlOn(leftover.port);
    }
    stopLocalCluster(dataDir, 'immediate'); // running but not answering: restart it
    notes.push(`PostgreSQL: stopped an unresponsive leftover cluster (pid ${leftover.pid})`);
  }
  const started = await startLocalPostgres({ dataDir, port: await portOr(55432), durable: true });
  state.postgres = { port: started.port, dataDir };
  writeState(state); // at once: a run killed from here on leaves a stack the next one finds
  notes.push(`PostgreSQL: started local cluster ${dataDir} on port ${started.port} (${pgBinDir()})`);
  return started.url;
}

async function ensureTemporal(state: StackState, notes: string[]): Promise<{ address: string; uiUrl: string | null }> {
  if (state.temporal && alive(state.temporal.pid) && (await temporalResponds(state.temporal.address))) {
    notes.push(`Temporal: reused dev server ${state.temporal.address} (pid ${state.temporal.pid})`);
    return state.temporal;
  }
  // Two servers on one temporal.db would fight over it: find (and reuse or replace) our own first.
  const leftover = ownTemporalServer();
  if (leftover) {
    if (await within(30_000, () => temporalResponds(leftover.address))) {
      state.temporal = leftover;
      writeState(state);
      notes.push(
        `Temporal: reused dev server ${leftover.address} (left running by an earlier run, pid ${leftover.pid})`,
      );
      return leftover;
    }
    await killAndWait(leftover.pid);
    notes.push(`Temporal: stopped an unresponsive leftover dev server (pid ${leftover.pid})`);
  }
  const server = await startDevServer({
    port: await portOr(7233),
    uiPort: await portOr(8233),
    dbFile: TEMPORAL_DB,
    logFile: join(STACK_DIR, 'temporal.log'),
    detached: true,
  });
  state.temporal = { pid: server.process?.pid ?? -1, address: server.address, uiUrl: server.uiUrl };
  writeState(state);
  const version = server.cli.source === 'SDK download' ? '' : ` — ${temporalCliVersion(server.cli.path)}`;
  notes.push(
    `Temporal: started dev server ${server.address}, Web UI ${server.uiUrl}, CLI from ${server.cli.source}: ${server.cli.path}${version}`,
  );
  return state.temporal;
}

export async function ensureLocalStack(): Promise<LocalStack> {
  mkdirSync(STACK_DIR, { recursive: true });
  const state = readState();
  const notes: string[] = [];
  let pgUrl = process.env.DATABASE_URL;
  if (pgUrl) notes.push('PostgreSQL: DATABASE_URL');
  else pgUrl = await ensurePostgres(state, notes);
  const { address, uiUrl } = await ensureTemporal(state, notes);
  return { temporalAddress: address, uiUrl, pgUrl, temporalCli: resolveTemporalCli()?.path ?? 'temporal', notes };
}

/** Stops what this stack runs: recorded in stack.json or found running on its own files. */
export async function stopLocalStack(): Promise<string[]> {
  const state = readState();
  const done: string[] = [];
  // Found by its command line first: a recorded pid may since belong to another process.
  const temporal =
    ownTemporalServer() ??
    (!existsSync('/proc') && state.temporal && alive(state.temporal.pid) ? state.temporal : null);
  if (temporal) {
    await killAndWait(temporal.pid);
    done.push(`stopped Temporal dev server (pid ${temporal.pid})`);
  }
  const dataDir = state.postgres?.dataDir ?? join(STACK_DIR, 'pg');
  if (runningPostmaster(dataDir)) {
    stopLocalCluster(dataDir);
    done.push(`stopped PostgreSQL (${dataDir})`);
  }
  rmSync(STATE, { force: true });
  return done.length ? done : ['nothing was running'];
}
