// cutover (online runs only, after delta): the brief write freeze that ends the online copy. One
// attempt (activities/cutover.ts) freezes the app's writes through the named hook with an expiry of
// now + budget, applies the rest of the change log under the source's write lock, validates the
// tail it touched, and unfreezes. An attempt over the budget (or with too much pending) unfreezes,
// catches up with delta passes, waits retryDelayMs and tries again, up to maxAttempts; then the run
// fails with CutoverBudgetExceeded and rolls back. The operator can postpone the cut-over
// (postponeCutover: delta passes keep the target close meanwhile) or start it now (cutoverNow).
import { condition } from '@temporalio/workflow';
import { CUTOVER_POSTPONED_PASS_INTERVAL_MS } from '../../lib/defaults';
import { CutoverBudgetExceededError } from '../../lib/errors';
import { toApplicationFailure } from '../../lib/failures';
import type { CutoverAttemptResult } from '../../activities';
import { required, type RunState } from '../run-state';
import { deltaPass } from './delta';
import { checkQuarantine } from './transfer';
import type { Phase, PhaseContext } from './phase';

export const cutoverPhase: Phase = {
  name: 'cutover',
  inDryRun: false,
  // The attempt unfreezes on every path it lives through; this covers the one it does not (an abort
  // whose attempt was lost with its worker). Unfreezing an unfrozen app is a no-op.
  undo: ({ run, acts }) => {
    const hook = run.cfg.online.cutover.freezeHook;
    if (hook === undefined) return [];
    return [{ name: 'unfreezeWrites', run: () => acts.compensations.unfreezeWrites(hook, run.runId) }];
  },
  undoneBy:
    "unfreezeWrites for the app; the target rows the final pass wrote are transfer's removeRunRows (bridge rows like chunk rows)",
  proves:
    'the target holds the source as it was under the final pass’s write lock, the rows it touched compared decrypted; the app was frozen at most budgetMs per attempt',
  async step(ctx) {
    const { run } = ctx;
    const { cutover } = run.cfg.online;
    const online = required(run.online, 'online (capture phase)');
    online.attempts = [];
    online.budgetMs = cutover.budgetMs;
    online.freezeHook = cutover.freezeHook ?? null;
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
      if (attempt >= cutover.maxAttempts) {
        const windows = online.attempts.map((a) => `${a.outcome} ${Math.round(a.windowMs)} ms`).join(', ');
        throw toApplicationFailure(new CutoverBudgetExceededError(cutover.budgetMs, attempt, windows));
      }
      // Catch up while the app writes again, then wait (unless the operator says now).
      await catchUp(ctx);
      await condition(() => run.cutover.now, cutover.retryDelayMs);
    }
  },
};

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
  const { run } = ctx;
  while (run.cutover.postponed) {
    const released = await condition(() => !run.cutover.postponed, CUTOVER_POSTPONED_PASS_INTERVAL_MS);
    if (!released) await deltaPass(ctx);
  }
}

async function finish({ run, log }: PhaseContext, r: CutoverAttemptResult): Promise<void> {
  const online = required(run.online, 'online (capture phase)');
  online.freezeMs = r.windowMs;
  online.freezeDrainMs = r.drainMs;
  online.freezeStartedAtMs = r.startedAtMs;
  online.freezeEndedAtMs = r.endedAtMs;
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
