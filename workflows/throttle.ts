// Throttle before harm (gh-ost's max-load / max-lag-millis): before a batch of chunks, the copy
// reads the target's load (at most every checkIntervalMs) and, while a reading is over a threshold,
// waits on durable timers with a doubling backoff, counting the time. The thresholds sit below the
// health guard's rollback levels (lib/throttle.ts), so the copy waits before the guard would roll
// back. A setThrottle Update wakes the wait at once and the next reading is judged on the new levels.
// Runs started before the throttle existed never reach a check (patch 'throttle').
import { condition, patched, workflowInfo } from '@temporalio/workflow';
import {
  THROTTLE_CHECKS_PER_EXECUTION,
  THROTTLE_INITIAL_BACKOFF_MS,
  THROTTLE_REPORT_INTERVAL_MS,
} from '../lib/defaults';
import type { HealthConfig } from '../lib/input';
import type { LoadReading, ThrottleConfig } from '../lib/throttle';
import { overThreshold } from '../lib/throttle';
import { activitiesFor } from './activity-options';
import type { TableTotals } from './definitions';

/** What the Update changes: the thresholds, and a version the wait watches. */
export interface ThrottleControl {
  thresholds: ThrottleConfig | null;
  version: number;
}

/** What the throttle tracks in one transferTable execution (throttledMs is carried across continue-as-new). */
export interface ThrottleTrack {
  throttledMs: number;
  reason: string | null;
  lastCheckAt: number | null;
  wal: LoadReading['wal'];
}

export interface ThrottleGateOptions {
  ctl: ThrottleControl;
  track: ThrottleTrack;
  check: (previousWal: LoadReading['wal']) => Promise<LoadReading>;
  /** Readings while throttled before the caller continues as new (Infinity: never, see `continueAsNew`). */
  maxChecks: number;
  /** false: the caller cannot continue as new (the migration workflow's delta passes): the gate waits
   * on, one reading per backoff, and never returns 'continue-as-new'. Default true. */
  continueAsNew?: boolean;
  /** Called when the reason changes (engaged, changed, released), and every THROTTLE_REPORT_INTERVAL_MS
   * while the copy waits: the parent's progress shows the reason and the time waited. */
  report: (reason: string | null) => Promise<void>;
}

/**
 * Resolves 'pass' when the copy may go on, or 'continue-as-new' when it has waited through
 * `maxChecks` readings (or the server suggests it): the caller continues as new and
 * comes back here, so a throttle of hours keeps the history bounded.
 */
export async function throttleGate({
  ctl,
  track,
  check,
  maxChecks,
  report,
  continueAsNew = true,
}: ThrottleGateOptions): Promise<'pass' | 'continue-as-new'> {
  const initial = ctl.thresholds;
  if (!initial || !patched('throttle')) return 'pass';
  if (track.lastCheckAt !== null && Date.now() - track.lastCheckAt < initial.checkIntervalMs) return 'pass';
  let backoff = THROTTLE_INITIAL_BACKOFF_MS;
  let reportedAt = Date.now();
  for (let checks = 1; ; checks++) {
    const reading = await check(track.wal);
    track.lastCheckAt = Date.now();
    track.wal = reading.wal;
    const thresholds = ctl.thresholds;
    const reason = thresholds ? overThreshold(reading, thresholds) : null;
    if (reason !== track.reason || (reason && Date.now() - reportedAt >= THROTTLE_REPORT_INTERVAL_MS)) {
      track.reason = reason;
      reportedAt = Date.now();
      await report(reason);
    }
    if (!reason || !thresholds) return 'pass';
    if (continueAsNew && (checks >= maxChecks || workflowInfo().continueAsNewSuggested)) return 'continue-as-new';
    const version = ctl.version;
    const started = Date.now();
    const changed = await condition(() => ctl.version !== version, backoff);
    track.throttledMs += Date.now() - started;
    backoff = changed ? THROTTLE_INITIAL_BACKOFF_MS : Math.min(backoff * 2, thresholds.maxBackoffMs);
  }
}

export interface TableThrottle {
  /** Thresholds forwarded by the parent (the setThrottle Update): judged from the next reading on. */
  control(thresholds: ThrottleConfig | undefined): void;
  /** Before a batch of chunks: 'pass', or 'continue-as-new' after a long wait. Keeps totals.throttledMs. */
  gate(): Promise<'pass' | 'continue-as-new'>;
  /** The thresholds to carry across continue-as-new. */
  carried(): { throttle?: ThrottleConfig };
}

/** One transferTable's throttle. Without `health` (runs started before patch 'throttle') it never checks. */
export function tableThrottle(
  input: {
    target: string;
    userId: string;
    heartbeatTimeoutMs: number;
    chunksPerExecution: number;
    health?: HealthConfig;
    throttle?: ThrottleConfig;
  },
  totals: TableTotals,
  report: (reason: string | null) => Promise<void>,
): TableThrottle {
  const { bookkeeping } = activitiesFor(input.heartbeatTimeoutMs);
  const health = input.health;
  const ctl: ThrottleControl = { thresholds: health ? (input.throttle ?? null) : null, version: 0 };
  const track: ThrottleTrack = { throttledMs: totals.throttledMs ?? 0, reason: null, lastCheckAt: null, wal: null };
  return {
    control(thresholds) {
      if (thresholds && health) [ctl.thresholds, ctl.version] = [thresholds, ctl.version + 1];
    },
    async gate() {
      const gate = await throttleGate({
        ctl,
        track,
        check: (previousWal) =>
          bookkeeping.checkLoad({
            target: input.target,
            userId: input.userId,
            health: health!,
            probe: ctl.thresholds?.maxProbeLatencyMs !== undefined,
            previousWal,
          }),
        // A reading while throttled costs about a chunk's history events: the run's chunksPerExecution bounds both.
        maxChecks: Math.min(THROTTLE_CHECKS_PER_EXECUTION, input.chunksPerExecution),
        report: (reason) => {
          totals.throttledMs = track.throttledMs;
          return report(reason);
        },
      });
      if (track.throttledMs > 0) totals.throttledMs = track.throttledMs;
      return gate;
    },
    carried: () => (ctl.thresholds ? { throttle: ctl.thresholds } : {}),
  };
}
