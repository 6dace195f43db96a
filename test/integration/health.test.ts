// The health guard: a latency trigger (an injected pg_sleep in the benchmark probe) and an
// error-rate trigger (a SQL source over the app's metrics table) each roll back within one guard
// interval; a load under the thresholds does not; the webhook hears rollback start and success.
import { createServer, type Server } from 'node:http';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { ApplicationFailure } from '@temporalio/client';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { progressQuery, type MigrationResult, type RollbackReport } from '../../workflows/definitions';
import {
  createTargetDatabase,
  healthSource,
  startTestWorker,
  tempDir,
  webhook,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { seedTarget, targetState } from '../helpers/target-state';

const INTERVAL_MS = 1000;
let worker: TestWorker;
let hook: Server;
let hookName: string;
const events: { event: string; workflowId: string }[] = [];
const userId = randomUUID();
const source = join(tempDir(), 'health.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  generateDataset({ path: source, seed: 13, notes: 600 });
  worker = await startTestWorker();
  hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body) as { event: string; workflowId: string });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  hookName = webhook(`http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`);
});
afterAll(async () => {
  await worker?.stop();
  hook?.close();
});

async function run(target: TestTarget, health: Record<string, unknown>, chunkRows = 10) {
  const workflowId = `health-${randomUUID()}`;
  const started = Date.now();
  const outcome = await worker.client.workflow
    .execute('migrationWorkflow', {
      taskQueue: worker.taskQueue,
      workflowId,
      // Small chunks, one at a time: the transfer outlasts several guard intervals.
      args: [
        {
          source,
          userId,
          target: target.ref,
          keyring: keyring.ref,
          chunkRows,
          parallelism: 1,
          health: { intervalMs: INTERVAL_MS, webhook: hookName, ...health },
        },
      ],
    })
    .then(
      (r) => r as MigrationResult,
      (e: unknown) => e,
    );
  return { workflowId, outcome, elapsedMs: Date.now() - started };
}

async function guardWindow(target: TestTarget): Promise<number> {
  // From the baseline (guard start) to the rollback start, as the run logged them.
  const [r] = await target.query<{ ms: number }>(
    "SELECT extract(epoch FROM (SELECT at FROM migration.migration_log WHERE phase = 'rollback' AND status = 'started') - (SELECT at FROM migration.migration_log WHERE phase = 'health')) * 1000 AS ms",
  );
  return Number(r!.ms);
}

/** Guard readings the run took (in its guard child): "within one interval" means the first reading triggered. */
async function healthReadings(workflowId: string): Promise<number> {
  const progress = await worker.client.workflow.getHandle(workflowId).query(progressQuery);
  expect(progress.healthGuardWorkflowId).toBe(`${workflowId}-health`);
  const history = await worker.client.workflow.getHandle(progress.healthGuardWorkflowId!).fetchHistory();
  return (history.events ?? []).filter(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'healthCheck',
  ).length;
}

function rolledBack(outcome: unknown): RollbackReport {
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  const cause = (outcome as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('RolledBack');
  return cause.details![0] as RollbackReport;
}

it('a latency trigger (slow benchmark query) rolls back within one interval', async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  const before = await targetState(target);
  const { workflowId, outcome } = await run(target, {
    sources: [healthSource({ kind: 'benchmark', sql: 'SELECT pg_sleep(0.3)' })],
  });
  const report = rolledBack(outcome);
  expect(report.cause).toBe('health');
  expect(report.reason).toMatch(/latency .* > 2x baseline/);
  expect(await healthReadings(workflowId)).toBe(1); // the first reading, one interval in, triggered
  expect(await guardWindow(target)).toBeLessThan(INTERVAL_MS + 10_000); // and the rollback began right after (loose: CI load)
  expect(await targetState(target)).toEqual(before);
  expect(events.filter((e) => e.workflowId === workflowId).map((e) => e.event)).toEqual([
    'rollback-started',
    'rollback-succeeded',
  ]);
  await target.close();
});

it('an error-rate trigger (app metrics table) rolls back within one interval', async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  await target.query('CREATE TABLE app_metrics (errors int, requests int)');
  await target.query('INSERT INTO app_metrics VALUES (3, 1000)'); // 0.3 % > 0.1 %
  const before = await targetState(target);
  const { workflowId, outcome } = await run(target, {
    sources: [healthSource({ kind: 'sql', sql: 'SELECT errors, requests FROM app_metrics' })],
  });
  const report = rolledBack(outcome);
  expect(report.reason).toMatch(/error rate 0\.30 % over 1000 requests/);
  expect(await healthReadings(workflowId)).toBe(1);
  expect(await guardWindow(target)).toBeLessThan(INTERVAL_MS + 10_000);
  expect(await targetState(target)).toEqual(before);
  await target.close();
});

it('a load under the thresholds does not roll back', async () => {
  const target = await createTargetDatabase();
  await seedTarget(target, userId);
  await target.query('CREATE TABLE app_metrics (errors int, requests int)');
  await target.query('INSERT INTO app_metrics VALUES (1, 5000), (0, 0)'); // 0.02 % (one row read: the first)
  const { outcome, elapsedMs } = await run(
    target,
    {
      minLatencyDeltaMs: 100, // a loaded CI machine must not turn scheduling noise into a trigger
      sources: [
        healthSource({ kind: 'benchmark', sql: 'SELECT pg_sleep(0.002)' }),
        healthSource({ kind: 'sql', sql: 'SELECT errors, requests FROM app_metrics LIMIT 1' }),
      ],
      soakMs: 2500,
    },
    40,
  );
  expect(outcome).toMatchObject({ status: 'completed', validation: { ok: true } });
  expect(elapsedMs).toBeGreaterThan(2500); // the soak window was watched
  const readings = await target.query("SELECT 1 FROM migration.migration_log WHERE phase = 'rollback'");
  expect(readings).toHaveLength(0);
  await target.close();
});
