// Migration metrics, emitted through the SDK's metric meter so they come out of the same
// Prometheus endpoint as the SDK's own (the worker's --metrics-port). Outside an activity (the
// runbook CLI) they are no-ops.
import { Context } from '@temporalio/activity';

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
