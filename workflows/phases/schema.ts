// schema: the app's tables (IF NOT EXISTS), the control and bridge tables, the run lease with its
// fencing token, the backups recorded, and the health guard started on a measured baseline.
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { MAPPINGS, TABLE_ORDER } from '../../lib/mapping';
import type { HealthReading } from '../../activities';
import { startHealthGuard } from '../health-guard';
import { required } from '../run-state';
import type { Phase } from './phase';

export const schemaPhase: Phase = {
  name: 'schema',
  inDryRun: false,
  undo: ({ run, acts }) => {
    const { cfg, runId } = run;
    // Only the tables this run created: the app's own tables, and tables other runs created, stay.
    const existed = new Set(Object.keys(required(run.before, 'before').tables));
    const created = TABLE_ORDER.flatMap((t) => [`public.${MAPPINGS[t].targetTable}`, `public.${MAPPINGS[t].bridgeTable}`]).filter((t) => !existed.has(t));
    return [
      { name: 'releaseLease', run: () => acts.compensations.releaseLease({ target: cfg.target, runId }) },
      { name: 'dropCreatedTables', run: () => acts.compensations.dropCreatedTables({ target: cfg.target, tables: created }) },
    ];
  },
  undoneBy: 'releaseLease, dropCreatedTables (tables this run created and nothing else wrote into)',
  proves: 'the run holds the lease (no other run of this user can write); the health baseline is measured',
  async step(ctx) {
    const { run, acts } = ctx;
    const { cfg, runId } = run;
    await acts.bookkeeping.ensureSchema({ target: cfg.target });
    run.loggingReady = true;
    try {
      await acts.bookkeeping.acquireLease({ target: cfg.target, runId, userId: cfg.userId });
    } catch (err) {
      // Another run of this user holds the lease. This run wrote nothing of its own (the tables
      // ensureSchema made IF NOT EXISTS are the holder's as much as ours), so it must not compensate:
      // its dropCreatedTables would drop the holder's still-empty tables and its fingerprint proof
      // would compare rows the holder is writing (found by the fault suite's concurrent-runs case).
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'LeaseLost') run.leaseRefused = true;
      throw err;
    }
    await acts.bookkeeping.recordBackups({ target: cfg.target, runId, userId: cfg.userId, backups: run.backups });
    const baselineMs = await acts.bookkeeping.measureBaseline({ target: cfg.target, userId: cfg.userId, health: cfg.health });
    await ctx.log('health', 'info', `baseline latency ${baselineMs.toFixed(1)} ms`);
    const guard = startHealthGuard({
      target: cfg.target,
      userId: cfg.userId,
      health: cfg.health,
      baselineMs,
      heartbeatTimeoutMs: cfg.heartbeatTimeoutMs,
      onReading: (r: HealthReading) => (run.progress.lastHealth = r),
    });
    run.guard = guard;
    run.progress.healthGuardWorkflowId = guard.workflowId;
    void guard.triggered.then((reason) => ctx.stop(`health trigger: ${reason}`, 'health'));
  },
};
