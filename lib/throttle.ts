// The copy's throttle (gh-ost's max-load / max-lag-millis): thresholds on the target's load under
// which the copy proceeds, and the pure decision over one load reading. The workflow sleeps while a
// reading is over a threshold (workflows/throttle.ts); activities/load.ts measures.
import { z } from 'zod';
import { DEFAULT_THROTTLE_CHECK_INTERVAL_MS, DEFAULT_THROTTLE_MAX_BACKOFF_MS } from './defaults';

export const ThrottleSchema = z
  .object({
    /** The probe's latency (the health guard's measure) above which the copy waits; below the guard's rollback level. */
    maxProbeLatencyMs: z.number().positive().max(3_600_000).optional(),
    /** Active client backends of the server (not the migrator's own) above which the copy waits. */
    maxActiveBackends: z.number().int().min(1).max(100_000).optional(),
    /** Replay lag of the slowest standby (pg_stat_replication) above which the copy waits. */
    maxReplicationLagMs: z.number().int().min(1).max(86_400_000).optional(),
    /** WAL the server writes per second (all writers) above which the copy waits. */
    maxWalBytesPerSec: z.number().int().min(1).optional(),
    /** Least time between two load checks. */
    checkIntervalMs: z.number().int().min(100).max(600_000).default(DEFAULT_THROTTLE_CHECK_INTERVAL_MS),
    /** Longest wait between checks while throttled (the backoff doubles up to it). */
    maxBackoffMs: z.number().int().min(100).max(600_000).default(DEFAULT_THROTTLE_MAX_BACKOFF_MS),
  })
  .strict();

export type ThrottleConfig = z.output<typeof ThrottleSchema>;
export type ThrottleInput = z.input<typeof ThrottleSchema>;

/** One reading of the target's load: numbers only (null: not measured or not visible). */
export interface LoadReading {
  probeLatencyMs: number | null;
  activeBackends: number;
  replicationLagMs: number | null;
  walBytesPerSec: number | null;
  /** Carried to the next reading, which differences it into a rate. */
  wal: { bytes: number; atMs: number } | null;
}

/**
 * The throttle must engage before the health guard rolls back. The guard's latency trigger fires at
 * latency > max(baseline x latencyFactor, baseline + minLatencyDeltaMs), which is never below
 * minLatencyDeltaMs whatever the baseline turns out to be: a throttle level below it sits below the
 * rollback level of every run. Returns the refusal, naming the field, or null.
 */
export function throttleAboveRollback(
  throttle: Pick<ThrottleConfig, 'maxProbeLatencyMs'>,
  health: { minLatencyDeltaMs: number; latencyFactor: number; probe: { enabled: boolean } },
): { field: string; message: string } | null {
  const ms = throttle.maxProbeLatencyMs;
  if (ms === undefined || !health.probe.enabled) return null;
  if (ms < health.minLatencyDeltaMs) return null;
  return {
    field: 'throttle.maxProbeLatencyMs',
    message: `must be below the health guard's rollback level: latency rolls back above max(baseline x ${health.latencyFactor}, baseline + ${health.minLatencyDeltaMs} ms), so the throttle must sit below health.minLatencyDeltaMs (${health.minLatencyDeltaMs} ms), got ${ms} ms; lower it or raise health.minLatencyDeltaMs`,
  };
}

/** Why the copy must wait now (every threshold exceeded, joined), or null when it may proceed. */
export function overThreshold(r: LoadReading, t: ThrottleConfig): string | null {
  const over: string[] = [];
  if (t.maxProbeLatencyMs !== undefined && r.probeLatencyMs !== null && r.probeLatencyMs > t.maxProbeLatencyMs)
    over.push(`probe latency ${r.probeLatencyMs.toFixed(1)} ms > ${t.maxProbeLatencyMs} ms`);
  if (t.maxActiveBackends !== undefined && r.activeBackends > t.maxActiveBackends)
    over.push(`active backends ${r.activeBackends} > ${t.maxActiveBackends}`);
  if (t.maxReplicationLagMs !== undefined && r.replicationLagMs !== null && r.replicationLagMs > t.maxReplicationLagMs)
    over.push(`replication lag ${Math.round(r.replicationLagMs)} ms > ${t.maxReplicationLagMs} ms`);
  if (t.maxWalBytesPerSec !== undefined && r.walBytesPerSec !== null && r.walBytesPerSec > t.maxWalBytesPerSec)
    over.push(`WAL ${Math.round(r.walBytesPerSec)} B/s > ${t.maxWalBytesPerSec} B/s`);
  return over.length ? over.join('; ') : null;
}
