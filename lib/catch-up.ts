// Online mode: when to stop the delta passes before one is below online.deltaThreshold (pure; the
// delta phase, workflows/phases/delta.ts, calls it after every pass).
//
// The catch-up estimate. A pass reads the log once, at its start, and applies what the app logged
// since the previous pass read it. So after pass i, which found `changes` logged over
// `sinceLastReadMs` (start of the previous pass, or of the bulk copy, to the start of this one) and
// ran for `durationMs`:
//   write rate  w = changes / sinceLastReadMs   (the app's, as the log saw it; throttled time included)
//   pending now p = w x durationMs              (logged while this pass ran: what the final pass finds)
//   apply rate  a = changes / durationMs        (this pass's; its fixed costs make it an underestimate)
//   capacity    C = min(cutover.maxFinalChanges, a x cutover.budgetMs)
// and the passes stop when CATCH_UP_SAFETY_FACTOR x p <= C: the cut-over can apply what will be
// pending within half its budget and under its change limit, so another pass would only move the
// same small backlog. A pass that hit DELTA_MAX_CHANGES_PER_PASS left an unknown backlog behind: it
// never stops the passes and is not counted below.
//
// Not converging. A pass that finds no fewer changes than the fewest an earlier pass found made no
// progress (the app writes as fast as the passes drain); after `stallPasses` of them in a row the
// passes stop and the cut-over attempts decide (they retry, catch up, and hold for the operator),
// instead of looping to maxDeltaPasses.
import { CATCH_UP_SAFETY_FACTOR } from './defaults';

export interface PassSample {
  /** Logged changes the pass applied (before coalescing). */
  changes: number;
  /** From the previous log read (the previous pass's start, or the bulk copy's) to this pass's start. */
  sinceLastReadMs: number;
  /** The pass's own duration (the activity, scheduled to completed). */
  durationMs: number;
}

export interface CatchUpLimits {
  maxFinalChanges: number;
  budgetMs: number;
  /** Use the estimate (online.catchUpEstimate). */
  estimate: boolean;
  /** Passes in a row without progress before stopping (online.stallPasses); 0: never. */
  stallPasses: number;
  /** A pass that applied this many changes was cut short (DELTA_MAX_CHANGES_PER_PASS). */
  maxChangesPerPass: number;
}

/** Carried from pass to pass. */
export interface CatchUpState {
  /** The fewest changes a (complete) pass found so far; null before the first. */
  fewest: number | null;
  /** Passes in a row that found no fewer than `fewest`. */
  stalled: number;
}

export const initialCatchUp = (): CatchUpState => ({ fewest: null, stalled: 0 });

export interface CatchUpDecision {
  stop: boolean;
  /** Why the passes stop (for the log), or null. */
  reason: string | null;
  /** The estimate behind it (null when the pass was cut short or the sample is unusable). */
  pendingEstimate: number | null;
  capacity: number | null;
  state: CatchUpState;
}

export function catchUpDecision(state: CatchUpState, pass: PassSample, limits: CatchUpLimits): CatchUpDecision {
  const keep = (s: CatchUpState, pendingEstimate: number | null = null, capacity: number | null = null) => ({
    stop: false,
    reason: null,
    pendingEstimate,
    capacity,
    state: s,
  });
  if (pass.changes >= limits.maxChangesPerPass) return keep(state);
  let pendingEstimate: number | null = null;
  let capacity: number | null = null;
  if (pass.sinceLastReadMs > 0 && pass.durationMs > 0) {
    pendingEstimate = (pass.changes * pass.durationMs) / pass.sinceLastReadMs;
    capacity = Math.min(limits.maxFinalChanges, (pass.changes * limits.budgetMs) / pass.durationMs);
    if (limits.estimate && CATCH_UP_SAFETY_FACTOR * pendingEstimate <= capacity)
      return {
        stop: true,
        reason: `catch-up: ~${Math.ceil(pendingEstimate)} changes expected at the freeze, within what the cut-over applies (${Math.floor(capacity)} in ${limits.budgetMs} ms)`,
        pendingEstimate,
        capacity,
        state,
      };
  }
  const progress = state.fewest === null || pass.changes < state.fewest;
  const next: CatchUpState = {
    fewest: progress ? pass.changes : state.fewest,
    stalled: progress ? 0 : state.stalled + 1,
  };
  if (limits.stallPasses > 0 && next.stalled >= limits.stallPasses)
    return {
      stop: true,
      reason: `not converging: ${next.stalled} passes in a row found no fewer than ${next.fewest} changes`,
      pendingEstimate,
      capacity,
      state: next,
    };
  return keep(next, pendingEstimate, capacity);
}
