// A rollout of 20,000 users stays within Temporal's limits: its users come from a JSON Lines file
// the worker pages through (the input holds a path, not 20,000 users: inline lists are capped), and
// it continues-as-new every ROLLOUT_CHILDREN_PER_RUN children carrying its counts and position.
// Children are instant stubs (test/fixtures/instant-migration-workflows.ts): the rollout is under test.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createFullBackupActivities } from '../../activities/full-backup';
import { createRolloutActivities } from '../../activities/rollout';
import { ROLLOUT_CHILDREN_PER_RUN, ROLLOUT_INLINE_USERS_MAX } from '../../lib/defaults';
import { InvalidInputError } from '../../lib/errors';
import { parseRolloutInput } from '../../lib/input';
import { rolloutStatusQuery, type RolloutStatus } from '../../workflows/definitions';
import { createTargetDatabase, tempDir, type TestTarget, testWorkerConfig } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

const USERS = 20_000;
const FIRST = USERS * 0.04; // the first cohort, run through; the rest planned
const dir = tempDir();
const usersFile = join(dir, 'users.jsonl');
let target: TestTarget;
let client: Client;
let connection: Connection;
let native: NativeConnection;
let worker: Worker;
let running: Promise<void>;
let deps: ReturnType<typeof createDeps>;
const taskQueue = `scale-${randomUUID()}`;

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('WARN') });
  writeFileSync(
    usersFile,
    Array.from({ length: USERS }, (_, i) =>
      JSON.stringify({ userId: randomUUID(), source: `/data/users/${i}.sqlite` }),
    ).join('\n') + '\n',
  );
  target = await createTargetDatabase('scale');
  deps = createDeps({ backupDir: join(dir, 'backups'), config: testWorkerConfig });
  native = await NativeConnection.connect({ address: inject('temporalAddress') });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: fileURLToPath(new URL('../fixtures/instant-migration-workflows.ts', import.meta.url)),
    logger: new DefaultLogger('ERROR'),
  });
  worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowBundle,
    // The rollout's own activities, and its one full backup of the target (patch 'rollout-full-backup').
    activities: { ...createRolloutActivities(deps), ...createFullBackupActivities(deps) },
    maxConcurrentWorkflowTaskExecutions: 40,
  });
  running = worker.run();
  connection = await Connection.connect({ address: inject('temporalAddress') });
  client = new Client({ connection });
});
afterAll(async () => {
  worker?.shutdown();
  await running;
  await connection?.close();
  await native?.close();
  await deps?.close();
  await target?.close();
});

it(`refuses more than ${ROLLOUT_INLINE_USERS_MAX} users inline, pointing at usersFile`, () => {
  const users = Array.from({ length: ROLLOUT_INLINE_USERS_MAX + 1 }, (_, i) => ({
    userId: randomUUID(),
    source: `/u/${i}`,
  }));
  let err: unknown;
  try {
    parseRolloutInput({ target: 't', keyring: 'k', users });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(InvalidInputError);
  expect((err as InvalidInputError).field).toBe('users');
  expect((err as InvalidInputError).message).toMatch(/usersFile/);
});

it('plans 20,000 users from a users file, runs the first 4 % through continue-as-new, each run small', async () => {
  const workflowId = `scale-${randomUUID()}`;
  const handle = await client.workflow.start('stagedRollout', {
    taskQueue,
    workflowId,
    args: [{ target: target.ref, keyring: 'unused', usersFile, cohorts: [0.04, 1], concurrency: 50, throughCohort: 0 }],
  });
  const status = (await handle.result()) as RolloutStatus;
  expect(status.status).toBe('completed');
  expect(status.cohorts.map((c) => c.users)).toEqual([FIRST, USERS - FIRST]); // all 20,000 planned
  expect(status.cohorts[0]).toMatchObject({ migrated: FIRST, failed: 0, skipped: 0, gate: 'passed' });
  expect(status.cohorts[1]).toMatchObject({ migrated: 0, gate: 'pending' });

  // Every run of the chain: bounded history and a small input.
  const chain = Math.ceil(FIRST / ROLLOUT_CHILDREN_PER_RUN);
  await waitUntil('visibility lists every run of the chain', async () => {
    let n = 0;
    for await (const _ of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
    return n >= chain;
  });
  const runs: { events: number; inputBytes: number }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const history = await client.workflow.getHandle(workflowId, w.runId).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const inputBytes = (started.input?.payloads ?? []).reduce((n, p) => n + (p.data?.length ?? 0), 0);
    runs.push({ events: history.events!.length, inputBytes });
  }
  expect(runs.length).toBeGreaterThanOrEqual(chain);
  for (const r of runs) {
    expect(r.events).toBeLessThan(5_000);
    expect(r.inputBytes).toBeLessThan(64 * 1024);
  }
  console.log(
    `[rollout-scale] ${runs.length} runs; events per run ${runs.map((r) => r.events).join(', ')}; input bytes ${Math.max(...runs.map((r) => r.inputBytes))} max`,
  );
  expect((await handle.query(rolloutStatusQuery)).cohorts[0]!.migrated).toBe(FIRST);
  // Every run of the chain asked for the target's full backup; the first took it, the others shared it.
  const full = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM migration_backups.full_backups');
  expect(full).toEqual([{ n: 1 }]);
}, 600_000);

it('refuses a users file that changed under a running rollout, a bad line, or one outside the source directories', async () => {
  const file = join(dir, 'changing.jsonl');
  writeFileSync(
    file,
    Array.from({ length: 3 }, () => JSON.stringify({ userId: randomUUID(), source: '/x.sqlite' })).join('\n'),
  );
  const activities = createRolloutActivities(deps);
  const { sha256, users } = await activities.describeUsersFile({ usersFile: file });
  expect(users).toBe(3);
  writeFileSync(file, JSON.stringify({ userId: randomUUID(), source: '/y.sqlite' }));
  await expect(activities.usersFilePage({ usersFile: file, sha256, offset: 0, limit: 10 })).rejects.toMatchObject({
    field: 'usersFile',
    message: expect.stringMatching(/changed since the rollout started/),
  });
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, `${JSON.stringify({ userId: randomUUID(), source: '/a' })}\n{"userId": "nope", "source": "/b"}\n`);
  await expect(activities.describeUsersFile({ usersFile: bad })).rejects.toMatchObject({
    field: 'usersFile',
    message: expect.stringMatching(/line 2: userId/),
  });
  // The worker reads a users file only inside its configured source directories.
  await expect(activities.describeUsersFile({ usersFile: '/etc/hostname' })).rejects.toMatchObject({
    type: 'NotPermitted',
    message: expect.stringMatching(/usersFile/),
  });
});
