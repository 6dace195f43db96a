// Per-test isolation on the shared servers: a database, a task queue, a worker and a keyring of
// the test's own.
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { DefaultFailureConverter } from '@temporalio/common';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import pg from 'pg';
import { inject } from 'vitest';
import { createDeps } from '../../activities/deps';
import { withDatabase } from '../../infra/postgres';
import type { EncryptionCodec } from '../../workers/payload-codec';
import { TestFaults } from '../../workers/test-faults';
import { createMigrationWorker } from '../../workers/worker';

export interface TestTarget {
  /** The env:NAME reference workflows receive. */
  ref: string;
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
  return {
    ref: `env:${envName}`,
    url,
    database,
    query: async (sql, params) => (await pool.query(sql, params)).rows,
    close: () => pool.end(),
  };
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
  return { ref: `file:${path}`, path, keys };
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

export async function startTestWorker(options: { backupDir?: string; codec?: EncryptionCodec; address?: string } = {}): Promise<TestWorker> {
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
  const { worker, deps } = await createMigrationWorker({ connection: nativeConnection, taskQueue, deps: createDeps({ backupDir }), codec: options.codec ?? null, testFaults: faults });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  const dataConverter = options.codec ? { payloadCodecs: [options.codec], failureConverter: new DefaultFailureConverter({ encodeCommonAttributes: true }) } : undefined;
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
