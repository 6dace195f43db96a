// Finds the official Temporal CLI and runs its dev server (`temporal server start-dev`).
// Resolution order: TEMPORAL_CLI_PATH, `temporal` on PATH, the project-local build made by
// scripts/setup.sh (.tools/bin/temporal), and finally the SDK's own download (machines with
// internet only).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Connection } from '@temporalio/client';
import { MIGRATION_SEARCH_ATTRIBUTES } from '../workflows/search-attributes';
import { freePort, waitFor } from './ports';

export const PROJECT_ROOT = fileURLToPath(new URL('..', import.meta.url));
export const LOCAL_TEMPORAL_CLI = join(PROJECT_ROOT, '.tools', 'bin', 'temporal');

/** Search attributes the workflows upsert (all Keyword); the dev server registers them at start. */
export const SEARCH_ATTRIBUTES = Object.fromEntries(MIGRATION_SEARCH_ATTRIBUTES.map((k) => [k.name, 'Keyword']));

export interface ResolvedCli {
  path: string;
  source: 'TEMPORAL_CLI_PATH' | 'PATH' | 'project-local (.tools/bin)' | 'SDK download';
}

export class TemporalUnavailableError extends Error {}

/** Whether a Temporal frontend answers at `address` (GetSystemInfo); throws while it does not. */
export async function temporalAnswers(address: string): Promise<true> {
  const connection = await Connection.connect({ address, connectTimeout: 1000 });
  try {
    await connection.workflowService.getSystemInfo({});
    return true;
  } finally {
    await connection.close();
  }
}

export function resolveTemporalCli(): ResolvedCli | null {
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new TemporalUnavailableError(`TEMPORAL_CLI_PATH=${fromEnv} does not exist`);
    return { path: fromEnv, source: 'TEMPORAL_CLI_PATH' };
  }
  const which = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' });
  if (which.status === 0 && which.stdout.trim()) return { path: which.stdout.trim(), source: 'PATH' };
  if (existsSync(LOCAL_TEMPORAL_CLI)) return { path: LOCAL_TEMPORAL_CLI, source: 'project-local (.tools/bin)' };
  return null;
}

export function temporalCliVersion(path: string): string {
  return spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

export interface DevServer {
  address: string;
  uiUrl: string | null;
  cli: ResolvedCli;
  process: ChildProcess | null;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  port?: number;
  uiPort?: number;
  headless?: boolean;
  /** Persist state in this SQLite file (default: in memory). */
  dbFile?: string;
  /** Server output goes here (default: discarded). */
  logFile?: string;
  /** Leave the server running after this process exits (the demo's local stack). */
  detached?: boolean;
}

export async function startDevServer(options: DevServerOptions = {}): Promise<DevServer> {
  const cli = resolveTemporalCli();
  if (!cli) return startSdkDownloadedServer(options);
  const port = options.port ?? (await freePort());
  const uiPort = options.headless ? null : (options.uiPort ?? (await freePort()));
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  args.push(...(uiPort === null ? ['--headless'] : ['--ui-port', String(uiPort)]));
  if (options.dbFile) {
    mkdirSync(dirname(options.dbFile), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  let out: number | 'ignore' = 'ignore';
  if (options.logFile) {
    mkdirSync(dirname(options.logFile), { recursive: true });
    out = openSync(options.logFile, 'a');
  }
  const child = spawn(cli.path, args, { stdio: ['ignore', out, out], detached: options.detached ?? false });
  if (typeof out === 'number') closeSync(out);
  if (options.detached) child.unref();
  const address = `127.0.0.1:${port}`;
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  await waitFor(
    `the Temporal dev server on ${address}`,
    async () => {
      if (exited)
        throw new TemporalUnavailableError(
          `temporal server start-dev ${exited} (see ${options.logFile ?? 'its output'})`,
        );
      return temporalAnswers(address);
    },
    60_000,
  );
  return {
    address,
    uiUrl: uiPort === null ? null : `http://127.0.0.1:${uiPort}`,
    cli,
    process: child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const done = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await done;
      clearTimeout(timer);
    },
  };
}

/** Last resort: the SDK downloads the dev server itself (needs internet; fails fast without it). */
async function startSdkDownloadedServer(options: DevServerOptions): Promise<DevServer> {
  const { TestWorkflowEnvironment } = await import('@temporalio/testing');
  try {
    const env = await TestWorkflowEnvironment.createLocal({
      server: {
        ip: '127.0.0.1',
        port: options.port,
        ui: !options.headless,
        uiPort: options.uiPort,
        dbFilename: options.dbFile,
        searchAttributes: MIGRATION_SEARCH_ATTRIBUTES,
      },
    });
    return {
      address: env.address,
      uiUrl: options.headless ? null : `http://127.0.0.1:${options.uiPort ?? 'see server output'}`,
      cli: { path: '(downloaded by @temporalio/testing)', source: 'SDK download' },
      process: null,
      stop: () => env.teardown(),
    };
  } catch (err) {
    throw new TemporalUnavailableError(
      `Temporal CLI not found (TEMPORAL_CLI_PATH, PATH, .tools/bin) and the SDK could not download one (${(err as Error).message}). Run \`npm run setup\` (builds the pinned CLI with Go into .tools/bin) or set TEMPORAL_CLI_PATH.`,
    );
  }
}
