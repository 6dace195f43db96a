// Write-freeze hooks (activities/freeze.ts) of each kind against the real thing: a flag file on
// disk, a program the worker runs, a local HTTP server. Expiry travels with every freeze; a hook
// that hangs is killed (command) or abandoned (http) at its timeout. The freeze window and the
// cut-over attempts come out of the worker's Prometheus endpoint.
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createDeps, type ActivityDeps } from '../../activities/deps';
import { createFreezeActivities, readFlag, writesFrozen } from '../../activities/freeze';
import { HISTOGRAM_BUCKETS } from '../../activities/metrics';
import { freePort } from '../../infra/ports';
import { FreezeHookError, InvalidInputError, NotPermittedError } from '../../lib/errors';
import { parseWorkerConfig } from '../../lib/worker-config';
import { tempDir } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

const dir = tempDir('migrator-freeze-');
const flagPath = join(dir, 'flags', 'write-freeze.json');
const marker = join(dir, 'marker');
const pidFile = join(dir, 'hung.pid');
const received: { action: string; runId: string; frozenUntilMs: number }[] = [];
let httpStatus = 200;
let server: Server;
let httpUrl = '';

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => resolve(text));
  });
}

let deps: ActivityDeps;
let acts: ReturnType<typeof createFreezeActivities>;
let metricsPort: number;

