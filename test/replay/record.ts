// Records the histories CI replays (test/replay/histories/). Run it when workflow code changes on
// purpose: `npm run record-histories`. Each file is named after the SDK version and the workflow
// version that recorded it (docs/conventions.md §10) and holds one scenario's parent and child histories.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import Database from 'better-sqlite3';
import pg from 'pg';
import { createDeps } from '../../activities/deps';
import { parseWorkerConfig, type WorkerConfig } from '../../lib/worker-config';
import { generateDataset } from '../../gen/generate';
import { plantBadRows } from '../../gen/plant-bad-rows';
import { startLocalPostgres, withDatabase } from '../../infra/postgres';
import { startDevServer } from '../../infra/temporal-cli';
import { createMigrationWorker } from '../../workers/worker';
import {
  abortUpdate,
  approveUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  rolloutStatusQuery,
  setChunkSizeUpdate,
} from '../../workflows/definitions';
import { waitUntil } from '../helpers/wait';

/** Bump when workflow code changes in a way that needs new recordings. */
export const WORKFLOW_VERSION = 'v5'; // v5: 5,000-row chunks, backups and validation side by side, delta passes behind the throttle with the catch-up and stall rules (patches chunk-rows-5000, parallel-backups, parallel-validation, delta-throttle, delta-converge)
// v4: throttle, ownership registry, scaled backups (patches throttle, ownership-registry, backups-scale, rollout-full-backup), rollback always lists artifacts, and the online mode (capture, delta, cutover, release-capture)
const OUT = fileURLToPath(new URL('./histories/', import.meta.url));
const SDK = (
  JSON.parse(
    readFileSync(
      fileURLToPath(new URL('../../node_modules/@temporalio/workflow/package.json', import.meta.url)),
      'utf8',
    ),
  ) as { version: string }
).version;

const dir = mkdtempSync(join(tmpdir(), 'migrator-record-'));
const pgServer = process.env.DATABASE_URL ? null : await startLocalPostgres();
const pgUrl = process.env.DATABASE_URL ?? pgServer!.url;
const temporal = await startDevServer({ headless: true });
const native = await NativeConnection.connect({ address: temporal.address });
// The recording worker's config: every target, keyring and health source the scenarios name.
// The recorded datasets carry no user marker (docs/security.md "Source files and keys belong to their user").
const config: WorkerConfig = parseWorkerConfig({ sourceDirs: [dir], allowUnmarkedSources: true });
const { worker, deps } = await createMigrationWorker({
  connection: native,
  taskQueue: 'record',
  deps: createDeps({ backupDir: join(dir, 'backups'), config }),
});
const running = worker.run();
const connection = await Connection.connect({ address: temporal.address });
const client = new Client({ connection });
const userId = randomUUID();
const keyringFile = join(dir, 'keyring.json');
writeFileSync(keyringFile, JSON.stringify({ [userId]: randomBytes(32).toString('base64') }));
config.keyrings.keyring = `file:${keyringFile}`;
const keyring = 'keyring';
const slowBenchmark = join(dir, 'slow-benchmark.sql');
writeFileSync(slowBenchmark, 'SELECT pg_sleep(0.3)');
config.healthSources['slow-benchmark'] = { kind: 'benchmark', file: slowBenchmark };

async function database(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  process.env[name.toUpperCase()] = withDatabase(pgUrl, name);
  config.targets[name] = { dsn: `env:${name.toUpperCase()}`, database: name, schema: 'public' };
  return name;
}

async function record(
  scenario: string,
  source: string,
  input: Record<string, unknown>,
  during?: (h: WorkflowHandle) => Promise<void>,
): Promise<void> {
  const target = await database(`rec_${scenario.replace(/-/g, '_')}`);
  const workflowId = `record-${scenario}`;
  const handle = await client.workflow.start('migrationWorkflow', {
    taskQueue: 'record',
    workflowId,
    args: [{ source, userId, target, keyring, ...input }],
  });
  await during?.(handle);
  const outcome = await handle.result().then(
    () => 'completed',
    (e: Error) => `failed: ${(e.cause as Error | undefined)?.message ?? e.message}`,
  );
  // The JSON operators get from `temporal workflow show --output json`, for every run of the parent and children.
  const ids = [workflowId];
  const entries: { workflowId: string; label: string; history: unknown }[] = [];
  for (let i = 0; i < ids.length; i++) {
    for await (const w of client.workflow.list({ query: `WorkflowId = '${ids[i]}'` })) {
      const json = execFileSync(
        temporal.cli.path,
        [
          'workflow',
          'show',
          '--address',
          temporal.address,
          '--workflow-id',
          w.workflowId,
          '--run-id',
          w.runId,
          '--output',
          'json',
        ],
        {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        },
      );
      const history = JSON.parse(json) as {
        events: { startChildWorkflowExecutionInitiatedEventAttributes?: { workflowId: string } }[];
      };
      for (const e of history.events)
        if (e.startChildWorkflowExecutionInitiatedEventAttributes)
          ids.push(e.startChildWorkflowExecutionInitiatedEventAttributes.workflowId);
      entries.push({
        workflowId: w.workflowId,
        label: `${w.workflowId.replace(workflowId, scenario)} run ${w.runId}`,
        history,
      });
    }
  }
  const file = join(OUT, `sdk-${SDK}_migration-${WORKFLOW_VERSION}_${scenario}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ scenario, outcome, recordedWith: { sdk: SDK, workflowVersion: WORKFLOW_VERSION }, entries })}\n`,
  );
  console.log(`${scenario}: ${outcome}; ${entries.length} histories → ${file}`);
}

