// A source file and a keyring entry are tied to the run's user (docs/security.md "Source files and keys
// belong to their user"): swapped keys and swapped files are refused in preflight, once, before anything
// is written; a file without the app's user marker is refused unless the operator overrides, and an
// overridden run says so in its memo and its events. The worker's config is this test's own and refuses
// unmarked files, as a production worker does by default.
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { deriveEntityKey, sealString } from '../../lib/envelope';
import { parseWorkerConfig } from '../../lib/worker-config';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { createAppTables, targetState } from '../helpers/target-state';

const [userA, userB, userC] = [randomUUID(), randomUUID(), randomUUID()];
const dir = tempDir('migrator-ownership-');
const fileA = join(dir, 'a.sqlite'); // marked for A
const fileB = join(dir, 'b.sqlite'); // marked for B
const copyOfA = join(dir, 'a-unmarked-copy.sqlite'); // A's notes, no marker
const fileC = join(dir, 'c.sqlite'); // unmarked
const keys = writeKeyring([userA, userB, userC]);
const swappedPath = join(dir, 'swapped-keyring.json');
let target: TestTarget;
let worker: TestWorker;

beforeAll(async () => {
  generateDataset({ path: fileA, seed: 61, notes: 20, userId: userA });
  generateDataset({ path: fileB, seed: 62, notes: 20, userId: userB });
  generateDataset({ path: copyOfA, seed: 61, notes: 20 }); // same seed: the same note ids as A's file
  generateDataset({ path: fileC, seed: 63, notes: 20 });
  const b64 = (k: Uint8Array) => Buffer.from(k).toString('base64');
  // A's entry holds B's key and B's entry A's: each user's own entry, the other user's key.
  writeFileSync(swappedPath, JSON.stringify({ [userA]: b64(keys.keys[userB]!), [userB]: b64(keys.keys[userA]!) }));
  target = await createTargetDatabase('own');
  // B already has data in the target, encrypted under B's key by the app (no run of B registered a key check).
  await createAppTables(target);
  const noteId = randomUUID();
  const key = deriveEntityKey(keys.keys[userB]!, noteId);
  await target.query(
    `INSERT INTO notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at) VALUES ($1, $2, $3, $4, 'note', '2024-01-01', '2024-01-02')`,
    [noteId, userB, sealString(key, 'written by the app'), sealString(key, '{"body":""}')],
  );
  const config = parseWorkerConfig({
    targets: { notes: { dsn: `env:${target.dsnEnv}`, database: target.database } },
    sourceDirs: [dir],
    keyrings: { default: `file:${keys.path}`, swapped: `file:${swappedPath}` },
  });
  expect(config.allowUnmarkedSources).toBe(false); // the production default
  worker = await startTestWorker({ config });
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

const input = (userId: string, source: string, extra: Record<string, unknown> = {}) => ({
  source,
  userId,
  target: 'notes',
  keyring: 'default',
  chunkRows: 50,
  health: { soakMs: 0 },
  ...extra,
});

async function run(args: Record<string, unknown>): Promise<{ workflowId: string; result: MigrationResult }> {
  const workflowId = `own-${randomUUID()}`;
  const result = (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId,
    args: [args],
  })) as MigrationResult;
  return { workflowId, result };
}

async function refusal(args: Record<string, unknown>) {
  const workflowId = `own-${randomUUID()}`;
  const outcome = await worker.client.workflow
    .execute('migrationWorkflow', { taskQueue: worker.taskQueue, workflowId, args: [args] })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(outcome, 'the run must be refused').toBeInstanceOf(WorkflowFailedError);
  let cause = (outcome as WorkflowFailedError).cause as ApplicationFailure | undefined;
  while (cause?.cause) cause = cause.cause as ApplicationFailure;
  const history = await worker.client.workflow.getHandle(workflowId).fetchHistory();
  const started = (history.events ?? []).filter((e) => e.activityTaskScheduledEventAttributes);
  return {
    type: cause!.type,
    field: (cause!.details?.[0] as { field?: string } | undefined)?.field,
    message: cause!.message,
    nonRetryable: cause!.nonRetryable,
    activities: started.map((e) => e.activityTaskScheduledEventAttributes!.activityType!.name),
  };
}

/** The target as a refused run must leave it: app tables and the migrator's registries. */
async function snapshot(): Promise<string> {
  const registry = await target
    .query<{ n: number }>(
      'SELECT (SELECT count(*) FROM migration.user_keys) + (SELECT count(*) FROM migration.source_files) + (SELECT count(*) FROM migration.migration_log) AS n',
    )
    .catch(() => [{ n: -1 }]);
  return JSON.stringify({ state: await targetState(target), registry: registry[0]!.n });
}

