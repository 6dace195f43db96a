// pgloader, the usual tool for this job, loading the same SQLite file into a fresh database: a plain
// type-mapped copy of the four tables the migration carries, with pgloader's own primary keys,
// indexes and foreign keys. Installed with Debian's package when missing and we are root.
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { peakRssSampler } from './rss';

/** The SBCL heap pgloader gets (MiB): its default (~1 GiB in Debian's build) runs out on large files. */
export const PGLOADER_HEAP_MB = 4096;
const TABLES = ['local_folders', 'local_notes', 'note_folders', 'note_tasks'];

export type PgloaderOutcome =
  | { status: 'ok'; version: string; rows: number; ms: number; peakRssKb: number }
  | { status: 'not installed'; reason: string }
  | { status: 'failed'; version: string; ms: number; reason: string };

function which(cmd: string): string | null {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.trim() ? r.stdout.trim() : null;
}

/** The pgloader binary, installing Debian's package first when it is missing and we can (root + apt-get). */
export function ensurePgloader(log: (line: string) => void): { path: string } | { reason: string } {
  const found = which('pgloader');
  if (found) return { path: found };
  if (process.getuid?.() !== 0 || !which('apt-get'))
    return { reason: 'not on PATH, and apt-get as root is not available to install it' };
  log("pgloader: not on PATH, installing Debian's package (apt-get install pgloader)");
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // Bounded: another process may hold the dpkg lock, or the mirror may not answer; the bench then goes on without it.
  const apt = { encoding: 'utf8' as const, env, timeout: 300_000 };
  const update = spawnSync('apt-get', ['update', '-qq'], apt);
  const install = spawnSync('apt-get', ['install', '-y', '-qq', '-o', 'DPkg::Lock::Timeout=60', 'pgloader'], apt);
  const path = which('pgloader');
  if (path) return { path };
  const err = (install.stderr || update.stderr || install.stdout || '').trim().split('\n').slice(-3).join(' | ');
  return { reason: `apt-get install pgloader failed (exit ${install.status}): ${err || 'no output'}` };
}

/** The load command: the four tables, dropped and created by pgloader, then its indexes and keys. */
export function pgloaderCommand(source: string, targetUrl: string): string {
  return [
    'LOAD DATABASE',
    `  FROM sqlite://${source}`,
    `  INTO ${targetUrl}`,
    '  WITH include drop, create tables, create indexes, reset sequences, foreign keys',
    `  INCLUDING ONLY TABLE NAMES LIKE ${TABLES.map((t) => `'${t}'`).join(', ')};`,
    '',
  ].join('\n');
}

/** "pgloader 3.6.7~devel" from `pgloader --version` (whose first line is `pgloader version "3.6.7~devel"`). */
export function pgloaderVersion(output: string): string {
  const m = /version "([^"]+)"/.exec(output);
  return m ? `pgloader ${m[1]}` : 'pgloader (unknown version)';
}

/** Errors and rows of pgloader's summary table, from its "Total import time" line (errors: ✓ or a count). */
export function parsePgloaderSummary(summary: string): { rows: number; errors: number } | null {
  const m = /Total import time\s+(\S+)\s+(\d+)/.exec(summary);
  if (!m) return null;
  return { rows: Number(m[2]), errors: /^\d+$/.test(m[1]!) ? Number(m[1]) : 0 };
}

export async function runPgloader(
  source: string,
  targetUrl: string,
  workDir: string,
  log: (line: string) => void,
): Promise<PgloaderOutcome> {
  const bin = ensurePgloader(log);
  if ('reason' in bin) return { status: 'not installed', reason: bin.reason };
  const version = pgloaderVersion(spawnSync(bin.path, ['--version'], { encoding: 'utf8' }).stdout);
  const commandFile = join(workDir, 'bench.load');
  writeFileSync(commandFile, pgloaderCommand(source, targetUrl));
  const started = Date.now();
  const child = spawn(bin.path, ['--dynamic-space-size', String(PGLOADER_HEAP_MB), commandFile], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rss = peakRssSampler(child.pid!);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
  const ms = Date.now() - started;
  const peakRssKb = rss.stop();
  const summary = parsePgloaderSummary(out);
  // pgloader exits 0 even when it rejected rows: a run with errors is not a comparable load.
  if (code !== 0 || summary === null || summary.errors > 0) {
    const tail = out.trim().split('\n').slice(-5).join(' | ');
    return { status: 'failed', version, ms, reason: `exit ${code}, ${summary?.errors ?? '?'} errors: ${tail}` };
  }
  return { status: 'ok', version, rows: summary.rows, ms, peakRssKb };
}
