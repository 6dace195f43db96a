// No user content in Temporal history or worker logs (docs/design.md, law 2): a canary planted in every
// title, body and task content must appear nowhere in any run's history (all runs, children and
// continued-as-new executions included, payloads base64-decoded) nor in the worker's output.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { resolveTemporalCli } from '../../infra/temporal-cli';
import { TABLE_ORDER } from '../../lib/mapping';
import type { MigrationResult } from '../../workflows/definitions';
import { createTargetDatabase, startTestWorker, tempDir, writeKeyring, type TestTarget, type TestWorker } from '../helpers/stack';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const CANARY = `CANARY-${randomUUID().slice(0, 8)}-Ünïcødé-会议`;
let target: TestTarget;
let client: TestWorker;
let worker: WorkerProcess;
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'canary.sqlite');
const keyring = writeKeyring([userId]);
const taskQueue = `canary-${randomUUID()}`;

beforeAll(async () => {
  generateDataset({ path: source, seed: 5, notes: 400, canary: CANARY });
  target = await createTargetDatabase();
  client = await startTestWorker();
  worker = await spawnWorker({ taskQueue, env: { [target.dsnEnv]: target.url }, backupDir: dir });
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await client?.stop();
  await target?.close();
});

/** Every string in the JSON, plus the base64-decoded form of each string that decodes to text. */
function expand(json: string): string {
  const parts = [json];
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (/^[A-Za-z0-9+/]+={0,2}$/.test(v) && v.length % 4 === 0) parts.push(Buffer.from(v, 'base64').toString('utf8'));
    } else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(JSON.parse(json));
  return parts.join('\n');
}

it('keeps the canary out of every history and the worker logs', async () => {
  const cli = resolveTemporalCli();
  expect(cli, 'the Temporal CLI is needed to read histories as operators do').not.toBeNull();
  const workflowId = `canary-${randomUUID()}`;
  const result = (await client.client.workflow.execute('migrationWorkflow', {
    taskQueue,
    workflowId,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 100, chunksPerExecution: 2 }],
  })) as MigrationResult;
  expect(result.validation.ok).toBe(true);
  // The canary really is in the source, in every note (so the scan below means something).
  expect(readFileSync(source).includes(Buffer.from(CANARY))).toBe(true);

  const address = inject('temporalAddress');
  const ids = [workflowId, ...TABLE_ORDER.map((t) => `${workflowId}/${result.runId}/${t}`)];
  let histories = '';
  let runs = 0;
  for (const id of ids) {
    const list = JSON.parse(execFileSync(cli!.path, ['workflow', 'list', '--address', address, '--query', `WorkflowId = '${id}'`, '-o', 'json'], { encoding: 'utf8' })) as {
      execution: { runId: string };
    }[];
    expect(list.length, id).toBeGreaterThan(0);
    for (const run of list) {
      runs++;
      const json = execFileSync(cli!.path, ['workflow', 'show', '--address', address, '--workflow-id', id, '--run-id', run.execution.runId, '--output', 'json'], {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      });
      histories += expand(json);
    }
  }
  expect(runs).toBeGreaterThan(ids.length); // continue-as-new produced more runs, all scanned
  // Positive controls: the scan sees decoded payloads (the input's userId and a chunk checksum).
  expect(histories).toContain(userId);
  expect(histories).toContain(result.tables.local_notes!.checksum);
  expect(histories).not.toContain(CANARY);
  expect(histories).not.toContain('CANARY-');
  const logs = worker.output();
  expect(logs.length).toBeGreaterThan(0);
  expect(logs).not.toContain('CANARY-');
});
