// The trust boundary (docs/security.md "Trust model"): starting a workflow grants nothing the worker's
// config does not. Every forbidden input is refused once (non-retryable, one attempt), with a typed
// error naming the field, and nothing in the target changes. A dry run with the same worker and
// allowed names passes, so the refusals below are about the names, not a broken worker. Fault
// switches are the worker operator's (`migrator worker --test-faults`), never the input's: a
// production worker (a real `migrator worker` process started without the flag) refuses them too.
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, symlinkSync } from 'node:fs';
import { basename, join } from 'node:path';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { parseWorkerConfig, type WorkerConfig } from '../../lib/worker-config';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
  writeWorkerConfig,
} from '../helpers/stack';
import { seedTarget, targetState } from '../helpers/target-state';
import { spawnWorker } from '../helpers/worker-process';

const userId = randomUUID();
const allowed = tempDir('migrator-allowed-');
const outside = tempDir('migrator-outside-');
const source = join(allowed, 'user.sqlite');
const outsideSource = join(outside, 'other-user.sqlite');
const keys = writeKeyring([userId]);
let target: TestTarget;
let worker: TestWorker;
let config: WorkerConfig;
let before: Record<string, string>;

beforeAll(async () => {
  generateDataset({ path: source, seed: 21, notes: 40, userId }); // with the app's user marker: this config refuses unmarked files
  copyFileSync(source, outsideSource); // a valid file: only its place makes it forbidden
  mkdirSync(join(allowed, 'sub'));
  symlinkSync(outsideSource, join(allowed, 'sub', 'escape.sqlite'));
  target = await createTargetDatabase();
  await seedTarget(target, userId);
  before = await targetState(target);
  // A narrow config of this test's own: one target, one keyring, one directory, one webhook.
  config = parseWorkerConfig({
    targets: { 'notes-prod': { dsn: `env:${target.dsnEnv}`, database: target.database } },
    sourceDirs: [allowed],
    keyrings: { default: `file:${keys.path}` },
    webhooks: { ops: 'http://127.0.0.1:9/never-called' },
  });
  worker = await startTestWorker({ config });
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

const valid = () => ({
  source,
  userId,
  target: 'notes-prod',
  keyring: 'default',
  chunkRows: 20,
  health: { soakMs: 0 },
});

interface Refusal {
  type: string;
  field: string;
  message: string;
  nonRetryable: boolean;
  /** Attempts of every activity the run started (the server records the last attempt's number). */
  attempts: number[];
}

async function refusal(input: Record<string, unknown>, taskQueue = worker.taskQueue): Promise<Refusal> {
  const workflowId = `trust-${randomUUID()}`;
  const outcome = await worker.client.workflow
    .execute('migrationWorkflow', { taskQueue, workflowId, args: [input] })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(outcome, 'the run must be refused').toBeInstanceOf(WorkflowFailedError);
  let cause = (outcome as WorkflowFailedError).cause as ApplicationFailure | undefined;
  while (cause?.cause) cause = cause.cause as ApplicationFailure; // ActivityFailure → ApplicationFailure
  const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
  const attempts = (history.events ?? [])
    .filter((e) => e.activityTaskStartedEventAttributes)
    .map((e) => e.activityTaskStartedEventAttributes!.attempt ?? 0);
  return {
    type: cause!.type ?? '',
    field: (cause!.details?.[0] as { field?: string } | undefined)?.field ?? '',
    message: cause!.message,
    nonRetryable: cause!.nonRetryable === true,
    attempts,
  };
}

it('a dry run with the names the worker grants passes (the control)', async () => {
  const result = (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId: `trust-ok-${randomUUID()}`,
    args: [{ ...valid(), dryRun: true }],
  })) as MigrationResult;
  expect(result.status).toBe('dry-run');
  expect(await targetState(target)).toEqual(before);
});

it.each([
  [
    'SQL in health.probe.extraSql',
    { health: { probe: { extraSql: 'SELECT 1; COMMIT; DROP TABLE notes' } } },
    'InvalidInput',
    'health.probe.extraSql',
    /benchmark.*worker config/,
  ],
  [
    'SQL as a health source',
    { health: { sources: [{ kind: 'sql', query: 'SELECT count(*) AS errors, 1 AS requests FROM notes' }] } },
    'InvalidInput',
    'health.sources.0',
    /worker config/,
  ],
  [
    'a webhook URL',
    { health: { webhookUrl: 'http://169.254.169.254/latest/meta-data' } },
    'InvalidInput',
    'health.webhookUrl',
    /URLs are not accepted/,
  ],
  [
    'target env:HOME',
    { target: 'env:HOME' },
    'InvalidInput',
    'target',
    /never a DSN, URL, path or env:\/file: reference/,
  ],
  [
    'a keyring file: path',
    { keyring: `file:${keys.path}` },
    'InvalidInput',
    'keyring',
    /name declared in the worker config/,
  ],
])('refuses %s in the workflow, before any activity', async (_name, patch, type, field, message) => {
  const r = await refusal({ ...valid(), ...patch });
  expect(r).toMatchObject({ type, field, nonRetryable: true });
  expect(r.message).toMatch(message);
  expect(r.message).not.toContain('DROP');
  expect(r.attempts).toEqual([]); // nothing ran
});

