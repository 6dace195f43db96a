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

export type FreezeAction = 'freeze' | 'unfreeze' | 'switch' | 'unswitch';

/** What the file hook writes as a switch hook, at `<path>.switch` (the app uses the target while it exists). */
export interface SwitchFlag {
  switchedTo: 'target';
  runId: string;
  switchedAtMs: number;
}

/** The file a file hook writes for the switch: beside its flag, so unfreezing does not lift it. */
export const switchFlagPath = (path: string) => `${path}.switch`;

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
    const argv = hook[action];
    // Preflight refuses a switch hook without these; a worker config changed since is refused here.
    if (!argv) throw new FreezeHookError(name, action, `the command hook declares no "${action}" command`);
    const [file, ...args] = argv;
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

/** Writes `content` at `path` whole or not at all (tmp file in the same directory, then rename). */
function writeAtomically(path: string, content: string): void {
  const tmp = join(dirname(path), `.${randomUUID()}.freeze.tmp`);
  try {
    const fd = openSync(tmp, 'wx', 0o644);
    try {
      writeSync(fd, content);
      fsyncSync(fd); // on disk before the rename makes it visible
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true }); // no half-written temporary file left beside the flag
    throw err;
  }
}

/** The flag file (freeze/unfreeze), or the switch file beside it (switch/unswitch). */
function fileHook(name: string, path: string, action: FreezeAction, flag: FreezeFlag): void {
  try {
    if (action === 'freeze')
      return writeAtomically(path, JSON.stringify({ frozenUntilMs: flag.frozenUntilMs, runId: flag.runId }));
    if (action === 'switch') {
      const sw: SwitchFlag = { switchedTo: 'target', runId: flag.runId, switchedAtMs: Date.now() };
      return writeAtomically(switchFlagPath(path), JSON.stringify(sw));
    }
    // Another run's freeze (or switch) is not this run's to lift.
    const file = action === 'unswitch' ? switchFlagPath(path) : path;
    const current = readFlag(file);
    if (current && current.runId !== flag.runId) {
      warn(`write-freeze ${action === 'unswitch' ? 'switch file' : 'flag'} belongs to another run: left in place`, {
        hook: name,
        flagRunId: current.runId,
      });
      return;
    }
    rmSync(file, { force: true });
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

export function hookOf(deps: ActivityDeps, name: string, field = 'freezeHook'): FreezeHookConfig {
  const hooks = deps.capabilities.config.freezeHooks;
  if (typeof name === 'string' && Object.hasOwn(hooks, name)) return hooks[name]!;
  const declared =
    Object.keys(hooks)
      .map((n) => `"${n}"`)
      .join(', ') || 'none';
  throw new NotPermittedError(field, `not a write-freeze hook this worker's config declares (declared: ${declared})`);
}

/** Why a declared hook cannot serve as a switch hook (a command hook needs both commands), or null. */
export function switchHookProblem(hook: FreezeHookConfig): string | null {
  if (hook.kind === 'command' && (!hook.switch || !hook.unswitch))
    return 'a command hook named as switch hook must declare both "switch" and "unswitch" commands';
  return null;
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

    /** Compensation of a switch (rollback): tells the app to use the source again. Idempotent; a no-op when never switched. */
    async unswitchApp(hookName: string, runId: string): Promise<{ hook: string; runId: string }> {
      const hook = hookOf(deps, hookName, 'switchHook');
      await runFreezeHook(hookName, hook, 'unswitch', runId, Date.now());
      return { hook: hookName, runId };
    },
  };
}