/** A small staged rollout: 4 users, 2 cohorts, one bad file, the gate held and approved. */
async function recordRollout(): Promise<void> {
  const target = await database('rec_rollout');
  const users = [0, 1, 2, 3].map((i) => ({ userId: randomUUID(), source: join(dir, `rollout-${i}.sqlite`) }));
  users.forEach((u, i) => generateDataset({ path: u.source, seed: 50 + i, notes: 10 }));
  const broken = new Database(users[1]!.source);
  broken.pragma('user_version = 11');
  broken.close();
  const keys = join(dir, 'rollout-keys.json');
  writeFileSync(
    keys,
    JSON.stringify(Object.fromEntries(users.map((u) => [u.userId, randomBytes(32).toString('base64')]))),
  );
  config.keyrings['rollout-keys'] = `file:${keys}`;
  const workflowId = 'record-rollout';
  const handle = await client.workflow.start('stagedRollout', {
    taskQueue: 'record',
    workflowId,
    args: [
      {
        target,
        keyring: 'rollout-keys',
        users,
        cohorts: [0.5, 1],
        concurrency: 2,
        migration: { chunkRows: 500, sampleSize: 5 },
      },
    ],
  });
  await waitUntil(
    'the rollout to wait for approval',
    async () => (await handle.query(rolloutStatusQuery)).status === 'waiting-for-approval',
    { timeoutMs: 120_000 },
  );
  await handle.executeUpdate(approveUpdate, { args: ['recorded'] });
  await handle.result();
  await save('rollout', 'completed', workflowId);
}

async function save(scenario: string, outcome: string, workflowId: string): Promise<void> {
  const entries: { workflowId: string; label: string; history: unknown }[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) {
    const json = execFileSync(
      temporal.cli.path,
      [
        'workflow',
        'show',
        '--address',
        temporal.address,
        '--workflow-id',
        w.workflowId,
        '--run-id',
        w.runId,
        '--output',
        'json',
      ],
      {
        encoding: 'utf8',
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    entries.push({ workflowId: w.workflowId, label: `${scenario} run ${w.runId}`, history: JSON.parse(json) });
  }
  const file = join(OUT, `sdk-${SDK}_migration-${WORKFLOW_VERSION}_${scenario}.json`);
  writeFileSync(
    file,
    `${JSON.stringify({ scenario, outcome, recordedWith: { sdk: SDK, workflowVersion: WORKFLOW_VERSION }, entries })}\n`,
  );
  console.log(`${scenario}: ${outcome}; ${entries.length} histories → ${file}`);
}

try {
  const plain = join(dir, 'plain.sqlite');
  generateDataset({ path: plain, seed: 1, notes: 300 });
  const bad = join(dir, 'bad.sqlite');
  generateDataset({ path: bad, seed: 2, notes: 60 });
  plantBadRows(bad);

  await record('success', plain, { chunkRows: 50, chunksPerExecution: 3 });
  // No chunkRows: the default's patch (chunk-rows-5000) is in the history.
  await record('quarantine-heavy', bad, { quarantineThreshold: 0.5 });
  // Online: change capture, delta passes and the cut-over, with the source edited during the copy.
  const live = join(dir, 'online.sqlite');
  generateDataset({ path: live, seed: 3, notes: 200 });
  // deltaThreshold 1: the edits make a pass above it, so the catch-up rule (delta-converge) decides; a
  // throttle that never waits puts its check before every delta pass (delta-throttle).
  const online = { enabled: true, deltaThreshold: 1 };
  const throttle = { maxActiveBackends: 10_000, checkIntervalMs: 100 };
  await record('online', live, { chunkRows: 50, parallelism: 1, online, throttle }, async (h) => {
    await waitUntil('2 chunks', async () => (await h.query(progressQuery)).chunksDone >= 2);
    const db = new Database(live);
    db.pragma('busy_timeout = 5000');
    db.prepare(
      "UPDATE local_notes SET title = title || ' (edited)' WHERE rowid IN (SELECT rowid FROM local_notes LIMIT 5)",
    ).run();
    db.close();
  });
  await record('abort-rollback', plain, { chunkRows: 10, parallelism: 1 }, async (h) => {
    await waitUntil('3 chunks', async () => (await h.query(progressQuery)).chunksDone >= 3);
    await h.executeUpdate(pauseUpdate);
    await h.executeUpdate(setChunkSizeUpdate, { args: [15] });
    await h.executeUpdate(resumeUpdate);
    await h.executeUpdate(abortUpdate, { args: ['recorded abort'] });
  });
  await recordRollout();
  await record('health-rollback', plain, {
    chunkRows: 10,
    parallelism: 1,
    health: { intervalMs: 1000, sources: ['slow-benchmark'] },
  });
} finally {
  worker.shutdown();
  await running;
  await deps.close();
  await connection.close();
  await native.close();
  await temporal.stop();
  pgServer?.stop();
}
process.exit(0);
