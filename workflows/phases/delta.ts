// delta (online runs only): after the bulk copy, apply what the app changed meanwhile. Passes of
// logged changes (each one durable activity returning counts and the last sequence) repeat until
// one applies fewer than online.deltaThreshold changes, online.maxDeltaPasses ran, or the operator
// asked for the cut-over now (cutoverNow); and (patch 'delta-converge') until the catch-up estimate
// says the cut-over can apply what will be pending, or the passes stop converging (lib/catch-up.ts).
// Every pass, here and the cut-over's catch-up passes, first waits on the copy's throttle (patch
// 'delta-throttle'). The final pass, under the write freeze, is the cutover phase's (cutover.ts).
import { patched } from '@temporalio/workflow';
import type { DeltaPassResult } from '../../activities';
import { catchUpDecision, initialCatchUp } from '../../lib/catch-up';
import { DELTA_MAX_CHANGES_PER_PASS } from '../../lib/defaults';
import { required } from '../run-state';
import { throttleGate } from '../throttle';
import type { Phase, PhaseContext } from './phase';

/** Patch: delta passes wait on the throttle (runs recorded before it never check the load there). */
export const DELTA_THROTTLE = 'delta-throttle';
/** Patch: the delta phase stops on the catch-up estimate or when not converging. */
export const DELTA_CONVERGE = 'delta-converge';

export const deltaPhase: Phase = {
  name: 'delta',
  inDryRun: false,
  undo: () => [],
  undoneBy:
    "transfer's removeRunRows: rows a delta pass inserts get bridge rows like chunk rows (created_row), and a delta deletes only rows this run created",
  proves:
    'the target trails the source by fewer than deltaThreshold logged changes, or by what the catch-up rate says the cut-over can apply (or the passes ran out or stopped converging)',
  async step(ctx) {
    const { run } = ctx;
    const { cfg } = run;
    const online = required(run.online, 'online (capture phase)');
    // Evaluated at the first pass above the threshold (the phase's lifecycle test runs this step
    // outside a workflow, without the copy's start: it never gets here).
    let converge: boolean | undefined;
    let state = initialCatchUp();
    // The first pass reads what the app logged since the bulk copy started (the capture's sequence).
    let lastReadAt = run.transferStartedAt;
    for (let pass = 0; pass < cfg.online.maxDeltaPasses && !run.cutover.now; pass++) {
      const r = await deltaPass(ctx);
      if (r.changes < cfg.online.deltaThreshold) break;
      if (lastReadAt === null || !(converge ??= patched(DELTA_CONVERGE))) continue;
      const d = catchUpDecision(
        state,
        { changes: r.changes, sinceLastReadMs: r.startedAtMs - lastReadAt, durationMs: r.durationMs },
        {
          maxFinalChanges: cfg.online.cutover.maxFinalChanges,
          budgetMs: cfg.online.cutover.budgetMs,
          estimate: cfg.online.catchUpEstimate,
          stallPasses: cfg.online.stallPasses,
          maxChangesPerPass: DELTA_MAX_CHANGES_PER_PASS,
        },
      );
      state = d.state;
      lastReadAt = r.startedAtMs;
      if (d.stop) {
        online.deltaStop = d.reason!;
        await ctx.log('delta', 'info', `stop after pass ${online.passes}: ${d.reason}`);
        break;
      }
    }
    await ctx.log('delta', 'info', `${online.passes} passes, ${online.changesApplied} changes`);
  },
};

/** A pass's result with its workflow-time start (after any throttle wait) and duration. */
export type TimedDeltaPass = DeltaPassResult & { startedAtMs: number; durationMs: number };

/** One delta pass (not frozen): the changes logged after the last applied sequence, one bounded batch. */
export async function deltaPass(ctx: PhaseContext): Promise<TimedDeltaPass> {
  const { run, acts } = ctx;
  const online = required(run.online, 'online (capture phase)');
  if (run.throttle && patched(DELTA_THROTTLE)) await throttleDeltaPass(ctx);
  const startedAtMs = Date.now();
  const r = await acts.dataWork.applyDeltaPass({
    runId: run.runId,
    source: run.cfg.source,
    target: run.cfg.target,
    keyring: run.cfg.keyring,
    userId: run.cfg.userId,
    asOfSeconds: run.asOfSeconds,
    afterSeq: online.lastSeq,
    freeze: false,
  });
  online.lastSeq = r.lastSeq;
  online.passes += 1;
  online.changesApplied += r.changes;
  return { ...r, startedAtMs, durationMs: Date.now() - startedAtMs };
}

/**
 * The copy's throttle before a delta pass: the same thresholds (run.throttle, the setThrottle Update
 * wakes the wait), the same gate (workflows/throttle.ts). The time waited goes to
 * result.online.throttledMs and the run's throttledMs; the reason to the progress query. This
 * workflow cannot continue as new: a throttled wait costs one reading per backoff (up to
 * maxBackoffMs) in its history, as the postponed cut-over's passes do.
 */
async function throttleDeltaPass({ run, acts }: PhaseContext): Promise<void> {
  const online = required(run.online, 'online (capture phase)');
  const track = (run.deltaThrottle ??= { throttledMs: 0, reason: null, lastCheckAt: null, wal: null });
  const ctl = {
    get thresholds() {
      return run.throttle;
    },
    get version() {
      return run.throttleVersion;
    },
  };
  const account = () => {
    const added = track.throttledMs - (online.throttledMs ?? 0);
    if (added <= 0) return;
    online.throttledMs = track.throttledMs;
    run.result.throttledMs = (run.result.throttledMs ?? 0) + added;
  };
  await throttleGate({
    ctl,
    track,
    check: (previousWal) =>
      acts.bookkeeping.checkLoad({
        target: run.cfg.target,
        userId: run.cfg.userId,
        health: run.cfg.health,
        probe: run.throttle?.maxProbeLatencyMs !== undefined,
        previousWal,
      }),
    maxChecks: Infinity,
    continueAsNew: false,
    report: (reason) => {
      account();
      run.progress.throttleReason = reason;
      return Promise.resolve();
    },
  });
  account();
}
