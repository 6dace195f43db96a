// A writer that bypasses Temporal is fenced by the run lease: a chunk written under a run id that
// does not hold the lease (another process, a stale worker, a run already rolled back) is refused
// with LeaseLost before anything is written, and the target keeps exactly the live run's rows.
import { randomUUID } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createActivities } from '../../activities';
import { createDeps } from '../../activities/deps';
import type { TransferChunkInput } from '../../activities/transfer';
import { generateDataset } from '../../gen/generate';
import { abortUpdate, pauseUpdate, progressQuery } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  testWorkerConfig,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { seedTarget } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';

let worker: TestWorker;
let target: TestTarget;
const userId = randomUUID();
const source = realpathSync(tempDir()) + '/fencing.sqlite';
const keyring = writeKeyring([userId]);
const deps = createDeps({ backupDir: join(tempDir(), 'backups'), config: testWorkerConfig });
const activities = createActivities(deps);

beforeAll(async () => {
  generateDataset({ path: source, seed: 31, notes: 400 });
  worker = await startTestWorker();
  target = await createTargetDatabase('fence');
  await seedTarget(target, userId); // a populated target: the app's tables, other users, one own note
});
afterAll(async () => {
  await worker?.stop();
  await deps.close();
  await target?.close();
});

/** Bridge rows of a run (none when the bridge table is gone: the rollback drops tables it created). */
async function rowsOf(runId: string): Promise<number> {
  const [{ present }] = (await target.query<{ present: boolean }>(
    "SELECT to_regclass('public.schema_bridge_notes') IS NOT NULL AS present",
  )) as [{ present: boolean }];
  if (!present) return 0;
  const [{ n }] = (await target.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM schema_bridge_notes WHERE run_id = $1 AND user_id = $2',
    [runId, userId],
  )) as [{ n: number }];
  return n;
}

async function writeChunkAs(runId: string): Promise<unknown> {
  const db = new Database(source, { readonly: true });
  const { hi } = db.prepare('SELECT max(id) AS hi FROM local_notes').get() as { hi: string };
  db.close();
  const input: TransferChunkInput = {
    runId,
    source,
    target: target.ref,
    keyring: keyring.ref,
    userId,
    table: 'local_notes',
    asOfSeconds: Math.floor(Date.now() / 1000),
    dryRun: false,
    lo: null,
    hi,
  };
  return new MockActivityEnvironment({ activityType: 'transferChunk' }).run(activities.transferChunk, input).then(
    () => null,
    (e: unknown) => e,
  );
}

it('a chunk from a run id without the lease is refused; after the rollback released it, the run itself is fenced too', async () => {
  const handle = await worker.client.workflow.start(migrationWorkflow, {
    taskQueue: worker.taskQueue,
    workflowId: `fence-${randomUUID()}`,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 20, parallelism: 1 }],
  });
  await waitUntil('the transfer started', async () => (await handle.query(progressQuery)).chunksDone > 0, {
    timeoutMs: 90_000,
  });
  await handle.executeUpdate(pauseUpdate);
  const { runId } = await handle.query(progressQuery);

  // Another process writing as a run that never held the lease.
  const intruderId = `intruder-${randomUUID()}`;
  const intruder = await writeChunkAs(intruderId);
  expect(intruder).toMatchObject({ type: 'LeaseLost', nonRetryable: true });
  expect(String((intruder as Error).message)).toMatch(/does not hold its lease/);
  expect(await rowsOf(intruderId)).toBe(0);

  // The run is aborted and rolled back (lease released); a late write under its own id is fenced.
  await handle.executeUpdate(abortUpdate, { args: ['fencing test'] });
  await handle.result().catch(() => undefined);
  expect(await rowsOf(runId)).toBe(0);
  const late = await writeChunkAs(runId);
  expect(late).toMatchObject({ type: 'LeaseLost', nonRetryable: true });
  expect(await rowsOf(runId)).toBe(0);
  // Only the note that existed before the run is left.
  expect(await target.query('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [userId])).toEqual([{ n: 1 }]);
}, 180_000);
