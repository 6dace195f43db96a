// The copy's throttle reads the target's load here (workflows/throttle.ts decides): the guard's own
// latency measure, active client backends, standby replay lag and the WAL rate. Numbers only.
import type { HealthConfig } from '../lib/input';
import type { LoadReading } from '../lib/throttle';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { guardProbeLatency } from './health';

export function createLoadActivities(deps: ActivityDeps) {
  return {
    async checkLoad(input: {
      target: string;
      userId: string;
      health: HealthConfig;
      /** Time the probe (only when a probe-latency threshold is set). */
      probe: boolean;
      /** The previous reading's WAL position, differenced into walBytesPerSec. */
      previousWal: { bytes: number; atMs: number } | null;
    }): Promise<LoadReading> {
      const row = (
        await deps.pool(input.target).query<{
          active_backends: number;
          replication_lag_ms: number | null;
          wal_bytes: number | null;
          at_ms: number;
        }>(sqlFile('queries/check_load.sql'))
      ).rows[0]!;
      const wal = row.wal_bytes === null ? null : { bytes: row.wal_bytes, atMs: row.at_ms };
      const prev = input.previousWal;
      const walBytesPerSec =
        wal && prev && wal.atMs > prev.atMs
          ? Math.max(0, ((wal.bytes - prev.bytes) * 1000) / (wal.atMs - prev.atMs))
          : null;
      // Timed even when the guard's own probe is off (then no latency rollback level exists to stay under).
      const probeLatencyMs = input.probe
        ? await guardProbeLatency(deps, input.target, `${input.userId}:throttle`, input.health)
        : null;
      return {
        probeLatencyMs,
        activeBackends: row.active_backends,
        replicationLagMs: row.replication_lag_ms,
        walBytesPerSec,
        wal,
      };
    },
  };
}
