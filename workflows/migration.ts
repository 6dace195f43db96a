// migrationWorkflow: one user's source file into the target. A short driver over the phase list
// (workflows/phases/, one file per phase: its step, its undo and what it proves), as a saga:
// each phase's compensations go on the stack before its step runs; a failure, an operator abort,
// a cancellation or a health trigger unwinds the stack in a non-cancellable scope and proves the
// target equals its pre-run fingerprint (workflows/rollback.ts). Holds ids, counts and checksums only.
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  isCancellation,
  patched,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { addChecksums } from '../lib/checksum';
import { LEGACY_DEFAULT_CHUNK_ROWS } from '../lib/defaults';
import { innermost, toApplicationFailure } from '../lib/failures';
import { parseMigrationInput, type MigrationConfig, type MigrationInput } from '../lib/input';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { activitiesFor } from './activity-options';
import type { MigrationResult } from './definitions';
import { installOperatorControls, stopForward } from './operator-controls';
import { phasesFor, type Phase, type PhaseContext } from './phases';
import { soak } from './phases/soak';
import { rollBack } from './rollback';
import { newRunState } from './run-state';
import { Saga } from './saga';
import { MigrationPhase, MigrationStatus, MigrationTarget, MigrationUser } from './search-attributes';

const CHUNK_ROWS_5000 = 'chunk-rows-5000';

function parseInput(raw: MigrationInput): MigrationConfig {
  try {
    // Runs started before the trust boundary (env:/file: references, SQL and URLs in input) replay
    // with the lenient parse they started with; every new run gets the names-only schema.
    const cfg = parseMigrationInput(raw, { legacy: !patched('trust-boundary-input') });
    // The default chunk grew from 1,000 to 5,000 rows (measured: a third less transfer time, a
    // quarter of the history). Runs started before keep the size they planned with.
    if ((raw as { chunkRows?: unknown }).chunkRows === undefined && !patched(CHUNK_ROWS_5000))
      cfg.chunkRows = LEGACY_DEFAULT_CHUNK_ROWS;
    return cfg;
  } catch (err) {
    throw toApplicationFailure(err);
  }
}

export async function migrationWorkflow(raw: MigrationInput): Promise<MigrationResult> {
  const cfg = parseInput(raw);
  const info = workflowInfo();
  // Workflow time: identical on every replay.
  const run = newRunState(
    cfg,
    { workflowId: info.workflowId, runId: info.firstExecutionRunId },
    Math.floor(Date.now() / 1000),
  );
  const acts = activitiesFor(cfg.heartbeatTimeoutMs);
  const saga = new Saga();
  const forwardScope = new CancellationScope();
  const ctx: PhaseContext = {
    run,
    acts,
    log: async (phase, status, message = '') => {
      if (run.loggingReady)
        await acts.bookkeeping.logEvent({
          target: cfg.target,
          runId: run.runId,
          userId: cfg.userId,
          phase,
          status,
          message,
        });
    },
    stop: (reason, cause) => stopForward(run, forwardScope, reason, cause),
  };
  installOperatorControls(run, forwardScope);
  upsertSearchAttributes([
    { key: MigrationUser, value: cfg.userId },
    { key: MigrationTarget, value: cfg.target },
    { key: MigrationStatus, value: 'running' },
  ]);

  let failure: unknown = null;
  try {
    await forwardScope.run(async () => {
      for (const phase of phasesFor(cfg)) if (!cfg.dryRun || phase.inDryRun) await runPhase(ctx, saga, phase);
    });
    await soak(run, forwardScope);
  } catch (err) {
    failure = err;
  } finally {
    run.guard?.stop();
  }
  if (failure === null) return complete(ctx);

  const workflowCancelled = isCancellation(failure) && run.abort.reason === null;
  if (workflowCancelled) run.abort = { reason: 'workflow cancelled', cause: 'cancel' };
  const reason = run.abort.reason ?? innermost(failure);
  if (cfg.dryRun || saga.size === 0 || run.before === null || run.leaseRefused) {
    // Nothing was changed in the target (or nothing of this run's: another run holds the lease): nothing to roll back.
    upsertSearchAttributes([{ key: MigrationStatus, value: 'failed' }]);
    if (workflowCancelled || run.abort.reason === null) throw failure;
    throw ApplicationFailure.create({
      type: 'Aborted',
      nonRetryable: true,
      message: `${reason} (before any change to the target)`,
    });
  }
  const report = await CancellationScope.nonCancellable(() => rollBack(run, saga, acts, ctx.log, reason));
  if (report.failed.length || !report.fingerprintEqual) {
    const problems = [...report.failed.map((f) => `${f.step}: ${f.error}`), ...report.differences]
      .slice(0, 5)
      .join('; ');
    throw ApplicationFailure.create({
      type: 'ROLLBACK_FAILED',
      nonRetryable: true,
      message: `ROLLBACK_FAILED after "${reason}": ${problems}. Remaining: ${report.remaining.join('; ') || 'see differences'}. Runbook: ${report.runbook.join(' && ')}`,
      details: [report],
    });
  }
  if (workflowCancelled) throw failure;
  throw ApplicationFailure.create({
    type: 'RolledBack',
    nonRetryable: true,
    message: `rolled back after ${run.abort.cause}: ${reason}; target restored (fingerprint equal)`,
    details: [report],
  });
}

/** One phase: wait while paused, push its compensations, run its step, log and time it. */
async function runPhase(ctx: PhaseContext, saga: Saga, phase: Phase): Promise<void> {
  const { run } = ctx;
  await condition(() => !run.progress.paused);
  run.progress.phase = phase.name;
  upsertSearchAttributes([{ key: MigrationPhase, value: phase.name }]);
  const started = Date.now();
  await ctx.log(phase.name, 'started');
  for (const c of phase.undo(ctx)) saga.push(c.name, c.run);
  await phase.step(ctx);
  if (run.pendingMemo) {
    upsertMemo(run.pendingMemo); // only new runs set one (e.g. an unverified source): old histories replay unchanged
    run.pendingMemo = null;
  }
  run.progress.phaseDurationsMs[phase.name] = Date.now() - started;
  await ctx.log(phase.name, 'completed');
}

/** Every phase passed (and the soak): close the run's log and report. */
async function complete({ run, log }: PhaseContext): Promise<MigrationResult> {
  const { cfg, result } = run;
  run.progress.phase = 'completing'; // from here on an abort is refused: the run has passed every check
  const total = Object.values(result.tables).reduce((sum, t) => addChecksums(sum, t.checksum), '0000000000000000');
  const counts = TABLE_ORDER.map((t) => `${MAPPINGS[t].targetTable}=${result.tables[t]?.migrated ?? 0}`).join(' ');
  await log('run', 'closed', `completed; ${counts}; checksum ${total}`);
  run.progress.phase = cfg.dryRun ? 'dry-run' : 'completed';
  if (cfg.dryRun)
    result.validation.ok = TABLE_ORDER.every((t) => result.tables[t]!.read === result.tables[t]!.sourceRows);
  upsertSearchAttributes([
    { key: MigrationPhase, value: run.progress.phase },
    { key: MigrationStatus, value: run.progress.phase },
  ]);
  return result;
}