it("migrates A's own marked file with A's key, and records A's key check and the file's fingerprints", async () => {
  const { result } = await run(input(userA, fileA));
  expect(result.status).toBe('completed');
  const keysRows = await target.query<{ user_id: string }>('SELECT user_id::text FROM migration.user_keys');
  expect(keysRows.map((r) => r.user_id)).toEqual([userA]);
  const files = await target.query<{ user_id: string }>('SELECT user_id::text FROM migration.source_files');
  expect(files.map((r) => r.user_id)).toEqual([userA]);
});

it.each([
  [
    "A's entry holding B's key, after A's run recorded A's key check",
    () => input(userA, fileA, { keyring: 'swapped' }),
    'keyring',
    'KEY_DIFFERS_FROM_REGISTERED',
  ],
  [
    "B's entry holding A's key, where B has the app's rows in the target (no key check recorded)",
    () => input(userB, fileB, { keyring: 'swapped' }),
    'keyring',
    'KEY_OPENS_NO_TARGET_ROW',
  ],
  ["A's marked file started as B", () => input(userB, fileA), 'source', 'SOURCE_MARKED_FOR_OTHER_USER'],
  [
    "A's marked file started as B, even with the override",
    () => input(userB, fileA, { sourceOwnershipUnverified: true }),
    'source',
    'SOURCE_MARKED_FOR_OTHER_USER',
  ],
  [
    "an unmarked copy of A's notes started as C with the override (the file is registered to A)",
    () => input(userC, copyOfA, { sourceOwnershipUnverified: true }),
    'source',
    'SOURCE_REGISTERED_TO_OTHER_USER',
  ],
  ['an unmarked file without the override', () => input(userC, fileC), 'source', 'SOURCE_UNMARKED'],
])('refuses %s in preflight, once, before any write', async (_name, args, field, code) => {
  const before = await snapshot();
  const r = await refusal(args());
  expect(r).toMatchObject({ type: 'OwnershipRefused', field, nonRetryable: true });
  expect(r.message).toContain(code);
  expect(r.activities).toEqual(['preflight']); // one attempt of preflight, nothing after it
  expect(await snapshot()).toEqual(before);
});

it('the unmarked-file refusal says how to override', async () => {
  const r = await refusal(input(userC, fileC));
  expect(r.message).toMatch(/"sourceOwnershipUnverified": true/);
  expect(r.message).toMatch(/app_meta/);
});

it('accepts an unmarked file with the override, and the run says so in its memo and its events', async () => {
  const { workflowId, result } = await run(input(userC, fileC, { sourceOwnershipUnverified: true }));
  expect(result.status).toBe('completed');
  const description = await worker.client.workflow.getHandle(workflowId).describe();
  expect(description.memo).toMatchObject({ sourceOwnershipUnverified: true, sourceOwnershipOverriddenBy: 'input' });
  const events = await target.query<{ message: string }>(
    "SELECT message FROM migration.migration_log WHERE user_id = $1 AND phase = 'preflight' AND status = 'info'",
    [userC],
  );
  expect(events.map((e) => e.message)).toEqual([expect.stringMatching(/UNVERIFIED.*input sourceOwnershipUnverified/)]);
  // A run with a marker carries no such memo.
  const marked = await run(input(userB, fileB));
  expect(marked.result.status).toBe('completed');
  expect((await worker.client.workflow.getHandle(marked.workflowId).describe()).memo ?? {}).not.toHaveProperty(
    'sourceOwnershipUnverified',
  );
});

it("a rolled-back run's registrations go with it", async () => {
  const userD = randomUUID();
  const fileD = join(dir, 'd.sqlite');
  generateDataset({ path: fileD, seed: 64, notes: 20, userId: userD });
  // D's key goes into the keyring the worker's config names ("default").
  const keyring = JSON.parse(readFileSync(keys.path, 'utf8')) as Record<string, string>;
  keyring[userD] = Buffer.from(randomBytes(32)).toString('base64');
  writeFileSync(keys.path, JSON.stringify(keyring));
  const workflowId = `own-${randomUUID()}`;
  worker.faults.plan(workflowId, { failAfterPhase: 'transfer' });
  const outcome = await worker.client.workflow
    .execute('migrationWorkflow', { taskQueue: worker.taskQueue, workflowId, args: [input(userD, fileD)] })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(((outcome as WorkflowFailedError).cause as ApplicationFailure).type).toBe('RolledBack');
  expect(await target.query('SELECT 1 FROM migration.user_keys WHERE user_id = $1', [userD])).toEqual([]);
  expect(await target.query('SELECT 1 FROM migration.source_files WHERE user_id = $1', [userD])).toEqual([]);
  // The registrations of the other users' completed runs stay.
  expect(await target.query('SELECT 1 FROM migration.user_keys WHERE user_id = $1', [userA])).toHaveLength(1);
});