it.each([
  [
    'an unknown target name',
    { target: 'notes-staging' },
    'target',
    /"notes-staging" is not a target this worker's config declares \(declared: "notes-prod"\)/,
  ],
  ['an unknown keyring', { keyring: 'other-team' }, 'keyring', /"other-team" is not a keyring/],
  [
    'an unknown webhook name',
    { health: { webhook: 'internal-admin' } },
    'health.webhook',
    /"internal-admin" is not a webhook/,
  ],
  [
    'an unknown health source',
    { health: { sources: ['app-errors'] } },
    'health.sources.0',
    /"app-errors" is not a health source/,
  ],
  [
    'a source outside the allowed directories',
    { source: outsideSource },
    'source',
    /outside the worker's source directories/,
  ],
  [
    'a source path with ..',
    { source: `${allowed}/../${basename(outside)}/other-user.sqlite` },
    'source',
    /contains a "\.\." segment/,
  ],
  [
    'a source path with .. that lands inside',
    { source: `${allowed}/sub/../user.sqlite` },
    'source',
    /contains a "\.\." segment/,
  ],
  ['a symlink escaping the directory', { source: join(allowed, 'sub', 'escape.sqlite') }, 'source', /symbolic link/],
  ['a relative source path', { source: 'user.sqlite' }, 'source', /absolute path/],
])('refuses %s in preflight, once', async (_name, patch, field, message) => {
  const r = await refusal({ ...valid(), ...patch });
  expect(r).toMatchObject({ type: 'NotPermitted', field, nonRetryable: true });
  expect(r.message).toMatch(message);
  expect(r.attempts).toEqual([1]); // preflight, one attempt, nothing after it
});

it('a worker started without --test-faults refuses fault switches in the input, before any activity, and writes nothing', async () => {
  // A real `migrator worker` process with this test's config and no --test-faults: production mode.
  const taskQueue = `trust-prod-${randomUUID()}`;
  const production = await spawnWorker({
    taskQueue,
    env: {},
    backupDir: tempDir('migrator-backups-'),
    configFile: writeWorkerConfig(config),
  });
  try {
    expect(production.output()).not.toContain('TEST MODE');
    // The control: this worker runs the same input without the switches.
    const control = (await worker.client.workflow.execute('migrationWorkflow', {
      taskQueue,
      workflowId: `trust-prod-ok-${randomUUID()}`,
      args: [{ ...valid(), dryRun: true }],
    })) as MigrationResult;
    expect(control.status).toBe('dry-run');

    const r = await refusal(
      { ...valid(), faults: { failAfterPhase: 'transfer', failCompensation: 'removeRunRows' } },
      taskQueue,
    );
    expect(r).toMatchObject({ type: 'InvalidInput', field: 'faults', nonRetryable: true });
    expect(r.message).toMatch(/fault injection is not accepted in workflow input/);
    expect(r.message).toMatch(/worker started in test mode/);
    expect(r.attempts).toEqual([]); // refused by the workflow's input parse: no activity ran
    expect(await targetState(target)).toEqual(before);
  } finally {
    await production.kill('SIGTERM');
  }
});

it('changed nothing in the target through all the refusals', async () => {
  expect(await targetState(target)).toEqual(before);
  const tables = await target.query<{ n: number }>(
    "SELECT count(*)::int AS n FROM information_schema.schemata WHERE schema_name = 'migration'",
  );
  expect(tables[0]!.n).toBe(0); // not even the control schema was created
});

it('refuses a worker config that is not valid, naming the field', () => {
  expect(() => parseWorkerConfig({ targets: { prod: { dsn: 'postgres://u:pw@h/db', database: 'x' } } })).toThrow(
    expect.objectContaining({ field: 'workerConfig.targets.prod.dsn' }),
  );
  expect(() => parseWorkerConfig({ sourceDirs: ['relative/dir'] })).toThrow(
    expect.objectContaining({ field: 'workerConfig.sourceDirs.0' }),
  );
  expect(() => parseWorkerConfig({ targets: { 'env:X': { dsn: 'env:X', database: 'x' } } })).toThrow(
    expect.objectContaining({ type: 'InvalidInput' }),
  );
});
