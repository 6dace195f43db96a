// The online cut-over (workflows/phases/cutover.ts, activities/cutover.ts) against a live source:
// the load generator writes throughout and honours the freeze flag a file hook writes. A run
// completes with the target equal to the source at the freeze and the window under the budget; an
// abort during the freeze or during the delta passes leaves the source writable without capture,
// the flag released and the target exactly as before; a worker SIGKILLed mid-freeze keeps the app
// frozen no longer than the flag's expiry, and the next worker finishes the run; a hook slower
// than the budget makes every attempt fail, then the cut-over is held for the operator (abort rolls
// back exactly; cutover-now once the hook is fast completes). A switch hook is called once, between
// the tail validation and the unfreeze, and unswitched by an abort during the soak.
// The operator's postpone-cutover / cutover-now (CLI and Updates) hold and release the cut-over.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readFlag, runFreezeHook, switchFlagPath } from '../../activities/freeze';
import { generateDataset } from '../../gen/generate';
import { readLoadLog, runLoad, type LoadSummary } from '../../infra/load-generator';
import { innermost } from '../../lib/failures';
import type { MigrationInput } from '../../lib/input';
import { TABLE_ORDER } from '../../lib/mapping';
import { parseWorkerConfig } from '../../lib/worker-config';
import {
  abortUpdate,
  cutoverNowUpdate,
  postponeCutoverUpdate,
  progressQuery,
  type MigrationResult,
  type RollbackReport,
} from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { migrationFixture } from '../helpers/fixture';
import {
  knownKeys,
  present,
  sealerOf,
  sourceSchema,
  sourceState,
  stateAtFreeze,
  targetStateOf,
} from '../helpers/online-state';
import {
  createTargetDatabase,
  tempDir,
  testWorkerConfig,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { seedTarget, targetState } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';
import { spawnWorker } from '../helpers/worker-process';

const fx = migrationFixture('cutover', { seed: 51, notes: 1500 });
const dir = tempDir('migrator-cutover-');

/** Declares freeze hooks in the (live) test worker config; the parsed form fills the defaults. */
function declareHooks(hooks: Record<string, unknown>): void {
  Object.assign(testWorkerConfig.freezeHooks, parseWorkerConfig({ freezeHooks: hooks }).freezeHooks);
}

/** A command hook that writes the load generator's flag, then (once `mark` exists, or always) hangs in the freeze. */
function hangingHook(name: string, flag: string, opts: { once?: string } = {}) {
  const pid = join(dir, `${name}.pid`);
  const write = `printf '{"frozenUntilMs": %s, "runId": "%s"}' "$MIGRATOR_FREEZE_UNTIL_MS" "$MIGRATOR_RUN_ID" > ${flag}.tmp && mv ${flag}.tmp ${flag}`;
  const hang = `echo $$ > ${pid}; exec sleep 50`;
  const freeze = opts.once
    ? `${write}; if [ ! -e ${opts.once} ]; then touch ${opts.once}; ${hang}; fi`
    : `${write}; ${hang}`;
  declareHooks({
    [name]: {
      kind: 'command',
      freeze: ['/bin/sh', '-c', freeze],
      unfreeze: ['/bin/sh', '-c', `rm -f ${flag}`],
      timeoutMs: 60_000,
    },
  });
  return { pid };
}

function killPidFile(path: string): void {
  try {
    process.kill(Number(readFileSync(path, 'utf8').trim()), 'SIGKILL');
  } catch {
    // already gone
  }
}

function start(worker: TestWorker, input: MigrationInput, taskQueue = worker.taskQueue) {
  return worker.client.workflow.start(migrationWorkflow, {
    taskQueue,
    workflowId: `cutover-${randomUUID()}`,
    args: [
      {
        chunkRows: 200,
        heartbeatTimeoutMs: 10_000,
        ...input,
        health: { ...input.health, probe: { enabled: false } },
      },
    ],
  });
}

async function failureOf(handle: WorkflowHandle): Promise<{ message: string; report: RollbackReport }> {
  const failure = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(failure).toBeInstanceOf(WorkflowFailedError);
  const cause = (failure as WorkflowFailedError).cause as { message: string; details?: unknown[] };
  return { message: cause.message, report: cause.details?.[0] as RollbackReport };
}

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));

