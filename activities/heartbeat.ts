// Heartbeats and cancellation for long activity steps. Inside an activity, a step that waits (a
// child process, a query, a lock) heartbeats on an interval, so the server neither times the
// attempt out while it works nor starts a second attempt beside it, and so a cancellation reaches
// the attempt (it is delivered with a heartbeat's response). Outside an activity (the same code run
// from the runbook CLI) all of this is a no-op.
import { Context } from '@temporalio/activity';
import { DEFAULT_HEARTBEAT_INTERVAL_MS } from '../lib/defaults';

function current(): Context | null {
  try {
    return Context.current();
  } catch {
    return null; // not inside an activity
  }
}

export function beat(details?: unknown): void {
  current()?.heartbeat(details);
}

/** This activity's attempt number (1 outside an activity). */
export function attemptNumber(): number {
  return current()?.info.attempt ?? 1;
}

/** Aborted when the activity is cancelled (never, outside an activity). */
export function cancellationSignal(): AbortSignal {
  return current()?.cancellationSignal ?? new AbortController().signal;
}

/** Throws the cancellation (a CancelledFailure) if the activity has been cancelled. */
export function throwIfCancelled(): void {
  const signal = cancellationSignal();
  if (signal.aborted) throw signal.reason;
}

/**
 * Runs `work`, heartbeating `details` every `intervalMs` until it settles. `details` must hold no
 * secrets or user content: heartbeat details are stored in Temporal.
 */
export async function whileHeartbeating<T>(
  details: unknown,
  work: Promise<T> | (() => Promise<T>),
  intervalMs = DEFAULT_HEARTBEAT_INTERVAL_MS,
): Promise<T> {
  beat(details);
  const ticker = setInterval(() => beat(details), intervalMs);
  try {
    return await (typeof work === 'function' ? work() : work);
  } finally {
    clearInterval(ticker);
  }
}

/** Calls `onAbort` once if `signal` aborts; returns the disposer. */
export function onAbort(signal: AbortSignal, onAbortFn: () => void): () => void {
  if (signal.aborted) {
    onAbortFn();
    return () => undefined;
  }
  signal.addEventListener('abort', onAbortFn, { once: true });
  return () => signal.removeEventListener('abort', onAbortFn);
}
