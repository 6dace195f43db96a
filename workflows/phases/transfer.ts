// transfer: one transferTable child per table, in foreign-key order (keyset chunks, a bounded
// window, exactly-once per chunk through the ledger), then the task parents linked.
import { ApplicationFailure, getExternalWorkflowHandle, patched, startChild, workflowInfo } from '@temporalio/workflow';
import { TABLE_ORDER } from '../../lib/mapping';
import { transferControlSignal, type TableReport } from '../definitions';
import { required, type RunState } from '../run-state';
import { transferTable } from '../transfer-table';
import type { Phase, PhaseContext } from './phase';

export const transferPhase: Phase = {
  name: 'transfer',
  inDryRun: true,
  undo: ({ run, acts }) =>
    run.cfg.dryRun
      ? []
      : [
          {
            name: 'removeRunRows',
            run: () =>
              acts.compensations.removeRunRows({ target: run.cfg.target, runId: run.runId, userId: run.cfg.userId }),
          },
        ],
  undoneBy: 'removeRunRows (the rows this run created, found through its bridge rows, children first)',
  proves:
    "every source row is migrated or quarantined with its reason, and each table's quarantine stays within the threshold",
  async step(ctx) {
    const { run, acts } = ctx;
    run.transferStartedAt = Date.now();
    for (const table of TABLE_ORDER) await transferOneTable(ctx, table);
    run.progress.table = null;
    if (!run.cfg.dryRun) {
      run.result.linkedParents = (
        await acts.dataWork.linkTaskParents({ target: run.cfg.target, userId: run.cfg.userId, runId: run.runId })
      ).linked;
    }
  },
};

async function transferOneTable({ run }: PhaseContext, table: string): Promise<void> {
  const { cfg, runId } = run;
  run.progress.table = table;
  const started = Date.now();
  const sent = { paused: run.progress.paused, chunkRows: run.progress.chunkRows };
  // The child can throttle (now, or after a setThrottle Update) only in runs started with the patch.
  const throttle = patched('throttle')
    ? { health: cfg.health, ...(run.throttle ? { throttle: run.throttle } : {}) }
    : {};
  const child = await startChild(transferTable, {
    workflowId: `${workflowInfo().workflowId}/${runId}/${table}`,
    args: [
      {
        runId,
        table,
        source: cfg.source,
        target: cfg.target,
        keyring: cfg.keyring,
        userId: cfg.userId,
        asOfSeconds: run.asOfSeconds,
        dryRun: cfg.dryRun,
        chunkRows: sent.chunkRows,
        chunkBytes: cfg.chunkBytes,
        parallelism: cfg.parallelism,
        chunksPerExecution: cfg.chunksPerExecution,
        heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
        paused: sent.paused,
        ...throttle,
      },
    ],
  });
  run.currentChild = child.workflowId;
  // Control changed while the child was starting: bring it up to date.
  if (sent.paused !== run.progress.paused || sent.chunkRows !== run.progress.chunkRows) await forwardControl(run);
  const totals = await child.result();
  run.currentChild = null;
  const sourceRows = required(run.preflight, 'preflight').sourceRows[table] ?? 0;
  const report: TableReport = { ...totals, sourceRows, durationMs: Date.now() - started };
  if (totals.throttledMs !== undefined) run.result.throttledMs = (run.result.throttledMs ?? 0) + totals.throttledMs;
  run.result.tables[table] = report;
  run.progress.tables[table] = report;
  // Online runs: rows the copy quarantined for a reference the app wrote after the copy (a link to a
  // note inserted later) are healed by the delta passes; the cut-over checks the counts at the freeze.
  if (!run.cfg.online.enabled) checkQuarantine(run, table, report);
}

export function checkQuarantine(run: RunState, table: string, report: TableReport): void {
  const limit = Math.floor(report.sourceRows * run.cfg.quarantineThreshold);
  if (report.quarantined <= limit) return;
  throw ApplicationFailure.create({
    type: 'QuarantineThresholdExceeded',
    nonRetryable: true,
    message: `${table}: ${report.quarantined} of ${report.sourceRows} rows quarantined, above the threshold ${run.cfg.quarantineThreshold} (${limit} rows); see migration.migration_quarantine for run ${run.runId}`,
  });
}

/** Sends the current pause state, chunk size and throttle thresholds to the running child, if any. */
export async function forwardControl(run: RunState): Promise<void> {
  if (!run.currentChild) return;
  await getExternalWorkflowHandle(run.currentChild)
    .signal(transferControlSignal, {
      paused: run.progress.paused,
      chunkRows: run.progress.chunkRows,
      ...(run.throttle ? { throttle: run.throttle } : {}),
    })
    .catch(() => undefined); // the child just finished: the next one starts with the current state
}
