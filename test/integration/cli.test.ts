// The operator CLI against the real dev server, as scripts use it: exit codes, --json, status,
// list, the control Updates, and `watch` rendering its progress bar in a real terminal (tmux).
import { execFile, execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  writeWorkerConfig,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { progressQuery } from '../../workflows/definitions';
import { waitUntil } from '../helpers/wait';

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
  // The runbook resolves --target names through the worker config, as on the worker's host.
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_NAMESPACE: 'default',
    MIGRATOR_WORKER_CONFIG: writeWorkerConfig(),
  };
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

const migrateArgs = (extra: string[] = []) => [
  'migrate',
  '--source',
  source,
  '--user-id',
  userId,
  '--target',
  target.ref,
  '--keyring',
  keyring.ref,
  '--task-queue',
  worker.taskQueue,
  ...extra,
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
  // Visibility is eventually consistent.
  await waitUntil(
    'the run in `list`',
    async () =>
      (listed = JSON.parse(
        (await cli(['list', '--status', 'completed', '--user', userId, '--json'])).stdout,
      ) as typeof listed).some((w) => w.workflowId === workflowId),
    {
      timeoutMs: 10_000,
      intervalMs: 200,
    },
  );
  expect(listed.find((w) => w.workflowId === workflowId)).toMatchObject({ migrationStatus: 'completed' });

  const replayed = await cli(['replay', '--workflow-id', workflowId, '--with-children', '--json']);
  expect(replayed.code).toBe(0);
  const outcomes = JSON.parse(replayed.stdout) as { ok: boolean; label: string }[];
  expect(outcomes.length).toBeGreaterThanOrEqual(5); // the run and its four transferTable children
  expect(outcomes.every((o) => o.ok)).toBe(true);

  const backups = JSON.parse((await cli(['backups', '--target', target.ref, '--json'])).stdout) as {
    run_id: string;
    kind: string;
    verified: boolean;
  }[];
  expect(
    backups
      .filter((b) => b.run_id === result.runId)
      .map((b) => [b.kind, b.verified])
      .sort(),
  ).toEqual([
    ['source-sqlite', true],
    ['target-pg_dump', true], // the target's full backup of the window: this run, alone, took it
    ['target-pre-image', true],
  ]);
  const runs = JSON.parse((await cli(['runbook', 'runs', '--target', target.ref, '--json'])).stdout) as {
    run_id: string;
    last_event: string;
    lease: string;
  }[];
  expect(runs.find((r) => r.run_id === result.runId)).toMatchObject({ last_event: 'run:closed', lease: 'released' });
});

it('generate writes a deterministic file and refuses to overwrite one', async () => {
  const out = join(dir, 'generated.sqlite');
  const first = await cli(['generate', '--out', out, '--notes', '50', '--seed', '3', '--plant-bad-rows', '--json']);
  expect(first.code).toBe(0);
  expect(JSON.parse(first.stdout)).toMatchObject({ notes: 50, planted: expect.any(Number) });
  const again = await cli(['generate', '--out', out, '--notes', '50']);
  expect(again.code).toBe(1);
  expect(again.stderr).toContain('already exists');
});

it('codec-server serves /decode for key holders (MIGRATOR_CODEC_KEY by reference)', async () => {
  const { EncryptionCodec } = await import('../../workers/payload-codec');
  const { freePort } = await import('../../infra/ports');
  const { spawn } = await import('node:child_process');
  const { randomBytes } = await import('node:crypto');
  const key = randomBytes(32);
  const port = await freePort();
  // The token comes from the environment (or --token-file), never argv: `ps` shows argv.
  const child = spawn(process.execPath, [BIN, 'codec-server', '--port', String(port)], {
    env: {
      ...env,
      MIGRATOR_CODEC_KEY: 'env:TEST_CODEC_KEY',
      TEST_CODEC_KEY: key.toString('base64'),
      MIGRATOR_CODEC_TOKEN: 'T0K',
    },
    stdio: 'ignore',
  });
  try {
    const [encoded] = await new EncryptionCodec(key).encode([
      { metadata: { encoding: new TextEncoder().encode('json/plain') }, data: new TextEncoder().encode('{"x":1}') },
    ]);
    const body = JSON.stringify({
      payloads: [
        {
          metadata: Object.fromEntries(
            Object.entries(encoded!.metadata!).map(([k, v]) => [k, Buffer.from(v!).toString('base64')]),
          ),
          data: Buffer.from(encoded!.data!).toString('base64'),
        },
      ],
    });
    let res: Response | null = null;
    await waitUntil(
      'the codec server',
      async () =>
        (res = await fetch(`http://127.0.0.1:${port}/decode`, {
          method: 'POST',
          body,
          headers: { authorization: 'Bearer T0K', 'x-namespace': 'default' },
        })) !== null,
      {
        timeoutMs: 10_000,
        intervalMs: 100,
      },
    );
    expect(res!.status).toBe(200);
    const decoded = ((await res!.json()) as { payloads: { data: string }[] }).payloads[0]!;
    expect(Buffer.from(decoded.data, 'base64').toString()).toBe('{"x":1}');
  } finally {
    child.kill();
  }
});

