// Write-freeze hooks: how the worker tells the app to stop writing for a cut-over and to start again
// (docs/security.md "Write-freeze hooks"). A hook is a capability of the worker config
// (`freezeHooks`); workflow input only names one. Every freeze carries its expiry
// (`frozenUntilMs` = now + budget): the app honours it, so a worker that dies mid-cut-over cannot
// keep the app frozen past the budget.
//
// The freeze window (freeze acknowledged → unfreeze acknowledged) is measured on this process's
// monotonic clock and exported as migrator_write_freeze_seconds; every freeze attempt counts in
// migrator_cutover_attempts_total.
import { randomUUID } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { log } from '@temporalio/activity';
import { MAX_FREEZE_BUDGET_MS } from '../lib/defaults';
import { FreezeHookError, InvalidInputError, NotPermittedError } from '../lib/errors';
import type { FreezeHookConfig } from '../lib/worker-config';
import { runChild } from './child-process';
import type { ActivityDeps } from './deps';
import { fetchConfigured } from './health';
import { recordCutoverAttempt, recordWriteFreeze } from './metrics';

export type FreezeAction = 'freeze' | 'unfreeze';

/** What the file hook writes, exactly (the app's side reads it). */
export interface FreezeFlag {
  frozenUntilMs: number;
  runId: string;
}

export interface FreezeAck {
  hook: string;
  runId: string;
  /** The expiry the hook was given (epoch ms). */
  frozenUntilMs: number;
  /** When the hook acknowledged (epoch ms, this worker's clock). */
  acknowledgedAtMs: number;
}

export interface UnfreezeAck {
  hook: string;
  runId: string;
  /** Freeze acknowledged → unfreeze acknowledged; null when the freeze was acknowledged elsewhere and no `frozenAtMs` was given. */
  windowMs: number | null;
  /** 'monotonic': both acknowledgements on this process; 'wall': across processes, from `frozenAtMs`. */
  clock: 'monotonic' | 'wall' | null;
}

/** Freezes acknowledged by this process, by hook and run: their monotonic timestamps. */
const frozenAt = new Map<string, number>();
const key = (hook: string, runId: string) => `${hook}\u0000${runId}`;

/** Runs one hook action; resolves when the hook acknowledged, throws FreezeHookError otherwise. */
export async function runFreezeHook(
  name: string,
  hook: FreezeHookConfig,
  action: FreezeAction,
  runId: string,
  frozenUntilMs: number,
  options: { signal?: AbortSignal } = {},
): Promise<void> {
  if (hook.kind === 'file') return fileHook(name, hook.path, action, { frozenUntilMs, runId });
  if (hook.kind === 'command') {
    const [file, ...args] = action === 'freeze' ? hook.freeze : hook.unfreeze;
    const timeout = AbortSignal.timeout(hook.timeoutMs);
    const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
    try {
      await runChild(file!, args, {
        what: `write-freeze hook "${name}" (${action})`,
        // Nothing else of the worker's environment (it may hold DSNs): PATH to find the program, and the freeze.
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          MIGRATOR_FREEZE_ACTION: action,
          MIGRATOR_RUN_ID: runId,
          MIGRATOR_FREEZE_UNTIL_MS: String(frozenUntilMs),
        },
        signal,
        captureStdout: false,
        killGraceMs: 1_000,
      });
    } catch (err) {
      if (timeout.aborted) throw new FreezeHookError(name, action, `timed out after ${hook.timeoutMs} ms (killed)`);
      if (options.signal?.aborted) throw new FreezeHookError(name, action, 'stopped (budget or abort; killed)');
      throw new FreezeHookError(name, action, (err as Error).message);
    }
    return;
  }
  const res = await fetchConfigured(hook.url, `write-freeze hook "${name}" (${action})`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ action, runId, frozenUntilMs }),
    signal: options.signal
      ? AbortSignal.any([AbortSignal.timeout(hook.timeoutMs), options.signal])
      : AbortSignal.timeout(hook.timeoutMs),
  }).catch((err: Error) => {
    throw new FreezeHookError(name, action, err.message);
  });
  if (!res.ok) throw new FreezeHookError(name, action, `answered ${res.status}`);
}

