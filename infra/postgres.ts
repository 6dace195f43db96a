// PostgreSQL for the demo, the tests and the benchmark: DATABASE_URL / PG* when given, otherwise a
// throwaway cluster (initdb + pg_ctl on a free loopback port) from the installed server binaries.
// initdb refuses to run as root, so as root the cluster is created and run as the `postgres` user.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports';

const PG_LIB = '/usr/lib/postgresql';

export class PostgresUnavailableError extends Error {}

/** Directory of PostgreSQL binaries: of `major` when given, else the newest installed. */
export function pgBinDir(major?: number): string | null {
  if (existsSync(PG_LIB)) {
    const versions = readdirSync(PG_LIB)
      .filter((v) => /^\d+$/.test(v) && existsSync(join(PG_LIB, v, 'bin', 'pg_ctl')))
      .map(Number)
      .sort((a, b) => b - a);
    const pick = major === undefined ? versions[0] : versions.find((v) => v === major);
    if (pick !== undefined) return join(PG_LIB, String(pick), 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v pg_ctl'], { encoding: 'utf8' });
  const found = which.status === 0 ? which.stdout.trim() : '';
  if (!found) return null;
  if (major !== undefined) {
    const version = spawnSync(found, ['--version'], { encoding: 'utf8' }).stdout;
    if (!new RegExp(`\\) ${major}[.\\s]`).test(version)) return null;
  }
  return found.replace(/\/pg_ctl$/, '');
}

export function pgTool(tool: 'pg_dump' | 'pg_restore' | 'psql', major: number): string {
  const dir = pgBinDir(major);
  if (!dir || !existsSync(join(dir, tool))) {
    throw new PostgresUnavailableError(
      `${tool} for PostgreSQL ${major} not found (looked in ${PG_LIB}/${major}/bin and PATH): install postgresql-client-${major}`,
    );
  }
  return join(dir, tool);
}

export interface LocalPostgres {
  url: string;
  port: number;
  dataDir: string;
  stop(): void;
}

const isRoot = (): boolean => process.getuid?.() === 0;

function runAsOwner(cmd: string, args: string[]): void {
  const [file, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  const result = spawnSync(file, argv, { encoding: 'utf8' });
  if (result.status !== 0) {
    throw new PostgresUnavailableError(
      `${cmd} ${args[0] ?? ''} failed (exit ${result.status}): ${(result.stderr || result.stdout || String(result.error)).trim()}`,
    );
  }
}

/**
 * Starts (or, when `dataDir` already holds a cluster, restarts) a local cluster listening on
 * 127.0.0.1 only, with trust auth for the `postgres` user.
 */
export async function startLocalPostgres(
  options: { dataDir?: string; port?: number; durable?: boolean } = {},
): Promise<LocalPostgres> {
  const bin = pgBinDir();
  if (!bin) {
    throw new PostgresUnavailableError(
      'PostgreSQL server binaries not found (looked in /usr/lib/postgresql/*/bin and PATH). Install them (Debian: apt-get install postgresql) or set DATABASE_URL to an existing server.',
    );
  }
  if (isRoot() && spawnSync('id', ['-u', 'postgres']).status !== 0) {
    throw new PostgresUnavailableError(
      "running as root but there is no `postgres` system user to own the cluster (Debian's postgresql package creates it)",
    );
  }
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'migrator-pg-'));
  mkdirSync(dataDir, { recursive: true });
  if (isRoot()) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dataDir, uid, gid);
  }
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    runAsOwner(join(bin, 'initdb'), [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--no-locale',
      '--no-instructions',
    ]);
  }
  const port = options.port ?? (await freePort());
  const settings = [`-p ${port}`, '-c listen_addresses=127.0.0.1', `-k ${dataDir}`, '-c max_connections=200'];
  if (!options.durable) settings.push('-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off');
  runAsOwner(join(bin, 'pg_ctl'), [
    '-D',
    dataDir,
    '-l',
    join(dataDir, 'server.log'),
    '-o',
    settings.join(' '),
    '-w',
    '-t',
    '60',
    'start',
  ]);
  return {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    dataDir,
    stop() {
      try {
        runAsOwner(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
      } finally {
        if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
      }
    },
  };
}

/**
 * The server running on `dataDir`, from its postmaster.pid (line 1: pid, line 4: port), when that
 * process is alive and is a postgres on this data directory; null otherwise (no file, or a stale
 * one left by a killed server, which the next start replaces by itself).
 */
export function runningPostmaster(dataDir: string): { pid: number; port: number } | null {
  const pidFile = join(dataDir, 'postmaster.pid');
  let lines: string[];
  try {
    lines = readFileSync(pidFile, 'utf8').split('\n');
  } catch {
    return null;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0 || !Number.isInteger(port) || port <= 0) return null;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return null; // not alive (or not Linux: treat as stale, pg_ctl decides)
  }
  return cmdline.includes('postgres') && cmdline.includes(dataDir) ? { pid, port } : null;
}

/** Stops the cluster on `dataDir` (fast shutdown, or immediate when it does not answer). */
export function stopLocalCluster(dataDir: string, mode: 'fast' | 'immediate' = 'fast'): void {
  const bin = pgBinDir();
  if (!bin) throw new PostgresUnavailableError('PostgreSQL server binaries not found: cannot run pg_ctl stop');
  runAsOwner(join(bin, 'pg_ctl'), ['-D', dataDir, '-m', mode, '-w', '-t', '60', 'stop']);
}

/** Replaces the database name of a connection URL. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

/**
 * Restarts the cluster on `dataDir` on the same port (the fault suite's "PostgreSQL restarted"):
 * stop in `mode` ('immediate' = a crash: no checkpoint, every backend gone at once), stay down for
 * `downMs`, then start again (crash recovery runs when the stop was immediate).
 */
export async function restartLocalCluster(
  dataDir: string,
  port: number,
  options: { mode?: 'fast' | 'immediate'; downMs?: number; durable?: boolean } = {},
): Promise<LocalPostgres> {
  stopLocalCluster(dataDir, options.mode ?? 'immediate');
  if (options.downMs) await new Promise((r) => setTimeout(r, options.downMs));
  return startLocalPostgres({ dataDir, port, durable: options.durable });
}
