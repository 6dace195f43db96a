// When rollback itself is hurt: a compensation made to fail ends the run as ROLLBACK_FAILED with
// what remains and the runbook, whose restore then verifies equal to the backup; the runbook offers
// the per-user pre-image restore before the whole-database restore, which says what it destroys; and
// a worker killed in the middle of a rollback lets the next worker finish it.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { progressQuery, type RollbackReport } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { waitUntil } from '../helpers/wait';
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

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const cli = promisify(execFile);
let worker: TestWorker;
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'rbf.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  generateDataset({ path: source, seed: 17, notes: 500 });
  worker = await startTestWorker({ backupDir: join(dir, 'backups') });
});
afterAll(async () => {
  await worker?.stop();
});

/** A run whose transfer is failed and whose removeRunRows compensation cannot finish: ROLLBACK_FAILED. */
async function rollbackFailedRun(target: TestTarget, prefix: string): Promise<RollbackReport> {
  const workflowId = `${prefix}-${randomUUID()}`;
  worker.faults.plan(workflowId, { failAfterPhase: 'transfer', failCompensation: 'removeRunRows' });
  const err = await worker.client.workflow
    .execute(migrationWorkflow, {
      taskQueue: worker.taskQueue,
      workflowId,
      args: [{ source, userId, target: target.ref, keyring: keyring.ref }],
    })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
  expect(failure.type).toBe('ROLLBACK_FAILED');
  return failure.details![0] as RollbackReport;
}

it('a compensation that cannot finish ends as ROLLBACK_FAILED; the runbook restore verifies equal to the backup', async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  const before = await targetState(target);
  const report = await rollbackFailedRun(target, 'rbf');
  expect(report.failed.map((f) => f.step)).toEqual(['removeRunRows']);
  expect(report.fingerprintEqual).toBe(false);
  expect(report.remaining.some((r) => /rows in notes written by run/.test(r))).toBe(true);
  expect(report.runbook.some((c) => c.includes('runbook restore'))).toBe(true);
  expect(await targetState(target)).not.toEqual(before);

  // The runbook, as an operator runs it on the worker's host: target names resolve through the worker config.
  const env = { ...process.env, [target.dsnEnv]: target.url, MIGRATOR_WORKER_CONFIG: writeWorkerConfig() };
  const restore = report.runbook
    .find((c) => c.includes('runbook restore'))!
    .replace(/^.*?npx migrator /, '')
    .split(' ');
  const refused = await cli(process.execPath, [BIN, ...restore.slice(0, -1), 'some_other_db'], { env }).catch(
    (e: { code: number; stderr: string }) => e,
  );
  expect(refused).toMatchObject({ code: 1, stderr: expect.stringContaining('refusing') });
  const restored = await cli(process.execPath, [BIN, ...restore], { env });
  expect(restored.stdout).toContain('verified: every table of the backup has its recorded row count and checksum');
  const backupId = restore[restore.indexOf('--backup-id') + 1]!;
  const verified = await cli(
    process.execPath,
    [BIN, 'runbook', 'verify', '--target', target.ref, '--backup-id', backupId],
    { env },
  );
  expect(verified.stdout).toContain('verified');
  // Restored tables equal the pre-run state; the bridge tables the run created are reported as extra and cleaned.
  const clean = report.runbook
    .find((c) => c.includes('runbook clean'))!
    .replace(/^npx migrator /, '')
    .split(' ');
  expect(clean).toContain(target.database);
  const cleaned = await cli(process.execPath, [BIN, ...clean], { env });
  expect(JSON.parse(cleaned.stdout)).toMatchObject({ remaining: [] });
  const after = await targetState(target);
  for (const t of ['table notes', 'table note_tasks', 'table folders', 'table note_folders'])
    expect(after[t], t).toEqual(before[t]);
  await target.close();
});

it('the runbook of a ROLLBACK_FAILED run: the per-user restore-pre-image comes before the whole-database restore, which says what it destroys', async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  const { runbook } = await rollbackFailedRun(target, 'rbf-runbook').finally(() => target.close());
  const step = (what: RegExp) => {
    const found = runbook.filter((c) => what.test(c));
    expect(found, `one runbook step matches ${what}:\n${runbook.join('\n')}`).toHaveLength(1);
    return { text: found[0]!, at: runbook.indexOf(found[0]!) };
  };
  const clean = step(/ runbook clean /);
  const perUser = step(/ backups restore-pre-image /);
  const wholeDatabase = step(/ runbook restore /);
  // Least destructive first: remove what the run left, then this user's rows, only then the whole database.
  expect(clean.at).toBeLessThan(perUser.at);
  expect(perUser.at).toBeLessThan(wholeDatabase.at);
  expect(perUser.text).toContain(`--expect-database ${target.database}`);
  expect(perUser.text).not.toMatch(/DESTROYS/);
  // The whole-database restore names what it costs: every write by anyone since the backup.
  const warning = wholeDatabase.text.slice(0, wholeDatabase.text.indexOf('npx migrator'));
  expect(warning).toMatch(/^LAST RESORT\b/);
  expect(warning).toContain('DESTROYS');
  expect(warning).toMatch(/every write to the whole database/);
  expect(warning).toMatch(/by anyone \(other users, the app\)/);
  expect(warning).toMatch(/since the backup/);
  expect(wholeDatabase.text).toContain(`--expect-database ${target.database}`);
});

it('a worker killed during rollback: the next worker completes it', async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  const before = await targetState(target);
  const taskQueue = `rbk-${randomUUID()}`;
  const env = { [target.dsnEnv]: target.url };
  // Worker processes in test mode read their fault plans from a file.
  const workflowId = `rbk-${randomUUID()}`;
  const testFaultsFile = join(dir, 'faults.json');
  writeFileSync(
    testFaultsFile,
    JSON.stringify({ [workflowId]: { failAfterPhase: 'validation', compensationDelayMs: 4000 } }),
  );
  const first = await spawnWorker({ taskQueue, env, backupDir: dir, testFaultsFile });
  const handle = await worker.client.workflow.start(migrationWorkflow, {
    taskQueue,
    workflowId,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, heartbeatTimeoutMs: 2000 }],
  });
  await waitUntil('rolling-back', async () => (await handle.query(progressQuery)).phase === 'rolling-back', {
    timeoutMs: 120_000,
  });
  await new Promise((r) => setTimeout(r, 1000)); // inside removeRunRows' delay
  await first.kill('SIGKILL');
  expect(await targetState(target)).not.toEqual(before); // rows still there: the rollback was cut off
  const second = await spawnWorker({ taskQueue, env, backupDir: dir, testFaultsFile });
  try {
    const err = await handle.result().catch((e: unknown) => e);
    const failure = (err as WorkflowFailedError).cause as ApplicationFailure;
    expect(failure.type).toBe('RolledBack');
    expect((failure.details![0] as RollbackReport).fingerprintEqual).toBe(true);
    expect(await targetState(target)).toEqual(before);
  } finally {
    await second.kill('SIGTERM');
    await target.close();
  }
});
