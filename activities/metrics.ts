// Migration metrics, emitted through the SDK's metric meter so they come out of the same
// Prometheus endpoint as the SDK's own (the worker's --metrics-port). Outside an activity (the
// runbook CLI) they are no-ops.
import { Context } from '@temporalio/activity';
import { WRITE_FREEZE_BUCKETS_S } from '../lib/defaults';

/** Bucket bounds of the histograms whose unit the SDK's defaults (milliseconds) do not fit: Runtime.install's histogramBucketOverrides. */
export const HISTOGRAM_BUCKETS: Record<string, number[]> = { migrator_write_freeze_seconds: WRITE_FREEZE_BUCKETS_S };

function meter() {
  try {
    return Context.current().metricMeter;
  } catch {
    return null;
  }
}

export function recordChunk(
  table: string,
  r: { migrated: number; quarantined: number; repaired: number },
  latencyMs: number,
): void {
  const m = meter();
  if (!m) return;
  m.createCounter('migrator_rows_migrated', 'rows', 'source rows migrated into the target').add(r.migrated, { table });
  m.createCounter('migrator_rows_quarantined', 'rows', 'source rows quarantined with a reason code').add(
    r.quarantined,
    { table },
  );
  m.createCounter('migrator_rows_repaired', 'rows', 'rows migrated with a repaired reference').add(r.repaired, {
    table,
  });
  m.createHistogram('migrator_chunk_latency', 'int', 'ms', 'one chunk: read, transform, validate, commit').record(
    Math.round(latencyMs),
    { table },
  );
}

export function recordRollback(cause: string, ok: boolean): void {
  meter()
    ?.createCounter('migrator_rollbacks', 'runs', 'rollbacks, by cause and outcome')
    .add(1, { cause, outcome: ok ? 'restored' : 'failed' });
}

/** One write freeze (cut-over): freeze acknowledged → unfreeze acknowledged, in seconds. Buckets: WRITE_FREEZE_BUCKETS_S. */
export function recordWriteFreeze(hook: string, seconds: number, clock: 'monotonic' | 'wall'): void {
  meter()
    ?.createHistogram(
      'migrator_write_freeze_seconds',
      'float',
      's',
      'write freeze window: freeze acknowledged to unfreeze acknowledged',
    )
    .record(seconds, { hook, clock });
}

/** Every attempt to freeze writes for a cut-over, by hook and outcome (frozen, failed). */
export function recordCutoverAttempt(hook: string, outcome: 'frozen' | 'failed'): void {
  meter()
    ?.createCounter(
      'migrator_cutover_attempts_total',
      'attempts',
      'cut-over attempts (write-freeze requests), by outcome',
    )
    .add(1, { hook, outcome });
}
