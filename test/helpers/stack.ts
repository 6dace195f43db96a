// Per-test isolation on the shared servers: a database, a task queue, a worker and a keyring of
// the test's own.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultFailureConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { inject } from 'vitest';
import { createDeps } from '../../activities/deps';
import { withDatabase } from '../../infra/postgres';
import { parseWorkerConfig, type HealthSourceConfig, type WorkerConfig } from '../../lib/worker-config';
import type { EncryptionCodec } from '../../workers/payload-codec';
import { TestFaults } from '../../workers/test-faults';
import { createMigrationWorker } from '../../workers/worker';

/**
 * The worker config of every test worker (in-process and spawned): a live object, so a target or
 * keyring created after the worker started is granted too. Sources may come from the temp directory
 * (every test's files live there); a test of the trust boundary builds a narrower config of its own.
 */
export const testWorkerConfig: WorkerConfig = parseWorkerConfig({
  sourceDirs: [realpathSync(tmpdir())],
  // The suite's generated files predate the app's user marker; test/integration/ownership.test.ts runs
  // with a config of its own that refuses unmarked files, as a production worker does by default.
  allowUnmarkedSources: true,
});

/** Writes the current test worker config (or `config`) to a file, for `migrator worker --config`. */
export function writeWorkerConfig(config: WorkerConfig = testWorkerConfig): string {
  const path = join(mkdtempSync(join(tmpdir(), 'migrator-config-')), 'worker.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

let registered = 0;
/** Declares a health source in the test worker config; `sql` is written to a file. Returns its name. */
export function healthSource(
  source:
    { kind: 'sql' | 'benchmark'; sql: string; dsn?: string } | Extract<HealthSourceConfig, { kind: 'prometheus' }>,
): string {
  const name = `health-${++registered}-${randomUUID().slice(0, 8)}`;
  if (source.kind === 'prometheus') testWorkerConfig.healthSources[name] = source;
  else {
    const file = join(mkdtempSync(join(tmpdir(), 'migrator-health-')), `${name}.sql`);
    writeFileSync(file, source.sql);
    testWorkerConfig.healthSources[name] =
      source.kind === 'sql'
        ? { kind: 'sql', file, ...(source.dsn ? { dsn: source.dsn } : {}) }
        : { kind: 'benchmark', file };
  }
  return name;
}

/** Declares a webhook in the test worker config. Returns its name. */
export function webhook(url: string): string {
  const name = `hook-${++registered}-${randomUUID().slice(0, 8)}`;
  testWorkerConfig.webhooks[name] = url;
  return name;
}

export interface TestTarget {
  /** The target's name in the test worker config: what workflow input carries. */
  ref: string;
  /** The environment variable holding its DSN (the config's `env:` reference), for spawned workers. */
  dsnEnv: string;
  url: string;
  database: string;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  close(): Promise<void>;
}

export async function createTargetDatabase(prefix = 't'): Promise<TestTarget> {
  const database = `${prefix}_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Client({ connectionString: inject('pgUrl') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${database}`);
  await admin.end();
  const url = withDatabase(inject('pgUrl'), database);
  const envName = `TARGET_${database.toUpperCase()}`;
  process.env[envName] = url;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  testWorkerConfig.targets[database] = { dsn: `env:${envName}`, database, schema: 'public' };
  return {
    ref: database,
    dsnEnv: envName,
    url,
    database,
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    close: () => pool.end(),
  };
}

/**
 * Declares a scratch server for `target`'s full-backup verification: the test cluster itself
 * (its admin database), standing in for a separate server. Returns the env variable that holds it.
 */
export function useScratchServer(target: TestTarget): string {
  process.env.MIGRATOR_TEST_SCRATCH_DSN = inject('pgUrl');
  testWorkerConfig.targets[target.ref]!.scratchDsn = 'env:MIGRATOR_TEST_SCRATCH_DSN';
  return 'MIGRATOR_TEST_SCRATCH_DSN';
}

export function writeKeyring(userIds: string[]): { ref: string; path: string; keys: Record<string, Uint8Array> } {
  const dir = mkdtempSync(join(tmpdir(), 'migrator-keys-'));
  const keys: Record<string, Uint8Array> = {};
  const json: Record<string, string> = {};
  for (const id of userIds) {
    keys[id] = new Uint8Array(randomBytes(32));
    json[id] = Buffer.from(keys[id]).toString('base64');
  }
  const path = join(dir, 'keyring.json');
  writeFileSync(path, JSON.stringify(json));
  const name = `keyring-${randomUUID().slice(0, 12)}`;
  testWorkerConfig.keyrings[name] = `file:${path}`;
  return { ref: name, path, keys };
}

export interface TestWorker {
  client: Client;
  taskQueue: string;
  worker: Worker;
  /** The worker runs in test mode: plan faults per workflow id here, before starting the run. */
  faults: TestFaults;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

export async function startTestWorker(
  options: { backupDir?: string; codec?: EncryptionCodec; address?: string; config?: WorkerConfig } = {},
): Promise<TestWorker> {
  if (!runtimeInstalled) {
    // Errors only: the bundler's INFO output would bury the test report.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const address = options.address ?? inject('temporalAddress');
  const taskQueue = `test-${randomUUID()}`;
  const nativeConnection = await NativeConnection.connect({ address });
  const backupDir = options.backupDir ?? mkdtempSync(join(tmpdir(), 'migrator-backups-'));
  const faults = new TestFaults();
  const { worker, deps } = await createMigrationWorker({
    connection: nativeConnection,
    taskQueue,
    deps: createDeps({ backupDir, config: options.config ?? testWorkerConfig }),
    codec: options.codec ?? null,
    testFaults: faults,
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const dataConverter = options.codec
    ? {
        payloadCodecs: [options.codec],
        failureConverter: new DefaultFailureConverter({ encodeCommonAttributes: true }),
      }
    : undefined;
  const client = new Client({ connection, dataConverter });
  return {
    client,
    taskQueue,
    worker,
    faults,
    async stop() {
      worker.shutdown();
      await running;
      await deps.close();
      await connection.close();
      await nativeConnection.close();
    },
  };
}

export function tempDir(prefix = 'migrator-test-'): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