/** The flag file: written whole or not at all (tmp file in the same directory, then rename). */
function fileHook(name: string, path: string, action: FreezeAction, flag: FreezeFlag): void {
  try {
    if (action === 'freeze') {
      const tmp = join(dirname(path), `.${randomUUID()}.freeze.tmp`);
      try {
        const fd = openSync(tmp, 'wx', 0o644);
        try {
          writeSync(fd, JSON.stringify({ frozenUntilMs: flag.frozenUntilMs, runId: flag.runId }));
          fsyncSync(fd); // on disk before the rename makes it visible
        } finally {
          closeSync(fd);
        }
        renameSync(tmp, path);
      } catch (err) {
        rmSync(tmp, { force: true }); // no half-written temporary file left beside the flag
        throw err;
      }
      return;
    }
    // Another run's freeze is not this run's to lift.
    const current = readFlag(path);
    if (current && current.runId !== flag.runId) {
      warn('write-freeze flag belongs to another run: left in place', { hook: name, flagRunId: current.runId });
      return;
    }
    rmSync(path, { force: true });
  } catch (err) {
    throw new FreezeHookError(
      name,
      action,
      `flag file: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

/** The activity's logger; the console outside an activity (a test or the runbook CLI calling the hook directly). */
function warn(message: string, meta: Record<string, unknown>): void {
  try {
    log.warn(message, meta);
  } catch {
    console.warn(message, meta);
  }
}

/** The app's side of the contract (a reference for apps): writes are frozen while a flag exists and has not expired. */
export function writesFrozen(flag: FreezeFlag | null, nowMs: number): boolean {
  return flag !== null && nowMs < flag.frozenUntilMs;
}

/** The flag file's content, or null when there is none (or it is unreadable). */
export function readFlag(path: string): FreezeFlag | null {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as FreezeFlag;
  } catch {
    return null; // absent or half-written by someone else: nothing of ours to keep
  }
}

export function hookOf(deps: ActivityDeps, name: string): FreezeHookConfig {
  const hooks = deps.capabilities.config.freezeHooks;
  if (typeof name === 'string' && Object.hasOwn(hooks, name)) return hooks[name]!;
  const declared =
    Object.keys(hooks)
      .map((n) => `"${n}"`)
      .join(', ') || 'none';
  throw new NotPermittedError(
    'freezeHook',
    `not a write-freeze hook this worker's config declares (declared: ${declared})`,
  );
}

export function createFreezeActivities(deps: ActivityDeps) {
  return {
    /** Asks the app to stop writing until now + budgetMs at the latest. */
    async freezeWrites(hookName: string, runId: string, budgetMs: number): Promise<FreezeAck> {
      const hook = hookOf(deps, hookName);
      if (!Number.isInteger(budgetMs) || budgetMs < 1 || budgetMs > MAX_FREEZE_BUDGET_MS)
        throw new InvalidInputError('budgetMs', `must be an integer from 1 to ${MAX_FREEZE_BUDGET_MS} ms`);
      const frozenUntilMs = Date.now() + budgetMs;
      try {
        await runFreezeHook(hookName, hook, 'freeze', runId, frozenUntilMs);
      } catch (err) {
        recordCutoverAttempt(hookName, 'failed');
        throw err;
      }
      frozenAt.set(key(hookName, runId), performance.now());
      recordCutoverAttempt(hookName, 'frozen');
      return { hook: hookName, runId, frozenUntilMs, acknowledgedAtMs: Date.now() };
    },

    /** Lets the app write again; measures the freeze window. `frozenAtMs`: the freeze's acknowledgedAtMs, for a freeze another worker acknowledged. */
    async unfreezeWrites(hookName: string, runId: string, frozenAtMs?: number): Promise<UnfreezeAck> {
      const hook = hookOf(deps, hookName);
      await runFreezeHook(hookName, hook, 'unfreeze', runId, Date.now());
      const started = frozenAt.get(key(hookName, runId));
      frozenAt.delete(key(hookName, runId));
      let windowMs: number | null = null;
      let clock: UnfreezeAck['clock'] = null;
      if (started !== undefined) [windowMs, clock] = [performance.now() - started, 'monotonic'];
      else if (frozenAtMs !== undefined) [windowMs, clock] = [Math.max(0, Date.now() - frozenAtMs), 'wall'];
      if (windowMs !== null && clock) recordWriteFreeze(hookName, windowMs / 1000, clock);
      return { hook: hookName, runId, windowMs, clock };
    },
  };
}