/** `migrator <args>` against the test server: exit code and output. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env = { ...process.env, TEMPORAL_ADDRESS: inject('temporalAddress'), TEMPORAL_NAMESPACE: 'default' };
  return promisify(execFile)(process.execPath, [BIN, ...args], { env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

/** Why an Update was refused (its validator's message); '' when it was accepted. */
const refusal = (update: Promise<unknown>): Promise<string> =>
  update.then(
    () => '',
    (e: unknown) => innermost(e),
  );

/** The source accepts a write at once (no lock held, no capture trigger left to fire). */
function sourceWritable(path: string): boolean {
  const db = new Database(path, { timeout: 0 });
  try {
    db.exec('BEGIN IMMEDIATE');
    db.prepare('UPDATE local_notes SET title = title WHERE id = (SELECT min(id) FROM local_notes)').run();
    db.exec('ROLLBACK');
    return true;
  } finally {
    db.close();
  }
}

/** A fresh user, source and seeded target for a run that must roll back exactly. */
function isolatedRun(name: string, notes: number) {
  const userId = randomUUID();
  const keyring = writeKeyring([userId]);
  const source = join(tempDir(), `${name}.sqlite`);
  const state = { target: undefined as TestTarget | undefined };
  beforeAll(async () => {
    generateDataset({ path: source, seed: 52, notes });
    state.target = await createTargetDatabase(name.replace(/[^a-z]/g, '').slice(0, 8));
    await seedTarget(state.target, userId);
  });
  afterAll(async () => {
    await state.target?.close();
  });
  return {
    userId,
    keyring,
    source,
    get target() {
      return state.target!;
    },
  };
}

