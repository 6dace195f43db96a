// cutover (online runs only, after delta): the brief write freeze that ends the online copy. One
// attempt (activities/cutover.ts) freezes the app's writes through the named hook with an expiry of
// now + budget, applies the rest of the change log under the source's write lock, validates the
// tail it touched, calls the switch hook when one is named (the app uses the target from then on),
// and unfreezes. An attempt over the budget (or with too much pending, or whose switch failed)
// unfreezes, catches up with delta passes, waits retryDelayMs and tries again, up to maxAttempts;
// then the cut-over is held for the operator (delta passes keep the target close meanwhile):
// cutoverNow starts another round of maxAttempts, abort rolls back. The operator can also postpone
// the cut-over (postponeCutover) or start it now (cutoverNow).
import { condition } from '@temporalio/workflow';
import { CUTOVER_POSTPONED_PASS_INTERVAL_MS } from '../../lib/defaults';
import type { CutoverAttemptResult } from '../../activities';
import { required, type RunState } from '../run-state';
import { deltaPass } from './delta';
import { checkQuarantine } from './transfer';
import type { Phase, PhaseContext } from './phase';

export const cutoverPhase: Phase = {
  name: 'cutover',
  inDryRun: false,
  // The attempt unfreezes on every path it lives through; this covers the one it does not (an abort
  // whose attempt was lost with its worker). Unfreezing an unfrozen app is a no-op. A switched app
  // (rollback during the soak, or an attempt lost after its switch) goes back to the source first:
  // the saga runs these in reverse, so unswitchApp, then unfreezeWrites, then (transfer's) removeRunRows.
  undo: ({ run, acts }) => {
    const { freezeHook, switchHook } = run.cfg.online.cutover;
    return [
      ...(freezeHook === undefined
        ? []
        : [{ name: 'unfreezeWrites', run: () => acts.compensations.unfreezeWrites(freezeHook, run.runId) }]),
      ...(switchHook === undefined
        ? []
        : [{ name: 'unswitchApp', run: () => acts.compensations.unswitchApp(switchHook, run.runId) }]),
    ];
  },
  undoneBy:
    "unswitchApp and unfreezeWrites for the app; the target rows the final pass wrote are transfer's removeRunRows (bridge rows like chunk rows)",
  proves:
    'the target holds the source as it was under the final pass’s write lock, the rows it touched compared decrypted; the app was frozen at most budgetMs per attempt',
  async step(ctx) {
    const { run } = ctx;
    const { cutover } = run.cfg.online;
    const online = required(run.online, 'online (capture phase)');
    online.attempts = [];
    online.budgetMs = cutover.budgetMs;
    online.freezeHook = cutover.freezeHook ?? null;
    if (cutover.switchHook !== undefined) online.switchHook = cutover.switchHook;
    for (let attempt = 1; ; attempt++) {
      await holdWhilePostponed(ctx);
      run.cutover.now = false;
      const r = await attemptOnce(ctx);
      run.cutover.attempts = attempt;
      if (r.outcome === 'done') return finish(ctx, r);
      await ctx.log(
        'cutover',
        'info',
        `attempt ${attempt}: ${r.outcome} (${Math.round(r.windowMs)} ms, ${r.pending} pending)`,
      );
      // Catch up while the app writes again.
      await catchUp(ctx);
      if (attempt % cutover.maxAttempts === 0) await holdForOperator(ctx, attempt);
      // Wait before the next attempt (unless the operator says now).
      else await condition(() => run.cutover.now, cutover.retryDelayMs);
    }
  },
};

/** maxAttempts attempts failed: wait for cutoverNow (another round) or abort, delta passes keeping the target close. */
async function holdForOperator(ctx: PhaseContext, attempts: number): Promise<void> {
  const { run } = ctx;
  const online = required(run.online, 'online (capture phase)');
  const last = online.attempts!.slice(-run.cfg.online.cutover.maxAttempts);
  const windows = last.map((a) => `${a.outcome} ${Math.round(a.windowMs)} ms`).join(', ');
  run.cutover.held = `held after ${attempts} attempts (budget ${run.cfg.online.cutover.budgetMs} ms; ${windows})`;
  await ctx.log('cutover', 'info', `cutover: ${run.cutover.held}; waiting for cutoverNow or abort`);
  await passesUntil(ctx, () => run.cutover.now);
  run.cutover.held = null;
}

