// schema: the app's tables (IF NOT EXISTS), the control and bridge tables, the run lease with its
// fencing token, the backups recorded, and the health guard started on a measured baseline.
import { patched } from '@temporalio/workflow';
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { MAPPINGS, TABLE_ORDER } from '../../lib/mapping';
import type { HealthReading } from '../../activities';
import { startHealthGuard } from '../health-guard';
import { required, type RunState } from '../run-state';
import type { Phase } from './phase';

/** Workflows started before it decided what to drop from the preflight fingerprint (kept for their replay). */
export const SCHEMA_UNDO_OWN_TABLES = 'schema-undo-own-tables';
/** Runs started before the ownership registry (docs/security.md "Source files and keys belong to their user") skip it on replay. */
export const OWNERSHIP_REGISTRY = 'ownership-registry';

/**
 * The tables the undo may drop. Patched path: what ensureSchema itself reported as created, under
 * the schema lock (none if it never reported: tables left empty are harmless, another run's are
 * not). Old path: every table missing at preflight — which wrongly includes tables another run
 * created between our preflight and our schema step.
 */
function tablesToDrop(run: RunState): string[] {
  if (run.createdTables !== null) return run.createdTables;
  const existed = new Set(Object.keys(required(run.before, 'before').tables));
  return TABLE_ORDER.flatMap((t) => [`public.${MAPPINGS[t].targetTable}`, `public.${MAPPINGS[t].bridgeTable}`]).filter(
    (t) => !existed.has(t),
  );
}

export const schemaPhase: Phase = {
  name: 'schema',
  inDryRun: false,
  undo: ({ run, acts }) => {
    const { cfg, runId } = run;
    return [
      { name: 'releaseLease', run: () => acts.compensations.releaseLease({ target: cfg.target, runId }) },
      {
        name: 'unregisterOwnership',
        run: async () => {
          if (run.ownershipRegistered) await acts.compensations.unregisterOwnership({ target: cfg.target, runId });
        },
      },
      // Decided when the compensation runs (after the step recorded what it created).
      {
        name: 'dropCreatedTables',
        run: () => acts.compensations.dropCreatedTables({ target: cfg.target, tables: tablesToDrop(run), runId }),
      },
    ];
  },
  undoneBy:
    'releaseLease, unregisterOwnership (the key check and file fingerprints this run recorded), dropCreatedTables (tables this run created and nothing else uses)',
  proves: 'the run holds the lease (no other run of this user can write); the health baseline is measured',
  async step(ctx) {
    const { run, acts } = ctx;
    const { cfg, runId } = run;
    const own = patched(SCHEMA_UNDO_OWN_TABLES);
    if (own) run.createdTables = [];
    const schema = await acts.bookkeeping.ensureSchema({ target: cfg.target, runId });
    if (own) run.createdTables = schema.created;
    run.loggingReady = true;
    try {
      await acts.bookkeeping.acquireLease({ target: cfg.target, runId, userId: cfg.userId });
    } catch (err) {
      // Another run of this user holds the lease. This run wrote nothing of its own (the tables
      // ensureSchema made IF NOT EXISTS are the holder's as much as ours), so it must not compensate:
      // its dropCreatedTables would drop the holder's still-empty tables and its fingerprint proof
      // would compare rows the holder is writing (found by the fault suite's concurrent-runs case).
      if (err instanceof ActivityFailure && err.cause instanceof ApplicationFailure && err.cause.type === 'LeaseLost')
        run.leaseRefused = true;
      throw err;
    }
    if (patched(OWNERSHIP_REGISTRY)) {
      // Checked again and recorded under one lock, now that the control tables exist.
      run.ownershipRegistered = true;
      const proof = await acts.bookkeeping.registerOwnership({
        target: cfg.target,
        runId,
        userId: cfg.userId,
        keyring: cfg.keyring,
        source: cfg.source,
        override: cfg.sourceOwnershipUnverified,
      });
      await ctx.log(
        'preflight',
        'info',
        proof.source === 'marker'
          ? `source ownership: the file's user marker names this user; key: ${proof.keyCheckMatched ? 'matches the recorded key check' : 'key check recorded'}, ${proof.targetEnvelopesOpened} existing envelope(s) opened`
          : `source ownership UNVERIFIED: the file has no user marker; accepted by the operator's override (${proof.overriddenBy === 'input' ? 'input sourceOwnershipUnverified' : 'worker config allowUnmarkedSources'})`,
      );
    }
    await acts.bookkeeping.recordBackups({ target: cfg.target, runId, userId: cfg.userId, backups: run.backups });
    const baselineMs = await acts.bookkeeping.measureBaseline({
      target: cfg.target,
      userId: cfg.userId,
      health: cfg.health,
    });
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
