// A throttle that lasts keeps histories bounded: the transferTable child continues-as-new after
// min(THROTTLE_CHECKS_PER_EXECUTION, chunksPerExecution) readings while it waits (carrying the time
// throttled; chunksPerExecution 5 here, so the test need not wait through 200 readings), and the
// parent hears of the wait only on changes (and every THROTTLE_REPORT_INTERVAL_MS), not per reading.
// Stub activities (test/helpers/stub-activities.ts) on the real dev server: the load is scripted.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { TABLE_ORDER } from '../../lib/mapping';
import type { MigrationResult } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { startStubWorker, type StubWorker } from '../helpers/stub-activities';

let w: StubWorker;
beforeAll(async () => {
  w = await startStubWorker();
});
afterAll(async () => {
  await w?.stop();
});

it('a long throttle: the child continues-as-new, the time throttled is carried, the parent history stays flat', async () => {
  const busyReadings = 12; // over two executions' worth of 5
  let readings = 0;
  const workflowId = `throttle-history-${randomUUID()}`;
  const run = w.stubs.plan(workflowId, {
    rowsPerTable: 20,
    overrides: {
      async checkLoad() {
        readings++;
        return {
          probeLatencyMs: null,
          activeBackends: readings <= busyReadings ? 100 : 0,
          replicationLagMs: null,
          walBytesPerSec: null,
          wal: null,
        };
      },
    },
  });
  const handle = await w.client.workflow.start(migrationWorkflow, {
    taskQueue: w.taskQueue,
    workflowId,
    args: [
      {
        source: '/stub/source.sqlite',
        userId: randomUUID(),
        target: 'stub-target',
        keyring: 'stub-keyring',
        chunkRows: 10,
        parallelism: 1,
        chunksPerExecution: 5,
        health: { intervalMs: 3_600_000 },
        throttle: { maxActiveBackends: 5, checkIntervalMs: 100, maxBackoffMs: 100 },
      },
    ],
  });
  const result = (await handle.result()) as MigrationResult;
  const first = result.tables[TABLE_ORDER[0]!]!;
  // The first table waited through every busy reading, across two executions of its child.
  expect(readings).toBeGreaterThan(busyReadings);
  expect((first as unknown as { executions: number }).executions).toBe(3); // 5 + 5 + (2 busy, 1 clear) readings
  expect(first.chunks).toBe(2);
  // 0.5 s, then at least 0.1 s per reading (the backoff restarts in each execution), carried across continue-as-new.
  expect(first.throttledMs).toBeGreaterThanOrEqual(3 * 500 + 9 * 100);
  expect(result.throttledMs).toBe(Object.values(result.tables).reduce((n, t) => n + (t.throttledMs ?? 0), 0));
  // No chunk was transferred while any reading was over the threshold.
  const calls = run.calls.map((c) => c.name);
  const firstChunk = calls.indexOf('transferChunk');
  expect(calls.slice(0, firstChunk).filter((n) => n === 'checkLoad').length).toBe(busyReadings + 1);
  // The parent heard of the throttle a handful of times, not once per reading.
  let signals = 0;
  for (const e of (await handle.fetchHistory()).events ?? []) if (e.workflowExecutionSignaledEventAttributes) signals++;
  expect(signals).toBeLessThanOrEqual(TABLE_ORDER.length * 2 + 4);
  console.info(
    `throttle history figures: ${readings} readings, ${first.throttledMs} ms throttled in ${TABLE_ORDER[0]}, ${signals} signals in the parent`,
  );
}, 180_000);