/** Delta passes every CUTOVER_POSTPONED_PASS_INTERVAL_MS until `released` (an abort cancels the wait). */
async function passesUntil(ctx: PhaseContext, released: () => boolean): Promise<void> {
  while (!released()) {
    if (!(await condition(released, CUTOVER_POSTPONED_PASS_INTERVAL_MS))) await deltaPass(ctx);
  }
}

async function attemptOnce({ run, acts }: PhaseContext): Promise<CutoverAttemptResult> {
  const online = required(run.online, 'online (capture phase)');
  const { cutover } = run.cfg.online;
  const r = await acts.cutover.cutoverAttempt({
    runId: run.runId,
    source: run.cfg.source,
    target: run.cfg.target,
    keyring: run.cfg.keyring,
    userId: run.cfg.userId,
    asOfSeconds: run.asOfSeconds,
    afterSeq: online.lastSeq,
    ...(cutover.freezeHook === undefined ? {} : { freezeHook: cutover.freezeHook }),
    ...(cutover.switchHook === undefined ? {} : { switchHook: cutover.switchHook }),
    budgetMs: cutover.budgetMs,
    maxFinalChanges: cutover.maxFinalChanges,
  });
  online.lastSeq = r.lastSeq;
  online.changesApplied += r.changes;
  if (r.outcome !== 'delta-too-big') online.passes += 1;
  online.attempts!.push({
    outcome: r.outcome,
    windowMs: r.windowMs,
    pending: r.pending,
    changes: r.changes,
    tailRows: r.tailRows,
  });
  return r;
}

/** Delta passes until one is below the threshold (at most maxDeltaPasses, at least one). */
async function catchUp(ctx: PhaseContext): Promise<void> {
  const { online } = ctx.run.cfg;
  for (let pass = 0; pass < Math.max(1, online.maxDeltaPasses); pass++) {
    const r = await deltaPass(ctx);
    if (r.changes < online.deltaThreshold || ctx.run.cutover.now) break;
  }
}

/** postponeCutover: delta passes now and then keep the target close until cutoverNow (or resume). */
async function holdWhilePostponed(ctx: PhaseContext): Promise<void> {
  await passesUntil(ctx, () => !ctx.run.cutover.postponed);
}

async function finish({ run, log }: PhaseContext, r: CutoverAttemptResult): Promise<void> {
  const online = required(run.online, 'online (capture phase)');
  online.freezeMs = r.windowMs;
  online.freezeDrainMs = r.drainMs;
  online.freezeStartedAtMs = r.startedAtMs;
  online.freezeEndedAtMs = r.endedAtMs;
  if (r.switchedAtMs != null) online.switchedAtMs = r.switchedAtMs;
  run.cutover.done = true;
  applyExpected(run, r);
  await log(
    'cutover',
    'info',
    `${online.attempts!.length} attempt(s); write freeze ${Math.round(r.windowMs)} ms (budget ${run.cfg.online.cutover.budgetMs} ms); ${r.changes} changes, ${r.tailRows} rows tail-validated`,
  );
}

/** Validation checks the target against the source at the freeze, not against the bulk copy's sums. */
function applyExpected(run: RunState, r: CutoverAttemptResult): void {
  for (const [table, e] of Object.entries(r.expected ?? {})) {
    const t = run.result.tables[table];
    if (!t) continue;
    Object.assign(t, {
      sourceRows: e.sourceRows,
      migrated: e.migrated,
      quarantined: e.quarantined,
      checksum: e.checksum,
    });
    checkQuarantine(run, table, t);
  }
}
