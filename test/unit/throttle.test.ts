// The throttle's pure parts: the decision over a load reading, the input and Update rule that its
// latency level sits below the health guard's rollback level, and what the CLI shows.
import { describe, expect, it } from 'vitest';
import { renderBar } from '../../cli/progress-bar';
import { formatReport } from '../../cli/start-migration';
import { DEFAULT_THROTTLE_CHECK_INTERVAL_MS, DEFAULT_THROTTLE_MAX_BACKOFF_MS } from '../../lib/defaults';
import { InvalidInputError } from '../../lib/errors';
import { parseMigrationInput } from '../../lib/input';
import { overThreshold, ThrottleSchema, throttleAboveRollback, type LoadReading } from '../../lib/throttle';
import type { MigrationProgress, MigrationResult } from '../../workflows/definitions';

const valid = {
  source: '/data/user.db',
  userId: '123e4567-e89b-12d3-a456-426614174000',
  target: 'notes-prod',
  keyring: 'default',
};
const quiet: LoadReading = {
  probeLatencyMs: 3,
  activeBackends: 2,
  replicationLagMs: null,
  walBytesPerSec: 1_000,
  wal: null,
};

describe('overThreshold', () => {
  const t = ThrottleSchema.parse({
    maxProbeLatencyMs: 20,
    maxActiveBackends: 10,
    maxReplicationLagMs: 1_000,
    maxWalBytesPerSec: 50_000_000,
  });

  it('lets the copy go while every reading is at or under its threshold', () => {
    expect(overThreshold(quiet, t)).toBeNull();
    expect(overThreshold({ ...quiet, activeBackends: 10, probeLatencyMs: 20 }, t)).toBeNull();
  });

  it('names every threshold exceeded', () => {
    expect(overThreshold({ ...quiet, activeBackends: 11 }, t)).toBe('active backends 11 > 10');
    expect(overThreshold({ ...quiet, probeLatencyMs: 20.5, replicationLagMs: 2_500 }, t)).toBe(
      'probe latency 20.5 ms > 20 ms; replication lag 2500 ms > 1000 ms',
    );
    expect(overThreshold({ ...quiet, walBytesPerSec: 60_000_000 }, t)).toMatch(/^WAL 60000000 B\/s > 50000000 B\/s$/);
  });

  it('ignores thresholds not set and readings not available', () => {
    const only = ThrottleSchema.parse({ maxActiveBackends: 5 });
    expect(only.checkIntervalMs).toBe(DEFAULT_THROTTLE_CHECK_INTERVAL_MS);
    expect(only.maxBackoffMs).toBe(DEFAULT_THROTTLE_MAX_BACKOFF_MS);
    expect(overThreshold({ ...quiet, probeLatencyMs: 10_000, walBytesPerSec: 1e12 }, only)).toBeNull();
    expect(overThreshold({ ...quiet, replicationLagMs: null, probeLatencyMs: null }, t)).toBeNull();
  });
});

describe('the throttle sits below the guard', () => {
  it('refuses input whose probe-latency throttle is at or above the rollback level, naming the field', () => {
    for (const throttle of [{ maxProbeLatencyMs: 25 }, { maxProbeLatencyMs: 400 }]) {
      let err: unknown;
      try {
        parseMigrationInput({ ...valid, throttle });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(InvalidInputError);
      expect((err as InvalidInputError).field).toBe('throttle.maxProbeLatencyMs');
      expect((err as Error).message).toMatch(/below the health guard's rollback level.*25 ms/);
    }
  });

  it('accepts a level below it, follows a raised minLatencyDeltaMs, and has no latency level without a probe', () => {
    expect(parseMigrationInput({ ...valid, throttle: { maxProbeLatencyMs: 24 } }).throttle?.maxProbeLatencyMs).toBe(24);
    expect(
      parseMigrationInput({ ...valid, throttle: { maxProbeLatencyMs: 150 }, health: { minLatencyDeltaMs: 200 } })
        .throttle,
    ).toMatchObject({ maxProbeLatencyMs: 150 });
    const noProbe = { minLatencyDeltaMs: 25, latencyFactor: 2, probe: { enabled: false } };
    expect(throttleAboveRollback({ maxProbeLatencyMs: 400 }, noProbe)).toBeNull();
    expect(parseMigrationInput(valid).throttle).toBeUndefined();
  });

  it('refuses unknown and out-of-range throttle fields, naming them', () => {
    expect(() => parseMigrationInput({ ...valid, throttle: { maxLoad: 3 } })).toThrow(/throttle\.maxLoad/);
    expect(() => parseMigrationInput({ ...valid, throttle: { maxActiveBackends: 0 } })).toThrow(
      /throttle\.maxActiveBackends/,
    );
  });
});

describe('the CLI', () => {
  const progress = {
    phase: 'transfer',
    table: 'local_notes',
    paused: false,
    abortReason: null,
    rowsRead: 10,
    rowsTotal: 100,
    chunksDone: 1,
    chunksTotal: 10,
    rowsPerSecond: null,
    etaSeconds: null,
  } as unknown as MigrationProgress;

  it('shows why the copy waits and for how long', () => {
    expect(renderBar(progress)).not.toMatch(/THROTTLED|throttled/);
    const line = renderBar({ ...progress, throttleReason: 'active backends 9 > 4', throttledMs: 12_340 });
    expect(line).toMatch(/throttled 12\.3 s · THROTTLED \(active backends 9 > 4\)$/);
  });

  it('reports the total time throttled', () => {
    const result = {
      workflowId: 'w',
      runId: 'r',
      status: 'completed',
      validation: { ok: true },
      tables: {},
      phaseDurationsMs: {},
      backups: [],
      uncovered: { tables: [], columns: [] },
      indexes: { created: [] },
    } as unknown as MigrationResult;
    expect(formatReport(result)).not.toMatch(/throttled/);
    expect(formatReport({ ...result, throttledMs: 4_200 })).toMatch(/throttled: 4\.2 s/);
  });
});