describe('cut-over', () => {
  it('completes with the app writing ~150 writes/s through a file hook; the target equals the source at the freeze', async () => {
    const flag = join(dir, 'a.freeze.json');
    declareHooks({ 'a-flag': { kind: 'file', path: flag } });
    const initial = sourceState(fx.source);
    const schemaBefore = sourceSchema(fx.source);
    const log = join(dir, 'a.load.jsonl');
    const stop = new AbortController();
    const load: Promise<LoadSummary> = runLoad({
      source: fx.source,
      rate: 150,
      durationMs: 600_000,
      log,
      seed: 9,
      freezeFlag: flag,
      signal: stop.signal,
    });
    // The default budget is 2 s; this machine runs several suites at once, so the test gives 5 s.
    const budgetMs = 5000;
    let result: MigrationResult;
    try {
      const handle = await start(fx.worker, {
        source: fx.source,
        userId: fx.userId,
        target: fx.target.ref,
        keyring: fx.keyring.ref,
        online: {
          enabled: true,
          deltaThreshold: 50,
          maxDeltaPasses: 10,
          cutover: { freezeHook: 'a-flag', budgetMs, maxAttempts: 10, retryDelayMs: 200 },
        },
      });
      result = await handle.result();
      await new Promise((r) => setTimeout(r, 1000)); // writes after the freeze too: they must not be in the target
    } finally {
      stop.abort();
    }
    const summary = await load;
    const writes = readLoadLog(log);
    const online = result.online!;
    expect(result.validation.ok).toBe(true);
    const last = online.attempts!.at(-1)!;
    expect(last.outcome).toBe('done');
    expect(online.freezeMs).toBe(last.windowMs);
    expect(online.freezeMs).toBeGreaterThan(0);
    expect(online.freezeMs).toBeLessThan(budgetMs);
    expect(online.freezeHook).toBe('a-flag');
    expect(existsSync(flag)).toBe(false); // unfrozen
    console.info(
      `[cutover] ${summary.acknowledged} writes (${summary.flagWaitMs} ms waiting on the flag); ${online.passes} passes, ` +
        `attempts ${online.attempts!.map((a) => `${a.outcome} ${a.windowMs.toFixed(0)} ms`).join(', ')}; tail ${last.tailRows} rows`,
    );
    // The load ran throughout, was held by the flag, and went on after the freeze.
    expect(summary.acknowledged).toBeGreaterThan(300);
    expect(summary.flagWaitMs).toBeGreaterThan(0);
    expect(writes.some((w) => w.lockedAtMs >= online.freezeEndedAtMs!)).toBe(true);

    const expected = stateAtFreeze(initial, writes, online.freezeEndedAtMs!);
    const actual = await targetStateOf(
      fx.target,
      fx.userId,
      sealerOf(fx.keyring.keys, fx.userId),
      knownKeys(initial, writes),
    );
    for (const t of TABLE_ORDER) {
      // Every acknowledged write before the freeze present with its final content; every deleted row absent.
      expect(present(actual[t]!), t).toEqual(present(expected[t]!));
      expect(result.tables[t]!.sourceRows, t).toBe(present(expected[t]!).size);
    }
    expect(sourceSchema(fx.source)).toEqual(schemaBefore);
  }, 400_000);

  for (const when of ['freeze', 'delta passes'] as const) {
    describe(`abort during the ${when}`, () => {
      const r = isolatedRun(`abort-${when === 'freeze' ? 'fr' : 'dp'}`, 600);
      it('leaves the source writable without capture, the flag released and the target exactly as before', async () => {
        const flag = join(dir, `abort-${when.replace(' ', '-')}.freeze.json`);
        const hook = `abort-${when === 'freeze' ? 'fr' : 'dp'}`;
        const { pid } = hangingHook(hook, flag);
        const targetBefore = await targetState(r.target);
        const schemaBefore = sourceSchema(r.source);
        const log = join(dir, `${hook}.load.jsonl`);
        const stop = new AbortController();
        const load = runLoad({
          source: r.source,
          rate: 100,
          durationMs: 600_000,
          log,
          seed: 10,
          freezeFlag: flag,
          signal: stop.signal,
        });
        let abortedAt = 0;
        let failure: Awaited<ReturnType<typeof failureOf>>;
        try {
          const handle = await start(fx.worker, {
            source: r.source,
            userId: r.userId,
            target: r.target.ref,
            keyring: r.keyring.ref,
            online: {
              enabled: true,
              // Delta passes: threshold 0 (and neither the catch-up estimate nor the stall rule) keeps them
              // going until the abort. Freeze: the hook hangs with the flag written.
              ...(when === 'delta passes'
                ? { deltaThreshold: 0, maxDeltaPasses: 1000, catchUpEstimate: false, stallPasses: 0 }
                : { deltaThreshold: 1000 }),
              cutover: { freezeHook: hook, budgetMs: 60_000 },
            },
          });
          if (when === 'freeze')
            await waitUntil('the hook to freeze the app and hang', () => existsSync(flag) && existsSync(pid), {
              timeoutMs: 240_000,
              intervalMs: 100,
            });
          else {
            await waitUntil('delta passes running', async () => (await handle.query(progressQuery)).phase === 'delta', {
              timeoutMs: 240_000,
              intervalMs: 200,
            });
            await new Promise((res) => setTimeout(res, 1500)); // a few passes apply the load's writes
          }
          abortedAt = Date.now();
          await handle.executeUpdate(abortUpdate, { args: [`test aborts the ${when}`] });
          failure = await failureOf(handle);
          await new Promise((res) => setTimeout(res, 500)); // the load writes again
        } finally {
          stop.abort();
          killPidFile(pid);
        }
        await load;
        expect(failure.report.cause).toBe('abort');
        expect(failure.report.compensated).toContain('removeCapture');
        expect(failure.report.compensated).toContain('removeRunRows');
        if (when === 'freeze') expect(failure.report.compensated).toContain('unfreezeWrites');
        // The freeze released: no flag, and the app wrote again after the abort.
        expect(readFlag(flag)).toBeNull();
        expect(readLoadLog(log).some((w) => w.lockedAtMs > abortedAt)).toBe(true);
        // The source writable, its schema as before (no trigger, no log table); the target exactly as before.
        expect(sourceWritable(r.source)).toBe(true);
        expect(sourceSchema(r.source)).toEqual(schemaBefore);
        expect(await targetState(r.target)).toEqual(targetBefore);
      }, 400_000);
    });
  }

  describe('SIGKILL of the worker during the freeze', () => {
    const r = isolatedRun('sigkill', 600);
    it('the flag expires within the budget (the app writes again by itself); the next worker completes the run', async () => {
      const flag = join(dir, 'kill.freeze.json');
      const mark = join(dir, 'kill.hung-once');
      const { pid } = hangingHook('kill-once', flag, { once: mark });
      const budgetMs = 4000;
      const taskQueue = `cutover-kill-${randomUUID()}`;
      const env = { [r.target.dsnEnv]: r.target.url };
      const first = await spawnWorker({ taskQueue, env, backupDir: join(dir, 'kill-backups-1') });
      const log = join(dir, 'kill.load.jsonl');
      const stop = new AbortController();
      const load = runLoad({
        source: r.source,
        rate: 100,
        durationMs: 600_000,
        log,
        seed: 11,
        freezeFlag: flag,
        signal: stop.signal,
      });
      let second: Awaited<ReturnType<typeof spawnWorker>> | undefined;
      try {
        const handle = await start(
          fx.worker,
          {
            source: r.source,
            userId: r.userId,
            target: r.target.ref,
            keyring: r.keyring.ref,
            online: {
              enabled: true,
              deltaThreshold: 1000,
              cutover: { freezeHook: 'kill-once', budgetMs, maxAttempts: 3 },
            },
          },
          taskQueue,
        );
        await waitUntil(
          'the hook to freeze the app and hang',
          () => existsSync(mark) && existsSync(pid) && existsSync(flag),
          {
            timeoutMs: 240_000,
            intervalMs: 50,
          },
        );
        const killedAt = Date.now();
        await first.kill('SIGKILL');
        killPidFile(pid);
        const frozenUntilMs = readFlag(flag)!.frozenUntilMs;
        // Nobody lifts the flag now: its expiry does, within the budget of the freeze's start.
        expect(frozenUntilMs).toBeLessThanOrEqual(killedAt + budgetMs);
        await waitUntil(
          'the app to write again by itself',
          () => readLoadLog(log).some((w) => w.lockedAtMs >= frozenUntilMs),
          { timeoutMs: budgetMs + 10_000, intervalMs: 100 },
        );
        const resumed = Math.min(
          ...readLoadLog(log)
            .filter((w) => w.lockedAtMs >= killedAt)
            .map((w) => w.lockedAtMs),
        );
        expect(resumed - killedAt).toBeLessThan(budgetMs + 3000); // frozen no longer than the budget (+ the load's polling)
        expect(existsSync(flag)).toBe(true); // no worker lifted it: the expiry did

        second = await spawnWorker({ taskQueue, env, backupDir: join(dir, 'kill-backups-2') });
        const result = await handle.result();
        expect(result.validation.ok).toBe(true);
        expect(result.online!.attempts!.at(-1)!.outcome).toBe('done');
        expect(readFlag(flag)).toBeNull(); // the successful attempt unfroze
      } finally {
        stop.abort();
        killPidFile(pid);
        await first.kill('SIGKILL');
        await second?.kill('SIGTERM');
      }
      await load;
      expect(sourceWritable(r.source)).toBe(true);
      expect(sourceSchema(r.source).some((row) => row.includes('_migrator'))).toBe(false);
    }, 400_000);
  });

  describe('budget exceeded', () => {
    /** A command hook slower than the budget until `fast` exists; every action appended to `calls`. */
    function slowHook(name: string) {
      const calls = join(dir, `${name}.calls`);
      const fast = join(dir, `${name}.fast`);
      declareHooks({
        [name]: {
          kind: 'command',
          freeze: ['/bin/sh', '-c', `echo freeze >> ${calls}; if [ ! -e ${fast} ]; then exec sleep 3; fi`],
          unfreeze: ['/bin/sh', '-c', `echo unfreeze >> ${calls}`],
        },
      });
      return { calls, fast, lines: () => readFileSync(calls, 'utf8').trim().split('\n') };
    }

    async function heldAfter(handle: WorkflowHandle, attempts: number): Promise<void> {
      await waitUntil(
        'the cut-over to hold for the operator',
        async () => (await handle.query(progressQuery)).cutover?.held != null,
        { timeoutMs: 240_000, intervalMs: 200 },
      );
      const p = await handle.query(progressQuery);
      expect(p.phase).toBe('cutover');
      expect(p.cutover!.held).toMatch(
        new RegExp(`^held after ${attempts} attempts \\(budget 1000 ms; over-budget \\d+ ms`),
      );
      expect(p.cutover!.done).toBe(false);
      const status = await cli(['status', '--workflow-id', handle.workflowId]);
      expect(status.code, status.stderr).toBe(0);
      expect(status.stdout).toContain('CUT-OVER HELD');
    }

    const r = isolatedRun('budget', 400);
    it('retries, then holds for the operator (no more attempts); abort rolls back exactly', async () => {
      const hook = slowHook('slow');
      const targetBefore = await targetState(r.target);
      const schemaBefore = sourceSchema(r.source);
      const handle = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        online: { enabled: true, cutover: { freezeHook: 'slow', budgetMs: 1000, maxAttempts: 2, retryDelayMs: 100 } },
      });
      await heldAfter(handle, 2);
      await new Promise((res) => setTimeout(res, 2000)); // held: no third attempt starts by itself
      expect(hook.lines().filter((c) => c === 'freeze')).toHaveLength(2);
      expect((await handle.query(progressQuery)).cutover!.attempts).toBe(2);
      await handle.executeUpdate(abortUpdate, { args: ['test aborts the held cut-over'] });
      const { report } = await failureOf(handle);
      expect(report.cause).toBe('abort');
      expect(report.compensated).toEqual(expect.arrayContaining(['unfreezeWrites', 'removeCapture', 'removeRunRows']));
      // Two freezes, each unfrozen (and once more by the compensation).
      const calls = hook.lines();
      expect(calls.filter((c) => c === 'freeze')).toHaveLength(2);
      expect(calls.filter((c) => c === 'unfreeze').length).toBeGreaterThanOrEqual(2);
      expect(await targetState(r.target)).toEqual(targetBefore);
      expect(sourceSchema(r.source)).toEqual(schemaBefore);
    }, 400_000);

    const r2 = isolatedRun('budgetnow', 400);
    it('held, then cutover-now once the hook is fast: another round completes', async () => {
      const hook = slowHook('slow-then-fast');
      const handle = await start(fx.worker, {
        source: r2.source,
        userId: r2.userId,
        target: r2.target.ref,
        keyring: r2.keyring.ref,
        online: {
          enabled: true,
          cutover: { freezeHook: 'slow-then-fast', budgetMs: 1000, maxAttempts: 2, retryDelayMs: 100 },
        },
      });
      await heldAfter(handle, 2);
      writeFileSync(hook.fast, '');
      const now = await cli(['cutover-now', '--workflow-id', handle.workflowId, '--json']);
      expect(now.code, now.stderr).toBe(0);
      const result = await handle.result();
      expect(result.validation.ok).toBe(true);
      const outcomes = result.online!.attempts!.map((a) => a.outcome);
      expect(outcomes.slice(0, 2)).toEqual(['over-budget', 'over-budget']);
      expect(outcomes.at(-1)).toBe('done');
      expect(result.online!.freezeMs).toBeLessThan(1000);
    }, 400_000);
  });

  describe('switch hook', () => {
    const r = isolatedRun('switch', 400);
    it('is called once between the tail validation and the unfreeze; an abort during the soak unswitches before the rows go', async () => {
      const actions = join(dir, 'switch.actions');
      const append = ['/bin/sh', '-c', `echo "$MIGRATOR_FREEZE_ACTION" >> ${actions}`];
      declareHooks({
        'app-switch': { kind: 'command', freeze: append, unfreeze: append, switch: append, unswitch: append },
        'no-switch': { kind: 'command', freeze: append, unfreeze: append },
      });
      const lines = () => readFileSync(actions, 'utf8').trim().split('\n');
      // A command hook without switch/unswitch commands is refused as a switch hook, by name, at preflight.
      const refused = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        online: { enabled: true, cutover: { switchHook: 'no-switch' } },
      });
      expect(
        innermost(
          await refused.result().then(
            () => null,
            (e: unknown) => e,
          ),
        ),
      ).toMatch(/online\.cutover\.switchHook.*no-switch.*"unswitch"/);

      const targetBefore = await targetState(r.target);
      const handle = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        health: { soakMs: 600_000 },
        online: { enabled: true, cutover: { freezeHook: 'app-switch', switchHook: 'app-switch', budgetMs: 5000 } },
      });
      await waitUntil('the run to soak', async () => (await handle.query(progressQuery)).phase === 'soak', {
        timeoutMs: 240_000,
        intervalMs: 200,
      });
      expect(lines()).toEqual(['freeze', 'switch', 'unfreeze']);
      await handle.executeUpdate(abortUpdate, { args: ['test aborts the soak'] });
      const { report } = await failureOf(handle);
      expect(report.cause).toBe('abort');
      const order = report.compensated;
      expect(order).toEqual(expect.arrayContaining(['unswitchApp', 'unfreezeWrites', 'removeRunRows']));
      expect(order.indexOf('unswitchApp')).toBeLessThan(order.indexOf('removeRunRows'));
      expect(order.indexOf('unswitchApp')).toBeLessThan(order.indexOf('unfreezeWrites'));
      expect(lines()).toEqual(['freeze', 'switch', 'unfreeze', 'unswitch', 'unfreeze']);
      expect(await targetState(r.target)).toEqual(targetBefore);
    }, 400_000);
  });

  describe('switch hook that fails once', () => {
    const r = isolatedRun('switchfail', 300);
    it('makes that attempt switch-failed (unswitched, unfrozen); the next attempt switches and completes', async () => {
      const actions = join(dir, 'switchfail.actions');
      const once = join(dir, 'switchfail.once');
      const append = ['/bin/sh', '-c', `echo "$MIGRATOR_FREEZE_ACTION" >> ${actions}`];
      declareHooks({
        'flaky-switch': {
          kind: 'command',
          freeze: append,
          unfreeze: append,
          switch: ['/bin/sh', '-c', `echo switch >> ${actions}; if [ ! -e ${once} ]; then touch ${once}; exit 3; fi`],
          unswitch: append,
        },
      });
      const handle = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        online: {
          enabled: true,
          cutover: { freezeHook: 'flaky-switch', switchHook: 'flaky-switch', budgetMs: 5000, retryDelayMs: 100 },
        },
      });
      const result = await handle.result();
      expect(result.validation.ok).toBe(true);
      expect(result.online!.attempts!.map((a) => a.outcome)).toEqual(['switch-failed', 'done']);
      expect(result.online!.switchHook).toBe('flaky-switch');
      expect(result.online!.switchedAtMs).toBeGreaterThan(0);
      expect(readFileSync(actions, 'utf8').trim().split('\n')).toEqual([
        'freeze',
        'switch',
        'unswitch',
        'unfreeze',
        'freeze',
        'switch',
        'unfreeze',
      ]);
    }, 400_000);

    it('a file hook switches through <path>.switch, which the unfreeze leaves and only its own run unswitches', async () => {
      const flag = join(dir, 'sw.freeze.json');
      const hook = { kind: 'file' as const, path: flag };
      await runFreezeHook('sw', hook, 'freeze', 'run-a', Date.now() + 1000);
      await runFreezeHook('sw', hook, 'switch', 'run-a', Date.now() + 1000);
      await runFreezeHook('sw', hook, 'unfreeze', 'run-a', Date.now());
      expect(existsSync(flag)).toBe(false);
      const sw = JSON.parse(readFileSync(switchFlagPath(flag), 'utf8')) as Record<string, unknown>;
      expect(sw).toMatchObject({ switchedTo: 'target', runId: 'run-a' });
      expect(sw.switchedAtMs).toEqual(expect.any(Number));
      await runFreezeHook('sw', hook, 'unswitch', 'run-b', Date.now()); // another run's: left in place
      expect(existsSync(switchFlagPath(flag))).toBe(true);
      await runFreezeHook('sw', hook, 'unswitch', 'run-a', Date.now());
      await runFreezeHook('sw', hook, 'unswitch', 'run-a', Date.now()); // idempotent
      expect(existsSync(switchFlagPath(flag))).toBe(false);
    });
  });

  describe('operator controls', () => {
    const r = isolatedRun('controls', 1500); // long enough a copy that the postpone lands before the cut-over
    it('postponeCutover holds the cut-over until cutoverNow; a second postpone and a late cutoverNow are refused', async () => {
      declareHooks({ 'ctl-flag': { kind: 'file', path: join(dir, 'ctl.freeze.json') } });
      const handle = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        online: { enabled: true, cutover: { freezeHook: 'ctl-flag' } },
      });
      // Postponed through the CLI before the cut-over can start (the run is still copying or earlier).
      const postponed = await cli(['postpone-cutover', '--workflow-id', handle.workflowId, '--json']);
      expect(postponed.code, postponed.stderr).toBe(0);
      expect(JSON.parse(postponed.stdout)).toMatchObject({ postponed: true });
      const again = await cli(['postpone-cutover', '--workflow-id', handle.workflowId]);
      expect(again.code).toBe(1);
      expect(again.stderr).toMatch(/postpone-cutover refused: .*already postponed/);
      expect(await refusal(handle.executeUpdate(postponeCutoverUpdate))).toMatch(/already postponed/);
      await waitUntil(
        'the run to hold in cutover',
        async () => (await handle.query(progressQuery)).phase === 'cutover',
        {
          timeoutMs: 240_000,
          intervalMs: 200,
        },
      );
      await new Promise((res) => setTimeout(res, 3000));
      const held = await handle.query(progressQuery);
      expect(held.phase).toBe('cutover');
      expect(held.cutover).toEqual({ postponed: true, now: false, done: false, attempts: 0, held: null });
      const now = await cli(['cutover-now', '--workflow-id', handle.workflowId, '--json']);
      expect(now.code, now.stderr).toBe(0);
      expect(JSON.parse(now.stdout)).toMatchObject({ cutoverNow: true, phase: 'cutover' });
      const result = await handle.result();
      expect(result.validation.ok).toBe(true);
      expect(result.online!.attempts).toHaveLength(1);
      expect(await refusal(handle.executeUpdate(cutoverNowUpdate))).toMatch(
        /not running|already happened|already completed/,
      );
    }, 400_000);

    it('an offline run refuses cutoverNow; an undeclared freeze hook is refused by name at preflight', async () => {
      const offline = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        dryRun: true,
      });
      expect(await refusal(offline.executeUpdate(cutoverNowUpdate))).toMatch(/not an online run/);
      await offline.result();
      const bad = await start(fx.worker, {
        source: r.source,
        userId: r.userId,
        target: r.target.ref,
        keyring: r.keyring.ref,
        online: { enabled: true, cutover: { freezeHook: 'not-declared' } },
      });
      const failure = await bad.result().then(
        () => null,
        (e: unknown) => e,
      );
      expect(failure).toBeInstanceOf(WorkflowFailedError);
      expect(innermost(failure)).toMatch(
        /online\.cutover\.freezeHook.*not-declared|not-declared.*online\.cutover\.freezeHook/,
      );
    }, 200_000);
  });
});
