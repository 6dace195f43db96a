// The one way activities run a child process (pg_dump, pg_restore, an off-loop integrity check):
// heartbeating while it runs, killed (SIGTERM, then SIGKILL after a grace period) when the
// activity is cancelled or the caller aborts, and failing with a ChildProcessError that carries the
// tail of its stderr. A cancelled child is waited for, so no child outlives the attempt that
// started it.
import { spawn } from 'node:child_process';
import { basename } from 'node:path';
import { CHILD_KILL_GRACE_MS, CHILD_STDERR_TAIL_CHARS } from '../lib/defaults';
import { ChildProcessError } from '../lib/errors';
import { cancellationSignal, whileHeartbeating } from './heartbeat';

export interface RunChildOptions {
  /** What the child does, for the error message and heartbeat details ("target backup pg_dump"). */
  what: string;
  /** The child's whole environment (nothing is inherited implicitly). */
  env: Record<string, string>;
  /** Aborts the child too (besides the activity's cancellation), e.g. when a sibling step failed. */
  signal?: AbortSignal;
  /** Keep stdout (default true); false discards it. */
  captureStdout?: boolean;
  killGraceMs?: number;
}

export interface ChildResult {
  stdout: string;
  stderr: string;
  pid: number;
}

/** The last `max` characters, cut at a line start when possible. */
export function tail(text: string, max = CHILD_STDERR_TAIL_CHARS): string {
  const trimmed = text.trim();
  if (trimmed.length <= max) return trimmed;
  const cut = trimmed.slice(-max);
  const nl = cut.indexOf('\n');
  return `…${nl >= 0 && nl < max / 2 ? cut.slice(nl + 1) : cut}`;
}

export function runChild(file: string, args: string[], options: RunChildOptions): Promise<ChildResult> {
  const signals = [cancellationSignal(), ...(options.signal ? [options.signal] : [])];
  const abort = AbortSignal.any(signals);
  const tool = basename(file);
  return whileHeartbeating({ step: options.what }, () => {
    if (abort.aborted) return Promise.reject(abort.reason as Error);
    return new Promise<ChildResult>((resolve, reject) => {
      const child = spawn(file, args, {
        env: options.env,
        stdio: ['ignore', options.captureStdout === false ? 'ignore' : 'pipe', 'pipe'],
      });
      const out: Buffer[] = [];
      let err = '';
      child.stdout?.on('data', (d: Buffer) => out.push(d));
      child.stderr!.on('data', (d: Buffer) => {
        // Bounded: keep a little more than the tail we report.
        err = (err + d.toString()).slice(-4 * CHILD_STDERR_TAIL_CHARS);
      });
      let killTimer: NodeJS.Timeout | undefined;
      const kill = () => {
        child.kill('SIGTERM');
        killTimer = setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? CHILD_KILL_GRACE_MS);
      };
      abort.addEventListener('abort', kill, { once: true });
      child.once('error', (e) => {
        abort.removeEventListener('abort', kill);
        reject(new ChildProcessError(tool, null, null, e.message, options.what));
      });
      child.once('close', (code, signal) => {
        abort.removeEventListener('abort', kill);
        clearTimeout(killTimer);
        // Cancelled: the child is gone now; surface the cancellation itself, not a kill error.
        if (abort.aborted) return reject(abort.reason as Error);
        if (code === 0) return resolve({ stdout: Buffer.concat(out).toString(), stderr: err, pid: child.pid! });
        reject(new ChildProcessError(tool, code, signal, tail(err), options.what));
      });
    });
  });
}