it('a bad argument exits 2 naming it; a failed run exits 1 with its message', async () => {
  const bad = await cli([
    'migrate',
    '--source',
    source,
    '--user-id',
    'not-a-uuid',
    '--target',
    target.ref,
    '--keyring',
    keyring.ref,
  ]);
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain('invalid input userId: must be a uuid');
  const badFlag = await cli(migrateArgs(['--chunk-rows', 'zero']));
  expect(badFlag.code).toBe(2);
  expect(badFlag.stderr).toContain('--chunk-rows must be a positive integer');
  const failed = await cli([
    'migrate',
    '--source',
    join(dir, 'missing.sqlite'),
    '--user-id',
    userId,
    '--target',
    target.ref,
    '--keyring',
    keyring.ref,
    '--task-queue',
    worker.taskQueue,
    '--wait',
    '--workflow-id',
    `cli-missing-${randomUUID()}`,
  ]);
  expect(failed.code).toBe(1);
  expect(failed.stderr).toContain('does not exist');
});

it('pause, set-chunk-size, resume and abort answer through Updates; watch draws a progress bar in a terminal', async () => {
  const workflowId = `cli-ctl-${randomUUID()}`;
  const started = await cli(
    migrateArgs(['--chunk-rows', '10', '--parallelism', '1', '--workflow-id', workflowId, '--json']),
  );
  expect(started.code).toBe(0);
  const handle = worker.client.workflow.getHandle(workflowId);
  await waitUntil('2 chunks', async () => (await handle.query(progressQuery)).chunksDone >= 2, { timeoutMs: 20_000 });

  // watch, in a real terminal
  const session = `w${randomUUID().slice(0, 8)}`;
  const envArgs = Object.entries({ TEMPORAL_ADDRESS: env.TEMPORAL_ADDRESS! }).flatMap(([k, v]) => ['-e', `${k}=${v}`]);
  execFileSync('tmux', [
    'new-session',
    '-d',
    '-s',
    session,
    '-x',
    '200',
    '-y',
    '20',
    ...envArgs,
    `${process.execPath} ${BIN} watch --workflow-id ${workflowId} --interval-ms 200; sleep 60`,
  ]);
  try {
    let screen = '';
    const capture = () => (screen = execFileSync('tmux', ['capture-pane', '-p', '-t', session], { encoding: 'utf8' }));
    await waitUntil('the progress bar', () => /\[#*-*\]\s+\d+% transfer/.test(capture()), {
      timeoutMs: 10_000,
      intervalMs: 100,
    }).catch(() => undefined);
    expect(screen, screen).toMatch(
      /\[#*-+\]\s+\d+% transfer · \w+ · [\d,]+\/[\d,]+ rows · chunks \d+\/\d+ · .* rows\/s · ETA/,
    );

    expect(JSON.parse((await cli(['pause', '--workflow-id', workflowId, '--json'])).stdout)).toMatchObject({
      paused: true,
    });
    const again = await cli(['pause', '--workflow-id', workflowId]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('already paused');
    await waitUntil('PAUSED on screen', () => /PAUSED/.test(capture()), { timeoutMs: 5_000, intervalMs: 100 }).catch(
      () => undefined,
    );
    expect(screen).toContain('PAUSED');
    expect(JSON.parse((await cli(['set-chunk-size', '25', '--workflow-id', workflowId, '--json'])).stdout)).toEqual({
      chunkRows: 25,
      previous: 10,
    });
    expect(JSON.parse((await cli(['resume', '--workflow-id', workflowId, '--json'])).stdout)).toMatchObject({
      paused: false,
    });
    const aborted = await cli(['abort', '--workflow-id', workflowId, '--reason', 'cli test', '--json']);
    expect(JSON.parse(aborted.stdout)).toEqual({ aborting: true, reason: 'operator abort: cli test' });
    await waitUntil(
      'rolled back',
      async () => /rolled back/.test((await cli(['status', '--workflow-id', workflowId])).stdout),
      { timeoutMs: 20_000, intervalMs: 200 },
    ).catch(() => undefined);
    const final = await cli(['status', '--workflow-id', workflowId]);
    expect(final.code).toBe(1);
    expect(final.stdout).toContain('rolled back after abort: operator abort: cli test');
  } finally {
    execFileSync('tmux', ['kill-session', '-t', session]);
  }
});
