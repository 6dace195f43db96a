// No user content and no operator secret in Temporal history, memos, search attributes, the progress
// query or worker logs (docs/design.md, law 2; docs/security.md "Trust model"):
// - a canary planted in every title, body and task content of the source;
// - a canary in every secret the worker config holds: the target DSN's password, the Prometheus
//   source's and the webhook's URL credentials (and a path segment), the keyring's file path;
// - a canary in every input field an operator might paste a secret into (target, keyring, webhook,
//   health source, source path as a URL with credentials): refused, and never echoed back.
// Histories are read as operators read them (`temporal workflow show`, payloads base64-decoded), for
// every run: children, the health guard and continued-as-new executions included.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { inject } from 'vitest';
import { startMigration } from '../../cli/start-migration';
import { generateDataset } from '../../gen/generate';
import { resolveTemporalCli } from '../../infra/temporal-cli';
import { TABLE_ORDER } from '../../lib/mapping';
import { parseWorkerConfig } from '../../lib/worker-config';
import { abortUpdate, progressQuery, type MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  writeWorkerConfig,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { waitUntil } from '../helpers/wait';
import { spawnWorker, type WorkerProcess } from '../helpers/worker-process';

const CANARY = `CANARY-${randomUUID().slice(0, 8)}-Ünïcødé-会议`;
/** The operator's secrets: ASCII, so they fit a URL's userinfo as they are. */
const SECRET = `SECRET-${randomUUID().slice(0, 8)}`;
let target: TestTarget;
let client: TestWorker;
let worker: WorkerProcess;
let http: Server;
const requests: { url: string; authorization: string | undefined }[] = [];
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'canary.sqlite');
const taskQueue = `canary-${randomUUID()}`;

