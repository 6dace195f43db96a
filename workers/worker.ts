// Builds the migration worker: workflows bundled from workflows/, activities from the factory
// with dependencies owned by this process.
import { fileURLToPath } from 'node:url';
import type { NativeConnection } from '@temporalio/worker';
import { Worker, type WorkerOptions } from '@temporalio/worker';
import { createActivities } from '../activities';
import { createDeps, type ActivityDeps } from '../activities/deps';
import { DEFAULT_ACTIVITY_CONCURRENCY, DEFAULT_TASK_QUEUE } from '../lib/defaults';
import type { TestFaults } from './test-faults';
import { codecFromEnv, FAILURE_CONVERTER_PATH, type EncryptionCodec } from './payload-codec';

export const WORKFLOWS_PATH = fileURLToPath(new URL('../workflows/index.ts', import.meta.url));

export interface MigrationWorkerOptions {
  connection: NativeConnection;
  namespace?: string;
  taskQueue?: string;
  deps?: ActivityDeps;
  /** Payload encryption (default: from MIGRATOR_CODEC_KEY; null = off). */
  codec?: EncryptionCodec | null;
  /** Overrides for tests and tuning (e.g. maxConcurrentActivityTaskExecutions). */
  worker?: Partial<WorkerOptions>;
  /** Test mode: fault injection planned per workflow id (never set on a production worker). */
  testFaults?: TestFaults;
}

export async function createMigrationWorker(
  options: MigrationWorkerOptions,
): Promise<{ worker: Worker; deps: ActivityDeps }> {
  const activityConcurrency = options.worker?.maxConcurrentActivityTaskExecutions ?? DEFAULT_ACTIVITY_CONCURRENCY;
  // Pools sized from the activity concurrency this worker runs with (callers passing deps size theirs).
  const deps = options.deps ?? createDeps({ activityConcurrency });
  const codec = options.codec === undefined ? codecFromEnv() : options.codec;
  const worker = await Worker.create({
    connection: options.connection,
    namespace: options.namespace ?? 'default',
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowsPath: WORKFLOWS_PATH,
    activities: createActivities(deps),
    maxConcurrentActivityTaskExecutions: activityConcurrency,
    ...(options.testFaults ? { interceptors: { activity: [options.testFaults.interceptor()] } } : {}),
    ...(codec ? { dataConverter: { payloadCodecs: [codec], failureConverterPath: FAILURE_CONVERTER_PATH } } : {}),
    ...options.worker,
  });
  return { worker, deps };
}
