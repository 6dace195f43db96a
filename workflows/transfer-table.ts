// transferTable: one table's keyset chunks, a bounded window in flight, continue-as-new before the
// history grows large. Its state between executions is a key, a chunk size and totals: no rows.
// Chunks are bounded by rows and by source bytes; the planChunks activity sizes them, the
// workflow only ever sees bounds.
// The parent forwards pause/resume and setChunkSize through a signal.
import { condition, continueAsNew, getExternalWorkflowHandle, setHandler, workflowInfo } from '@temporalio/workflow';
import { addChecksums } from '../lib/checksum';
import { DEFAULT_PLAN_BATCH } from '../lib/defaults';
import type { HealthConfig } from '../lib/input';
import type { ThrottleConfig } from '../lib/throttle';
import { activitiesFor } from './activity-options';
import { emptyTotals, tableProgressSignal, transferControlSignal, type TableTotals } from './definitions';
import { tableThrottle } from './throttle';
import { boundedWindow } from './window';

export interface TransferTableInput {
  runId: string;
  table: string;
  source: string;
  target: string;
  keyring: string;
  userId: string;
  asOfSeconds: number;
  dryRun: boolean;
  chunkRows: number;
  /** Source bytes per chunk (absent in runs started before byte bounds: planChunks applies the default). */
  chunkBytes?: number;
  parallelism: number;
  chunksPerExecution: number;
  heartbeatTimeoutMs: number;
  paused?: boolean;
  /** The throttle's thresholds (absent: none until a setThrottle Update sends some) and the health
   * config its probe shares with the guard (set by runs started with patch 'throttle'). */
  throttle?: ThrottleConfig;
  health?: HealthConfig;
  /** Carried across continue-as-new. */
  state?: { after: string | null; totals: TableTotals; executions: number };
}

export async function transferTable(input: TransferTableInput): Promise<TableTotals & { executions: number }> {
  const { bookkeeping, dataWork } = activitiesFor(input.heartbeatTimeoutMs);
  const totals = input.state?.totals ?? emptyTotals();
  let after = input.state?.after ?? null;
  const executions = (input.state?.executions ?? 0) + 1;
  const parent = workflowInfo().parent;
  let paused = input.paused ?? false;
  let chunkRows = input.chunkRows;
  const report = (throttleReason?: string | null) =>
    parent
      ? getExternalWorkflowHandle(parent.workflowId).signal(tableProgressSignal, {
          table: input.table,
          totals: { ...totals },
          ...(throttleReason !== undefined ? { throttleReason } : {}),
        })
      : Promise.resolve();
  const throttle = tableThrottle(input, totals, report);
  setHandler(transferControlSignal, (c) => {
    paused = c.paused;
    chunkRows = c.chunkRows;
    throttle.control(c.throttle);
  });
  const next = () =>
    continueAsNew<typeof transferTable>({
      ...input,
      chunkRows,
      paused,
      ...throttle.carried(),
      state: { after, totals, executions },
    });
  let chunksThisExecution = 0;
  for (;;) {
    await condition(() => !paused);
    if ((await throttle.gate()) === 'continue-as-new') await next();
    const budget = Math.min(DEFAULT_PLAN_BATCH, input.chunksPerExecution - chunksThisExecution);
    const plan = await bookkeeping.planChunks({
      source: input.source,
      table: input.table,
      after,
      chunkRows,
      chunkBytes: input.chunkBytes,
      maxChunks: budget,
    });
    await boundedWindow(plan.chunks, input.parallelism, async (chunk) => {
      await condition(() => !paused);
      const r = await dataWork.transferChunk({
        runId: input.runId,
        source: input.source,
        target: input.target,
        keyring: input.keyring,
        userId: input.userId,
        table: input.table,
        asOfSeconds: input.asOfSeconds,
        dryRun: input.dryRun,
        lo: chunk.lo,
        hi: chunk.hi,
      });
      totals.read += r.read;
      totals.migrated += r.migrated;
      totals.inserted += r.inserted;
      totals.quarantined += r.quarantined;
      totals.repaired += r.repaired;
      totals.checksum = addChecksums(totals.checksum, r.checksum);
      totals.chunks += 1;
      if (r.replayed) totals.replayedChunks += 1;
    });
    chunksThisExecution += plan.chunks.length;
    const last = plan.chunks[plan.chunks.length - 1];
    if (last) after = last.hi;
    await report();
    if (plan.done) return { ...totals, executions };
    if (chunksThisExecution >= input.chunksPerExecution || workflowInfo().continueAsNewSuggested) await next();
  }
}