beforeAll(async () => {
  generateDataset({ path: source, seed: 5, notes: 400, canary: CANARY, userId }); // marked: this config refuses unmarked files
  target = await createTargetDatabase();
  // One local server plays the Prometheus endpoint and the webhook; it records what it was sent.
  http = createServer((req, res) => {
    requests.push({ url: req.url ?? '', authorization: req.headers.authorization });
    req.resume();
    res.end(req.url?.startsWith('/metrics') ? 'app_errors_total 0\napp_requests_total 100\n' : 'ok');
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as { port: number }).port;
  // The keyring lives under a directory named with the secret: its path must not leak either.
  const keyringDir = join(dir, SECRET);
  mkdirSync(keyringDir);
  const keys = writeKeyring([userId]);
  const keyringPath = join(keyringDir, 'keyring.json');
  writeFileSync(keyringPath, readFileSync(keys.path));
  // The test cluster trusts local connections: the password is not checked, but it travels in the DSN.
  process.env.CANARY_TARGET_DSN = target.url.replace('postgres://postgres@', `postgres://postgres:${SECRET}@`);
  const config = parseWorkerConfig({
    targets: { 'notes-prod': { dsn: 'env:CANARY_TARGET_DSN', database: target.database } },
    sourceDirs: [dir],
    keyrings: { default: `file:${keyringPath}` },
    healthSources: {
      'app-errors': {
        kind: 'prometheus',
        url: `http://prom:${SECRET}@127.0.0.1:${port}/metrics`,
        errorsMetric: 'app_errors_total',
        totalMetric: 'app_requests_total',
      },
    },
    webhooks: { ops: `http://hook:${SECRET}@127.0.0.1:${port}/hook/${SECRET}` },
  });
  client = await startTestWorker({ config: parseWorkerConfig({}) }); // the client side only: it grants nothing
  worker = await spawnWorker({
    taskQueue,
    env: { CANARY_TARGET_DSN: process.env.CANARY_TARGET_DSN },
    backupDir: dir,
    configFile: writeWorkerConfig(config),
  });
});
afterAll(async () => {
  await worker?.kill('SIGTERM');
  await client?.stop();
  await target?.close();
  http?.close();
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

/** Every run of every id, as `temporal workflow show --output json`; `dropStartInput` blanks the start event's input. */
function histories(ids: string[], options: { dropStartInput?: boolean } = {}): { text: string; runs: number } {
  const cli = resolveTemporalCli();
  expect(cli, 'the Temporal CLI is needed to read histories as operators do').not.toBeNull();
  const address = inject('temporalAddress');
  let text = '';
  let runs = 0;
  for (const id of ids) {
    const list = JSON.parse(
      execFileSync(
        cli!.path,
        ['workflow', 'list', '--address', address, '--query', `WorkflowId = '${id}'`, '-o', 'json'],
        { encoding: 'utf8' },
      ),
    ) as {
      execution: { runId: string };
    }[];
    for (const run of list) {
      runs++;
      const json = execFileSync(
        cli!.path,
        [
          'workflow',
          'show',
          '--address',
          address,
          '--workflow-id',
          id,
          '--run-id',
          run.execution.runId,
          '--output',
          'json',
        ],
        {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        },
      );
      if (!options.dropStartInput) text += expand(json);
      else {
        const h = JSON.parse(json) as { events: { workflowExecutionStartedEventAttributes?: { input?: unknown } }[] };
        for (const e of h.events)
          if (e.workflowExecutionStartedEventAttributes)
            e.workflowExecutionStartedEventAttributes.input = '(the input itself)';
        text += expand(JSON.stringify(h));
      }
    }
  }
  return { text, runs };
}

function expectClean(text: string, what: string): void {
  expect(text, what).not.toContain('CANARY-');
  expect(text, what).not.toContain(SECRET);
}

it('keeps user content and the worker config secrets out of histories, memos, search attributes, the progress query and logs', async () => {
  const workflowId = `canary-${randomUUID()}`;
  const handle = await startMigration(
    client.client,
    {
      source,
      userId,
      target: 'notes-prod',
      keyring: 'default',
      chunkRows: 100,
      chunksPerExecution: 2,
      // A loaded CI machine must not turn probe noise into a latency rollback (seen: 33 ms vs 0.4 ms).
      health: { intervalMs: 500, sources: ['app-errors'], webhook: 'ops', minLatencyDeltaMs: 1000 },
    },
    { taskQueue, workflowId },
  );
  const result = (await handle.result()) as MigrationResult;
  expect(result.validation.ok).toBe(true);
  // The canary really is in the source, in every note (so the scan below means something).
  expect(readFileSync(source).includes(Buffer.from(CANARY))).toBe(true);
  // The Prometheus source was read, with its credentials sent as Basic auth (not in the URL).
  const scrapes = requests.filter((r) => r.url === '/metrics');
  expect(scrapes.length).toBeGreaterThan(0);
  expect(Buffer.from(scrapes[0]!.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(`prom:${SECRET}`);

  const ids = [workflowId, `${workflowId}-health`, ...TABLE_ORDER.map((t) => `${workflowId}/${result.runId}/${t}`)];
  const { text, runs } = histories(ids);
  expect(runs).toBeGreaterThan(ids.length); // continue-as-new produced more runs, all scanned
  // Positive controls: the scan sees decoded payloads (the input's names, userId and a chunk checksum).
  expect(text).toContain(userId);
  expect(text).toContain(result.tables.local_notes!.checksum);
  expect(text).toContain('app-errors');
  expectClean(text, 'histories');

  const described = await handle.describe();
  const visible = JSON.stringify({
    memo: described.memo,
    searchAttributes: described.typedSearchAttributes,
    raw: described.raw.workflowExecutionInfo?.searchAttributes,
  });
  expect(visible).toContain('notes-prod'); // the memo and search attributes are there, naming the target
  expectClean(expand(visible), 'memo and search attributes');
  const progress = JSON.stringify(await handle.query(progressQuery));
  expect(progress).toContain('completed');
  expectClean(progress, 'progress query');
});

it('keeps the webhook URL and its credentials out of a rolled-back run and calls it with Basic auth', async () => {
  const workflowId = `canary-abort-${randomUUID()}`;
  const handle = await startMigration(
    client.client,
    {
      source,
      userId,
      target: 'notes-prod',
      keyring: 'default',
      chunkRows: 20,
      parallelism: 1,
      health: { webhook: 'ops' },
    },
    { taskQueue, workflowId },
  );
  await waitUntil('a chunk committed', async () => (await handle.query(progressQuery)).chunksDone >= 1, {
    timeoutMs: 60_000,
  });
  await handle.executeUpdate(abortUpdate, { args: ['canary abort'] });
  const failure = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  expect(((failure as WorkflowFailedError).cause as ApplicationFailure).type).toBe('RolledBack');
  await waitUntil('both webhook calls', () => requests.filter((r) => r.url === `/hook/${SECRET}`).length >= 2, {
    timeoutMs: 30_000,
  });
  const hook = requests.find((r) => r.url === `/hook/${SECRET}`)!;
  expect(Buffer.from(hook.authorization!.replace(/^Basic /, ''), 'base64').toString()).toBe(`hook:${SECRET}`);
  const runId = handle.firstExecutionRunId;
  const { text } = histories([
    workflowId,
    `${workflowId}-health`,
    ...TABLE_ORDER.map((t) => `${workflowId}/${runId}/${t}`),
  ]);
  expect(text).toContain('rollback');
  expectClean(text, 'rolled-back run histories');
});

it.each([
  [
    'a DSN with credentials as the target',
    { target: `postgres://migrator:${SECRET}@db.internal:5432/notes` },
    'target',
  ],
  [
    'a webhook URL with credentials as the webhook name',
    { health: { webhook: `https://ops:${SECRET}@hooks.internal/x` } },
    'health.webhook',
  ],
  [
    'a URL with credentials as a health source',
    { health: { sources: [`http://prom:${SECRET}@10.0.0.1/metrics`] } },
    'health.sources.0',
  ],
  ['a secret as the keyring', { keyring: `env:${SECRET}` }, 'keyring'],
  [
    'a URL with credentials as the source path',
    { source: `https://files:${SECRET}@files.internal/u.sqlite` },
    'source',
  ],
])('refuses %s and never echoes it (failure, logs)', async (_name, patch, field) => {
  const workflowId = `canary-refused-${randomUUID()}`;
  const outcome = await client.client.workflow
    .execute('migrationWorkflow', {
      taskQueue,
      workflowId,
      args: [{ source, userId, target: 'notes-prod', keyring: 'default', ...patch }],
    })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  const cause = (outcome as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type).toBe('InvalidInput');
  expect(cause.details?.[0]).toEqual({ field });
  expectClean(cause.message, 'the refusal');
  // The input itself is in the start event (the payload codec encrypts it in production); nothing else may repeat it.
  const { text, runs } = histories([workflowId], { dropStartInput: true });
  expect(runs).toBe(1);
  expect(text).toContain('InvalidInput');
  expectClean(text, 'the refused run');
});

it('keeps everything out of the worker logs', () => {
  const logs = worker.output();
  expect(logs).toContain('rollback-started'); // the notify log line: the logs are the worker's, and saw the rollback
  expectClean(logs, 'worker logs');
});