beforeAll(async () => {
  mkdirSync(join(dir, 'flags'));
  server = createServer((req, res) => {
    if (req.url === '/hang') return; // never answers
    void body(req).then((text) => {
      received.push(JSON.parse(text) as (typeof received)[number]);
      res.writeHead(httpStatus).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  httpUrl = `http://127.0.0.1:${port}`;
  const config = parseWorkerConfig({
    freezeHooks: {
      flag: { kind: 'file', path: flagPath },
      nodir: { kind: 'file', path: join(dir, 'missing', 'write-freeze.json') },
      cmd: {
        kind: 'command',
        freeze: ['/bin/sh', '-c', `echo "freeze $MIGRATOR_RUN_ID $MIGRATOR_FREEZE_UNTIL_MS" > ${marker}`],
        unfreeze: ['/bin/sh', '-c', `echo "unfreeze $MIGRATOR_RUN_ID" >> ${marker}`],
      },
      hung: {
        kind: 'command',
        freeze: ['/bin/sh', '-c', `echo $$ > ${pidFile}; exec sleep 30`],
        unfreeze: ['/bin/false'],
        timeoutMs: 300,
      },
      api: { kind: 'http', url: `${httpUrl}/freeze` },
      slow: { kind: 'http', url: `${httpUrl}/hang`, timeoutMs: 300 },
    },
  });
  deps = createDeps({ config, backupDir: dir });
  acts = createFreezeActivities(deps);
  metricsPort = await freePort();
});
afterAll(async () => {
  server?.closeAllConnections();
  server?.close();
  await deps?.close();
});

describe('file hook', () => {
  it('writes {"frozenUntilMs", "runId"} atomically, with the budget as its expiry, and unfreeze removes it', async () => {
    const runId = randomUUID();
    const before = Date.now();
    const ack = await acts.freezeWrites('flag', runId, 5_000);
    const text = readFileSync(flagPath, 'utf8');
    expect(Object.keys(JSON.parse(text) as object)).toEqual(['frozenUntilMs', 'runId']);
    expect(JSON.parse(text)).toEqual({ frozenUntilMs: ack.frozenUntilMs, runId });
    expect(ack.frozenUntilMs).toBeGreaterThanOrEqual(before + 5_000);
    expect(ack.frozenUntilMs).toBeLessThanOrEqual(Date.now() + 5_000);
    // No temporary file left beside it (written elsewhere, then renamed into place).
    expect(readdirSync(join(dir, 'flags'))).toEqual(['write-freeze.json']);
    expect(writesFrozen(readFlag(flagPath), Date.now())).toBe(true);
    const un = await acts.unfreezeWrites('flag', runId);
    expect(existsSync(flagPath)).toBe(false);
    expect(un.clock).toBe('monotonic');
    expect(un.windowMs).toBeGreaterThanOrEqual(0);
    // Unfreezing again (a retry) is a no-op.
    await acts.unfreezeWrites('flag', runId);
  });

  it('expires on its own: a worker that dies after freezing cannot freeze the app past the budget', async () => {
    const runId = randomUUID();
    await acts.freezeWrites('flag', runId, 300);
    const flag = readFlag(flagPath);
    expect(writesFrozen(flag, Date.now())).toBe(true);
    // The worker "dies" here: no unfreeze. The app's side honours the expiry.
    await new Promise((r) => setTimeout(r, 400));
    expect(writesFrozen(readFlag(flagPath), Date.now())).toBe(false);
    await acts.unfreezeWrites('flag', runId);
  });

  it("leaves another run's flag in place", async () => {
    const mine = randomUUID();
    const other = randomUUID();
    await acts.freezeWrites('flag', other, 5_000);
    await acts.unfreezeWrites('flag', mine);
    expect(readFlag(flagPath)?.runId).toBe(other);
    await acts.unfreezeWrites('flag', other);
    expect(existsSync(flagPath)).toBe(false);
  });

  it('fails with FreezeHookError when the flag cannot be written (no directory), leaving nothing behind', async () => {
    await expect(acts.freezeWrites('nodir', randomUUID(), 1_000)).rejects.toThrow(
      /write-freeze hook "nodir" \(freeze\): flag file: ENOENT/,
    );
    expect(existsSync(join(dir, 'missing'))).toBe(false);
  });

  it('refuses a budget out of range, naming it', async () => {
    await expect(acts.freezeWrites('flag', randomUUID(), 0)).rejects.toThrow(InvalidInputError);
    await expect(acts.freezeWrites('flag', randomUUID(), 24 * 3_600_000)).rejects.toThrow(/budgetMs/);
    expect(existsSync(flagPath)).toBe(false);
  });
});

describe('command hook', () => {
  it('runs the argv with MIGRATOR_RUN_ID and MIGRATOR_FREEZE_UNTIL_MS', async () => {
    const runId = randomUUID();
    const ack = await acts.freezeWrites('cmd', runId, 2_000);
    expect(readFileSync(marker, 'utf8')).toBe(`freeze ${runId} ${ack.frozenUntilMs}\n`);
    await acts.unfreezeWrites('cmd', runId);
    expect(readFileSync(marker, 'utf8')).toBe(`freeze ${runId} ${ack.frozenUntilMs}\nunfreeze ${runId}\n`);
  });

  it('kills a hook that outlives its timeout and fails with FreezeHookError; a failing hook fails too', async () => {
    const started = Date.now();
    const err = await acts.freezeWrites('hung', randomUUID(), 2_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FreezeHookError);
    expect((err as Error).message).toMatch(/hung.*timed out after 300 ms/);
    expect(Date.now() - started).toBeLessThan(10_000);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    // The hook process is gone (not left sleeping behind the failed attempt).
    expect(() => process.kill(pid, 0)).toThrow(/ESRCH/);
    await expect(acts.unfreezeWrites('hung', randomUUID())).rejects.toThrow(/exited with code 1/);
  });
});

describe('http hook', () => {
  it('POSTs {action, runId, frozenUntilMs}; a non-2xx answer or a timeout fails', async () => {
    const runId = randomUUID();
    received.length = 0;
    const ack = await acts.freezeWrites('api', runId, 3_000);
    await acts.unfreezeWrites('api', runId);
    expect(received[0]).toEqual({ action: 'freeze', runId, frozenUntilMs: ack.frozenUntilMs });
    expect(received[1]).toMatchObject({ action: 'unfreeze', runId });
    httpStatus = 503;
    await expect(acts.freezeWrites('api', randomUUID(), 3_000)).rejects.toThrow(/"api".*answered 503/);
    httpStatus = 200;
    const started = Date.now();
    await expect(acts.freezeWrites('slow', randomUUID(), 3_000)).rejects.toThrow(/"slow".*request failed/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });
});

it('refuses a hook the worker config does not declare, and a config with a bad hook', async () => {
  await expect(acts.freezeWrites('nope', randomUUID(), 1_000)).rejects.toThrow(NotPermittedError);
  expect(() => parseWorkerConfig({ freezeHooks: { x: { kind: 'file', path: 'relative.json' } } })).toThrow(
    /workerConfig\.freezeHooks\.x\.path/,
  );
  expect(() => parseWorkerConfig({ freezeHooks: { x: { kind: 'command', freeze: [], unfreeze: ['true'] } } })).toThrow(
    /workerConfig\.freezeHooks\.x\.freeze/,
  );
});

it('measures the freeze window and exports migrator_write_freeze_seconds and migrator_cutover_attempts_total', async () => {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: {
      metrics: {
        prometheus: { bindAddress: `127.0.0.1:${metricsPort}`, histogramBucketOverrides: HISTOGRAM_BUCKETS },
      },
    },
  });
  const address = inject('temporalAddress');
  const native = await NativeConnection.connect({ address });
  const taskQueue = `freeze-${randomUUID()}`;
  const worker = await Worker.create({
    connection: native,
    taskQueue,
    workflowsPath: fileURLToPath(new URL('../fixtures/freeze-workflows.ts', import.meta.url)),
    activities: acts,
  });
  const connection = await Connection.connect({ address });
  try {
    await worker.runUntil(async () => {
      const client = new Client({ connection });
      const runId = randomUUID();
      const r = await client.workflow.execute('freezeWindowWorkflow', {
        taskQueue,
        workflowId: `freeze-${runId}`,
        args: ['flag', runId, 500],
      });
      const { unfrozen } = r as { unfrozen: { windowMs: number; clock: string } };
      expect(unfrozen.clock).toBe('monotonic');
      // The window spans the 500 ms durable timer between the two acknowledgements.
      expect(unfrozen.windowMs).toBeGreaterThanOrEqual(500);
      expect(unfrozen.windowMs).toBeLessThan(30_000);
      expect(existsSync(flagPath)).toBe(false);
      let text = '';
      await waitUntil(
        'freeze metrics on /metrics',
        async () =>
          (text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((res) => res.text())).includes(
            'migrator_write_freeze_seconds',
          ),
        { timeoutMs: 10_000, intervalMs: 200 },
      );
      expect(text).toMatch(/migrator_cutover_attempts_total\{[^}]*hook="flag"[^}]*outcome="frozen"[^}]*\} 1/);
      expect(text).toMatch(/migrator_write_freeze_seconds_count\{[^}]*hook="flag"[^}]*\} 1/);
      // Buckets in seconds: a ~0.5 s window is above the 0.25 s bound and within the 30 s one.
      expect(text).toMatch(/migrator_write_freeze_seconds_bucket\{[^}]*le="0.25"[^}]*\} 0/);
      expect(text).toMatch(/migrator_write_freeze_seconds_bucket\{[^}]*le="30"[^}]*\} 1/);
    });
  } finally {
    await connection.close();
    await native.close();
  }
});
