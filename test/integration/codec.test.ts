// With the payload codec on, every payload in a run's history (inputs, results, activity and child
// arguments, memo, failure attributes) is encrypted; only search attributes stay readable (the
// server indexes them). The codec server decodes for key holders and refuses others.
import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { resolveTemporalCli } from '../../infra/temporal-cli';
import { startCodecServer } from '../../workers/codec-server';
import { EncryptionCodec } from '../../workers/payload-codec';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';

const codec = new EncryptionCodec(randomBytes(32));
const ENCRYPTED = Buffer.from('binary/encrypted').toString('base64');
let worker: TestWorker;
let target: TestTarget;
const userId = randomUUID();
const dir = tempDir();
const source = join(dir, 'codec.sqlite');
const keyring = writeKeyring([userId]);

beforeAll(async () => {
  generateDataset({ path: source, seed: 23, notes: 150 });
  worker = await startTestWorker({ codec });
  target = await createTargetDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

interface JsonPayload {
  metadata?: Record<string, string>;
  data?: string;
}

/** Every payload in a history JSON, with the path it sits at. */
function payloads(node: unknown, path = ''): { path: string; p: JsonPayload }[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => payloads(n, `${path}[${i}]`));
  if (!node || typeof node !== 'object') return [];
  const o = node as Record<string, unknown>;
  if (o.metadata && typeof o.metadata === 'object' && 'encoding' in (o.metadata as object))
    return [{ path, p: o as JsonPayload }];
  return Object.entries(o).flatMap(([k, v]) => payloads(v, `${path}.${k}`));
}

function history(workflowId: string): unknown[] {
  const cli = resolveTemporalCli()!;
  const address = inject('temporalAddress');
  const runs = JSON.parse(
    execFileSync(
      cli.path,
      ['workflow', 'list', '--address', address, '--query', `WorkflowId STARTS_WITH '${workflowId}'`, '-o', 'json'],
      { encoding: 'utf8' },
    ),
  ) as {
    execution: { workflowId: string; runId: string };
  }[];
  return runs.map((r) =>
    JSON.parse(
      execFileSync(
        cli.path,
        [
          'workflow',
          'show',
          '--address',
          address,
          '--workflow-id',
          r.execution.workflowId,
          '--run-id',
          r.execution.runId,
          '-o',
          'json',
        ],
        {
          encoding: 'utf8',
          maxBuffer: 256 * 1024 * 1024,
        },
      ),
    ),
  );
}

it('encrypts every payload and failure message in history; the codec server decodes for key holders only', async () => {
  const workflowId = `codec-${randomUUID()}`;
  const result = (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId,
    memo: { source: 'codec.sqlite' },
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 50 }],
  })) as MigrationResult;
  expect(result.validation.ok).toBe(true); // the client decodes transparently

  const failedId = `codec-fail-${randomUUID()}`;
  const failed = await worker.client.workflow
    .execute('migrationWorkflow', {
      taskQueue: worker.taskQueue,
      workflowId: failedId,
      args: [{ source: join(dir, 'missing.sqlite'), userId, target: target.ref, keyring: keyring.ref }],
    })
    .catch((e: unknown) => e);
  expect(failed).toBeInstanceOf(WorkflowFailedError);
  expect(((failed as WorkflowFailedError).cause?.cause as Error | undefined)?.message).toContain('does not exist'); // decoded for us (ActivityFailure → ApplicationFailure)

  const histories = [...history(workflowId), ...history(failedId)];
  expect(histories.length).toBeGreaterThan(5); // parent, children, the failed run
  const all = histories.flatMap((h) => payloads(h));
  // patched() markers are written by the SDK's core, not through the codec: they hold the patch id
  // only (checked here), never input or results.
  const patchMarkers = all.filter((x) => x.path.includes('markerRecordedEventAttributes.details.patch-data'));
  for (const m of patchMarkers)
    expect(Object.keys(JSON.parse(Buffer.from(String(m.p.data), 'base64').toString('utf8')) as object).sort()).toEqual([
      'deprecated',
      'id',
    ]);
  const scanned = all.filter((x) => !x.path.includes('searchAttributes') && !patchMarkers.includes(x));
  expect(scanned.length).toBeGreaterThan(50);
  expect(scanned.filter((x) => x.p.metadata!.encoding !== ENCRYPTED).map((x) => x.path)).toEqual([]);
  const text = JSON.stringify(histories);
  expect(text).not.toContain('does not exist'); // the failure message is encrypted too
  expect(text).not.toContain(userId); // …and so is every input naming the user (search attributes hold it as Keyword, base64)

  // Codec server: decode one payload as the Web UI would.
  const token = randomUUID();
  const server = await startCodecServer({ codec, port: 0, origin: 'http://localhost:8233', token });
  const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/decode`;
  try {
    const body = JSON.stringify({ payloads: [scanned[0]!.p] });
    const refused = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-namespace': 'default' },
    });
    expect(refused.status).toBe(401);
    const res = await fetch(url, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-namespace': 'default', authorization: `Bearer ${token}` },
    });
    expect(res.status).toBe(200);
    const decoded = ((await res.json()) as { payloads: JsonPayload[] }).payloads[0]!;
    expect(Buffer.from(decoded.metadata!.encoding!, 'base64').toString()).toMatch(/^json\/plain|binary\/null$/);
    expect(res.headers.get('access-control-allow-origin')).toBe('http://localhost:8233');
  } finally {
    server.close();
  }
});
