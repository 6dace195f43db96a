// A staged rollout of 20 generated user databases through 4 cohorts (1 %, 10 %, 50 %, 100 %):
// one user's file is bad, so its cohort's gate fails and the rollout holds until an operator
// approves; a re-run skips everyone already migrated; stages can be put on Temporal Schedules.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import type { RolloutStatus } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { rolloutStatusQuery } from '../../workflows/definitions';
import { waitUntil } from '../helpers/wait';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const run = promisify(execFile);
let worker: TestWorker;
let target: TestTarget;
const dir = tempDir();
const users = Array.from({ length: 20 }, (_, i) => ({ userId: randomUUID(), source: join(dir, `user-${i}.sqlite`) }));
const BAD = 4; // in cohort 2 (users 2..9)
const keyring = writeKeyring(users.map((u) => u.userId));
const manifestPath = join(dir, 'manifest.json');
let env: NodeJS.ProcessEnv;

const cli = (args: string[]) =>
  run(process.execPath, [BIN, ...args], { env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

beforeAll(async () => {
  users.forEach((u, i) => generateDataset({ path: u.source, seed: 100 + i, notes: 12 }));
  const bad = new Database(users[BAD]!.source);
  bad.pragma('user_version = 11');
  bad.close();
  worker = await startTestWorker();
  target = await createTargetDatabase();
  env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress') };
  writeFileSync(
    manifestPath,
    JSON.stringify({
      target: target.ref,
      keyring: keyring.ref,
      users,
      concurrency: 4,
      migration: { chunkRows: 500, sampleSize: 5 },
    }),
  );
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

it('runs 4 cohorts, holds at the failed gate until approved, and a re-run skips migrated users', async () => {
  const workflowId = `rollout-${randomUUID()}`;
  expect(
    (
      await cli([
        'rollout',
        'start',
        '--manifest',
        manifestPath,
        '--workflow-id',
        workflowId,
        '--task-queue',
        worker.taskQueue,
      ])
    ).code,
  ).toBe(0);
  const handle = worker.client.workflow.getHandle(workflowId);
  let s = null as RolloutStatus | null;
  await waitUntil(
    'the rollout to wait for approval',
    async () => (s = await handle.query(rolloutStatusQuery)).status === 'waiting-for-approval',
    {
      timeoutMs: 120_000,
      intervalMs: 200,
    },
  );
  expect(s, JSON.stringify(s?.cohorts.map((c) => c.failures))).toMatchObject({
    status: 'waiting-for-approval',
    waitingForApproval: 3,
  });
  expect(s!.cohorts.map((c) => c.users)).toEqual([1, 1, 8, 10]);
  expect(s!.cohorts.map((c) => c.gate)).toEqual(['passed', 'passed', 'failed', 'pending']);
  expect(s!.cohorts[2]).toMatchObject({
    migrated: 7,
    failed: 1,
    failures: [{ userId: users[BAD]!.userId, type: 'SourceInvalid' }],
  });
  expect(s!.cohorts[3]!.migrated).toBe(0); // held: nothing of cohort 3 started

  const status = await cli(['rollout', 'status', '--workflow-id', workflowId, '--json']);
  expect(JSON.parse(status.stdout)).toMatchObject({ status: 'waiting-for-approval' });
  const approved = await cli(['rollout', 'approve', '--workflow-id', workflowId, '--note', 'known bad file']);
  expect(JSON.parse(approved.stdout)).toEqual({ approved: true, cohort: 3 });
  const final = (await handle.result()) as RolloutStatus;
  expect(final.status).toBe('completed');
  expect(final.cohorts.map((c) => c.gate)).toEqual(['passed', 'passed', 'approved', 'passed']);
  expect(final.cohorts.reduce((n, c) => n + c.migrated, 0)).toBe(19);
  const [owners] = await target.query<{ n: number }>('SELECT count(DISTINCT user_id)::int AS n FROM notes');
  expect(owners!.n).toBe(19);
  expect((await cli(['rollout', 'approve', '--workflow-id', workflowId])).code).toBe(1); // nothing waits any more

  // Re-run of the first three cohorts: everyone migrated is skipped; the bad file fails again.
  const again = await worker.client.workflow.execute('stagedRollout', {
    taskQueue: worker.taskQueue,
    workflowId: `${workflowId}-again`,
    args: [{ target: target.ref, keyring: keyring.ref, users, throughCohort: 2, migration: { chunkRows: 500 } }],
  });
  expect((again as RolloutStatus).cohorts.slice(0, 3).map((c) => [c.skipped, c.migrated, c.failed])).toEqual([
    [1, 0, 0],
    [1, 0, 0],
    [7, 0, 1],
  ]);
});

it('rollout schedule creates one Schedule per stage (overlap skip, paused on failure) that starts the stage', async () => {
  const prefix = `sched-${randomUUID().slice(0, 8)}`;
  const times = [1, 2, 3, 4].map((d) => new Date(Date.now() + d * 86_400_000).toISOString()).join(',');
  const r = await cli([
    'rollout',
    'schedule',
    '--manifest',
    manifestPath,
    '--at',
    times,
    '--id',
    prefix,
    '--task-queue',
    worker.taskQueue,
  ]);
  expect(r.code).toBe(0);
  const handle = worker.client.schedule.getHandle(`${prefix}-stage-0`);
  const d = await handle.describe();
  expect(d.policies).toMatchObject({ overlap: 'SKIP', pauseOnFailure: true });
  expect(d.state.remainingActions).toBe(1);
  expect((d.action as { args: { throughCohort: number }[] }).args[0]!.throughCohort).toBe(0);
  await handle.trigger();
  let started: string | undefined;
  await waitUntil(
    'the schedule to start a run',
    async () => {
      const action = (await handle.describe()).info.recentActions[0]?.action;
      started = action?.type === 'startWorkflow' ? action.workflow.workflowId : undefined;
      return started !== undefined;
    },
    { timeoutMs: 20_000, intervalMs: 200 },
  );
  expect(started).toMatch(new RegExp(`^${prefix}-stage-0-run`));
  const result = (await worker.client.workflow.getHandle(started!).result()) as RolloutStatus;
  expect(result).toMatchObject({
    status: 'completed',
    cohorts: [{ users: 1, failed: 0, gate: 'passed' }, { gate: 'pending' }, { gate: 'pending' }, { gate: 'pending' }],
  });
  expect(result.cohorts[0]!.skipped + result.cohorts[0]!.migrated).toBe(1); // only stage 0's cohort ran
  for (let i = 0; i < 4; i++) await worker.client.schedule.getHandle(`${prefix}-stage-${i}`).delete();
});
