// The operator CLI against the real dev server, as scripts use it: exit codes, --json, status,
// list, the control Updates, and `watch` rendering its progress bar in a real terminal (tmux).
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import type { MigrationProgress, MigrationResult } from '../../workflows/definitions';
import { createTargetDatabase, startTestWorker, tempDir, writeKeyring, type TestTarget, type TestWorker } from '../helpers/stack';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const run = promisify(execFile);
let worker: TestWorker;
let target: TestTarget;
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'cli.sqlite');
const keyring = writeKeyring([userId]);
let env: NodeJS.ProcessEnv;

function cli(args: string[]) {
  return run(process.execPath, [BIN, ...args], { env, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

beforeAll(async () => {
  generateDataset({ path: source, seed: 21, notes: 400 });
  worker = await startTestWorker();
  target = await createTargetDatabase();
  env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default' };
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

const migrateArgs = (extra: string[] = []) => [
  'migrate', '--source', source, '--user-id', userId, '--target', target.ref, '--keyring', keyring.ref, '--task-queue', worker.taskQueue, ...extra,
];

it('migrate --wait --json prints the result alone on stdout and exits 0; status and list find it', async () => {
  const workflowId = `cli-${randomUUID()}`;
  const r = await cli(migrateArgs(['--wait', '--json', '--workflow-id', workflowId]));
  expect(r.code).toBe(0);
  const result = JSON.parse(r.stdout) as MigrationResult;
  expect(result).toMatchObject({ workflowId, status: 'completed', validation: { ok: true } });
  const status = await cli(['status', '--workflow-id', workflowId, '--json']);
  expect(status.code).toBe(0);
  expect(JSON.parse(status.stdout)).toMatchObject({ workflowId, status: 'completed' });
  let listed: { workflowId: string; migrationStatus: string }[] = [];
  for (let i = 0; i < 50 && !listed.some((w) => w.workflowId === workflowId); i++) {
    listed = JSON.parse((await cli(['list', '--status', 'completed', '--user', userId, '--json'])).stdout) as typeof listed;
    await new Promise((res) => setTimeout(res, 200)); // visibility is eventually consistent
  }
  expect(listed.find((w) => w.workflowId === workflowId)).toMatchObject({ migrationStatus: 'completed' });
});

it('a bad argument exits 2 naming it; a failed run exits 1 with its message', async () => {
  const bad = await cli(['migrate', '--source', source, '--user-id', 'not-a-uuid', '--target', target.ref, '--keyring', keyring.ref]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('invalid input userId: must be a uuid');
  const badFlag = await cli(migrateArgs(['--chunk-rows', 'zero']));
  expect(badFlag.code).toBe(2);
  expect(badFlag.stderr).toContain('--chunk-rows must be a positive integer');
  const failed = await cli(['migrate', '--source', join(dir, 'missing.sqlite'), '--user-id', userId, '--target', target.ref, '--keyring', keyring.ref, '--task-queue', worker.taskQueue, '--wait', '--workflow-id', `cli-missing-${randomUUID()}`]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('does not exist');
});

it('pause, set-chunk-size, resume and abort answer through Updates; watch draws a progress bar in a terminal', async () => {
  const workflowId = `cli-ctl-${randomUUID()}`;
  const started = await cli(migrateArgs(['--chunk-rows', '10', '--parallelism', '1', '--workflow-id', workflowId, '--json']));
  expect(started.code).toBe(0);
  const handle = worker.client.workflow.getHandle(workflowId);
  for (let i = 0; i < 400 && (await handle.query<MigrationProgress>('progress')).chunksDone < 2; i++) await new Promise((r) => setTimeout(r, 50));

  // watch, in a real terminal
  const session = `w${randomUUID().slice(0, 8)}`;
  const envArgs = Object.entries({ TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS! }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  execFileSync('tmux', ['new-session', '-d', '-s', session, '-x', '200', '-y', '20', ...envArgs, `${process.execPath} ${BIN} watch --workflow-id ${workflowId} --interval-ms 200; sleep 60`]);
  try {
    let screen = '';
    for (let i = 0; i < 100 && !/\[#*-*\]\s+\d+% transfer/.test(screen); i++) {
      await new Promise((r) => setTimeout(r, 100));
      screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
    }
    expect(screen, screen).toMatch(/\[#*-+\]\s+\d+% transfer · \w+ · [\d,]+\/[\d,]+ rows · chunks \d+\/\d+ · .* rows\/s · ETA/);

    expect(JSON.parse((await cli(['pause', '--workflow-id', workflowId, '--json'])).stdout)).toMatchObject({ paused: true });
    const again = await cli(['pause', '--workflow-id', workflowId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already paused');
    for (let i = 0; i < 50 && !/PAUSED/.test(screen); i++) {
      await new Promise((r) => setTimeout(r, 100));
      screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' });
    }
    expect(screen).toContain('PAUSED');
    expect(JSON.parse((await cli(['set-chunk-size', '25', '--workflow-id', workflowId, '--json'])).stdout)).toEqual({ chunkRows: 25, previous: 10 });
    expect(JSON.parse((await cli(['resume', '--workflow-id', workflowId, '--json'])).stdout)).toMatchObject({ paused: false });
    const aborted = await cli(['abort', '--workflow-id', workflowId, '--reason', 'cli test', '--json']);
    expect(JSON.parse(aborted.stdout)).toEqual({ aborting: true, reason: 'operator abort: cli test' });
    for (let i = 0; i < 100 && !/rolled back/.test((await cli(['status', '--workflow-id', workflowId])).stdout); i++) await new Promise((r) => setTimeout(r, 200));
    const final = await cli(['status', '--workflow-id', workflowId]);
    expect(final.code).toBe(1);
    expect(final.stdout).toContain('rolled back after abort: operator abort: cli test');
  } finally {
    execFileSync('tmux', ['kill-session', '-t', session]);
  }
});
