// The worker's Prometheus endpoint carries the SDK's metrics and the migration's own: rows
// migrated and quarantined per table, chunk latency, rollbacks.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { plantBadRows } from '../../gen/plant-bad-rows';
import { freePort } from '../../infra/ports';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';
import { waitUntil } from '../helpers/wait';

let client: TestWorker;
let target: TestTarget;
let worker: WorkerProcess;
let port: number;
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'metrics.sqlite');
const keyring = writeKeyring([userId]);
const taskQueue = `metrics-${randomUUID()}`;

beforeAll(async () => {
  generateDataset({ path: source, seed: 29, notes: 200 });
  plantBadRows(source);
  client = await startTestWorker();
  target = await createTargetDatabase();
  port = await freePort();
  worker = await spawnWorker({
    taskQueue,
    env: { [target.dsnEnv]: target.url, MIGRATOR_METRICS_PORT: String(port) },
    backupDir: dir,
  });
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await client?.stop();
  await target?.close();
});

function metric(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && l.includes(labels));
  return line ? Number(line.split(' ').pop()) : Number.NaN;
}

it('exposes rows migrated, quarantined, chunk latency and the SDK metrics', async () => {
  const result = (await client.client.workflow.execute('migrationWorkflow', {
    taskQueue,
    workflowId: `metrics-${randomUUID()}`,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 50, quarantineThreshold: 0.5 }],
  })) as MigrationResult;
  let text = '';
  await waitUntil(
    'migrator_rows_migrated on /metrics',
    async () =>
      (text = await fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())).includes('migrator_rows_migrated'),
    {
      timeoutMs: 6_000,
      intervalMs: 200,
    },
  );
  for (const table of ['local_notes', 'note_tasks']) {
    expect(metric(text, 'migrator_rows_migrated', `table="${table}"`), table).toBe(result.tables[table]!.migrated);
    expect(metric(text, 'migrator_rows_quarantined', `table="${table}"`), table).toBe(
      result.tables[table]!.quarantined,
    );
  }
  expect(result.tables.local_notes!.quarantined).toBeGreaterThan(0);
  expect(text).toMatch(/migrator_chunk_latency_bucket\{.*table="local_notes"/);
  expect(text).toMatch(/temporal_activity_execution_latency/);
  expect(worker.output()).toContain('chunk committed');
});
