// Killing the worker process mid-transfer (SIGKILL, no cleanup) and starting another one
// completes the run with no row lost or duplicated.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { TABLE_ORDER } from '../../lib/mapping';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { spawnWorker } from '../helpers/worker-process';
import { waitUntil } from '../helpers/wait';

let target: TestTarget;
let client: TestWorker; // used for its client only: its own task queue has no work
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'crash.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  generateDataset({ path: source, seed: 3, notes: 3000 });
  target = await createTargetDatabase();
  client = await startTestWorker();
});
afterAll(async () => {
  await client?.stop();
  await target?.close();
});

it('survives a SIGKILLed worker mid-transfer', async () => {
  const taskQueue = `crash-${randomUUID()}`;
  const env = { [target.dsnEnv]: target.url };
  const first = await spawnWorker({ taskQueue, env, backupDir: dir });
  const handle = await client.client.workflow.start('migrationWorkflow', {
    taskQueue,
    workflowId: `crash-${randomUUID()}`,
    args: [
      {
        source,
        userId,
        target: target.ref,
        keyring: keyring.ref,
        chunkRows: 50,
        parallelism: 2,
        heartbeatTimeoutMs: 2000,
      },
    ],
  });
  // Wait until the transfer is under way, then kill the worker without warning.
  const committed = async () =>
    (await target.query<{ n: number }>('SELECT count(*)::int AS n FROM migration.chunk_ledger'))[0]!.n;
  await waitUntil('20 committed chunks', async () => (await committed()) >= 20, { intervalMs: 100 });
  await first.kill('SIGKILL');
  const atKill = (await target.query<{ n: number }>('SELECT count(*)::int AS n FROM migration.chunk_ledger'))[0]!.n;
  expect(atKill).toBeGreaterThanOrEqual(20);

  const second = await spawnWorker({ taskQueue, env, backupDir: dir });
  try {
    const result = (await handle.result()) as MigrationResult;
    expect(result.validation.ok).toBe(true);
    const totalChunks = TABLE_ORDER.reduce((n, t) => n + result.tables[t]!.chunks, 0);
    expect(atKill).toBeLessThan(totalChunks); // the kill really happened mid-transfer
    const src = new Database(source, { readonly: true });
    for (const [table, targetTable] of [
      ['local_notes', 'notes'],
      ['note_tasks', 'note_tasks'],
      ['local_folders', 'folders'],
      ['note_folders', 'note_folders'],
    ] as const) {
      const n = (src.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      const [row] = await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${targetTable}`);
      expect(row!.n, targetTable).toBe(n);
      expect(result.tables[table]!.migrated, table).toBe(n);
      expect(result.tables[table]!.inserted, table).toBe(n); // every row inserted exactly once
    }
    src.close();
    const [ledger] = await target.query<{ chunks: number; distinct_chunks: number }>(
      'SELECT count(*)::int AS chunks, count(DISTINCT (source_table, chunk_lo))::int AS distinct_chunks FROM migration.chunk_ledger',
    );
    expect(ledger!.chunks).toBe(totalChunks);
    expect(ledger!.distinct_chunks).toBe(totalChunks);
  } finally {
    await second.kill('SIGTERM');
  }
  // Two worker processes each bundle the workflow code before polling (20-30 s each on a busy
  // 2-core CI machine), around a 3,000-note migration: 43 s alone, 80-120 s beside the other suites.
}, 300_000);
