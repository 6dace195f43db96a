// The main job, as a user runs it: `migrator dev` starts its own PostgreSQL and Temporal dev
// server (with Web UI), generates a dataset, migrates it, prints a short output (live progress per
// phase, the report, where to look) with the worker's logs in a file, and leaves the run visible
// to `temporal workflow list`; `dev --stop` stops the servers. A dev killed part-way leaves servers
// the next dev finds and reuses.
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { ownTemporalServer } from '../../cli/local-stack';
import { runningPostmaster } from '../../infra/postgres';
import { resolveTemporalCli } from '../../infra/temporal-cli';
import { tempDir } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const run = promisify(execFile);

function devEnv(): { dir: string; env: NodeJS.ProcessEnv } {
  const dir = tempDir('migrator-dev-');
  chmodSync(dir, 0o755); // the cluster inside runs as the postgres user
  const { DATABASE_URL: _ignored, ...inherited } = process.env; // dev starts its own PostgreSQL
  return { dir, env: { ...inherited, MIGRATOR_DEV_DIR: dir } };
}

async function stopDev(env: NodeJS.ProcessEnv): Promise<string> {
  return (await run(process.execPath, [BIN, 'dev', '--stop'], { env })).stdout;
}

it('dev prints a short output: live progress per phase, the report, where to look; worker logs go to a file', async () => {
  const { dir, env } = devEnv();
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'dev', '--notes', '300'], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = `${stdout}${stderr}`;
    expect(output.split('\n').length).toBeLessThan(60);
    expect(stdout).toMatch(/migration migrate-notes-demo-\S+ \(run \S+\) completed, validation passed/);
    expect(stdout).toMatch(/local_notes\s+300\s+300/);

    // The progress display (not a terminal here): one line per finished phase, rows and rate for the transfer.
    for (const phase of ['preflight', 'backup', 'schema', 'indexes', 'validation', 'post-migration']) {
      expect(stdout).toMatch(new RegExp(`^progress: ✓ ${phase} +\\d+\\.\\d s$`, 'm'));
    }
    expect(stdout).toMatch(/^progress: ✓ transfer +\d+\.\d s · 1,133 rows · [\d,]+ rows\/s$/m);

    // The worker's INFO logs are in the file named in the output, not on the console.
    const logFile = join(dir, 'worker.log');
    expect(stdout).toContain(`worker log: ${logFile}`);
    expect(output).not.toContain('chunk committed');
    expect(output).not.toContain('taskToken');
    const entries = readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { level: string; message: string; activityType?: string });
    const chunks = entries.filter((e) => e.level === 'INFO' && e.message === 'chunk committed');
    expect(chunks.length).toBeGreaterThanOrEqual(4); // at least one chunk per table
    expect(chunks[0]!.activityType).toBe('transferChunk');
    expect(entries.some((e) => e.level === 'INFO' && e.message === 'Worker state changed')).toBe(true);

    const address = /--address (\S+) --workflow-id/.exec(stdout)![1]!;
    expect(stdout).toMatch(/Web UI:\s+http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/migrate-notes-demo/);
    const list = execFileSync(
      resolveTemporalCli()!.path,
      ['workflow', 'list', '--address', address, '--query', "WorkflowType = 'migrationWorkflow'"],
      { encoding: 'utf8' },
    );
    expect(list).toContain('migrate-notes-demo-');
    expect(list).toContain('Completed');
  } finally {
    const stopped = await stopDev(env);
    expect(stopped).toContain('stopped Temporal dev server');
    expect(stopped).toContain('stopped PostgreSQL');
  }
});

it('a dev killed once PostgreSQL is up (and Temporal spawned) leaves servers the next dev finds and reuses', async () => {
  const { dir, env } = devEnv();
  const dataDir = join(dir, 'pg');
  const temporalDb = join(dir, 'temporal.db');
  try {
    // Own process group, so the whole dev (and whatever it spawned in its group) can be SIGKILLed.
    const first = spawn(process.execPath, [BIN, 'dev', '--notes', '300'], { env, detached: true, stdio: 'ignore' });
    const exited = new Promise((resolve) => first.once('exit', resolve));
    // PostgreSQL is up and the Temporal dev server spawned (maybe not answering yet): kill.
    await waitUntil(
      'the first dev to start PostgreSQL and spawn Temporal',
      () => runningPostmaster(dataDir) !== null && ownTemporalServer(temporalDb) !== null,
      {
        timeoutMs: 90_000,
        intervalMs: 20,
      },
    );
    process.kill(-first.pid!, 'SIGKILL');
    await exited;
    // Worst case: the kill came before the state file recorded the servers.
    rmSync(join(dir, 'stack.json'), { force: true });
    expect(runningPostmaster(dataDir)).not.toBeNull(); // both outlived the kill: leftovers
    expect(ownTemporalServer(temporalDb)).not.toBeNull();

    const { stdout } = await run(process.execPath, [BIN, 'dev', '--notes', '300'], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(stdout).toMatch(
      /PostgreSQL: reused local cluster \S+ on port \d+ \(left running by an earlier run, pid \d+\)/,
    );
    expect(stdout).toMatch(/Temporal: reused dev server \S+ \(left running by an earlier run, pid \d+\)/);
    expect(stdout).toMatch(/migration migrate-notes-demo-\S+ \(run \S+\) completed, validation passed/);
  } finally {
    await stopDev(env);
  }
  // --stop stops both (the Temporal server was started by the killed run and adopted by the second).
  expect(runningPostmaster(dataDir)).toBeNull();
  expect(ownTemporalServer(temporalDb)).toBeNull();
  expect(existsSync(join(dir, 'stack.json'))).toBe(false);
});

it('dev --online migrates while the app writes, and prints the write-freeze window and the load', async () => {
  const { env } = devEnv();
  try {
    const { stdout, stderr } = await run(process.execPath, [BIN, 'dev', '--notes', '300', '--online'], {
      env,
      maxBuffer: 64 * 1024 * 1024,
    });
    const output = `${stdout}${stderr}`;
    expect(output.split('\n').length).toBeLessThan(70);
    expect(stdout).toMatch(/migration migrate-notes-demo-\S+ \(run \S+\) completed, validation passed/);
    for (const phase of ['capture', 'delta', 'cutover', 'release-capture'])
      expect(stdout).toMatch(new RegExp(`^progress: ✓ ${phase} +\\d+\\.\\d s`, 'm'));
    const freeze = /online: write freeze (\d+) ms \(budget 2000 ms, hook demo-flag\); (\d+) cut-over attempt/.exec(
      stdout,
    );
    expect(freeze, stdout).not.toBeNull();
    expect(Number(freeze![1])).toBeLessThan(2000);
    const load = /app load: (\d+) writes acknowledged/.exec(stdout);
    expect(load, stdout).not.toBeNull();
    expect(Number(load![1])).toBeGreaterThan(0);
  } finally {
    await stopDev(env);
  }
});
