// The demo's local stack under var/dev/: a PostgreSQL cluster and a Temporal dev server (with
// its Web UI and a persistent history file) started detached, so the run stays visible after
// the demo command exits. A second `migrator dev` reuses what is already running.
import { existsSync, mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import pg from 'pg';
import { startLocalPostgres, pgBinDir } from '../infra/postgres';
import { freePort } from '../infra/ports';
import { PROJECT_ROOT, startDevServer, resolveTemporalCli, temporalCliVersion } from '../infra/temporal-cli';
import { spawnSync } from 'node:child_process';

/** Where the demo's stack lives (MIGRATOR_DEV_DIR overrides, e.g. for tests). */
export const STACK_DIR = process.env.MIGRATOR_DEV_DIR ?? join(PROJECT_ROOT, 'var', 'dev');
const STATE = join(STACK_DIR, 'stack.json');

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

export async function ensureLocalStack(): Promise<LocalStack> {
  mkdirSync(STACK_DIR, { recursive: true });
  const state = readState();
  const notes: string[] = [];

  let pgUrl = process.env.DATABASE_URL;
  if (pgUrl) notes.push('PostgreSQL: DATABASE_URL');
  else {
    const dataDir = join(STACK_DIR, 'pg');
    const known = state.postgres ? `postgres://postgres@127.0.0.1:${state.postgres.port}/postgres` : null;
    if (known && (await pgResponds(known))) {
      pgUrl = known;
      notes.push(`PostgreSQL: reused local cluster ${dataDir} on port ${state.postgres!.port}`);
    } else {
      const started = await startLocalPostgres({ dataDir, port: await portOr(55432), durable: true });
      state.postgres = { port: started.port, dataDir };
      pgUrl = started.url;
      notes.push(`PostgreSQL: started local cluster ${dataDir} on port ${started.port} (${pgBinDir()})`);
    }
  }

  const cli = resolveTemporalCli();
  let address: string;
  let uiUrl: string | null;
  if (state.temporal && alive(state.temporal.pid) && (await temporalResponds(state.temporal.address))) {
    ({ address, uiUrl } = state.temporal);
    notes.push(`Temporal: reused dev server ${address} (pid ${state.temporal.pid})`);
  } else {
    const server = await startDevServer({
      port: await portOr(7233),
      uiPort: await portOr(8233),
      dbFile: join(STACK_DIR, 'temporal.db'),
      logFile: join(STACK_DIR, 'temporal.log'),
      detached: true,
    });
    address = server.address;
    uiUrl = server.uiUrl;
    state.temporal = { pid: server.process?.pid ?? -1, address, uiUrl };
    const version = server.cli.source === 'SDK download' ? '' : ` — ${temporalCliVersion(server.cli.path)}`;
    notes.push(`Temporal: started dev server ${address}, Web UI ${uiUrl}, CLI from ${server.cli.source}: ${server.cli.path}${version}`);
  }
  writeState(state);
  return { temporalAddress: address, uiUrl, pgUrl, temporalCli: cli?.path ?? 'temporal', notes };
}

export function stopLocalStack(): string[] {
  const state = readState();
  const done: string[] = [];
  if (state.temporal && alive(state.temporal.pid)) {
    process.kill(state.temporal.pid, 'SIGTERM');
    done.push(`stopped Temporal dev server (pid ${state.temporal.pid})`);
  }
  if (state.postgres && existsSync(join(state.postgres.dataDir, 'postmaster.pid'))) {
    const bin = pgBinDir();
    const args = ['-D', state.postgres.dataDir, '-m', 'fast', '-w', 'stop'];
    const root = process.getuid?.() === 0;
    spawnSync(root ? 'runuser' : `${bin}/pg_ctl`, root ? ['-u', 'postgres', '--', `${bin}/pg_ctl`, ...args] : args, { stdio: 'ignore' });
    done.push(`stopped PostgreSQL (${state.postgres.dataDir})`);
  }
  rmSync(STATE, { force: true });
  return done.length ? done : ['nothing was running'];
}
