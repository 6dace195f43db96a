// The delta passes' stop rules beyond deltaThreshold (lib/catch-up.ts): the catch-up estimate
// (pending at the freeze vs what the cut-over applies in its budget) and not converging.
import { describe, expect, it } from 'vitest';
import { catchUpDecision, initialCatchUp, type CatchUpLimits, type CatchUpState } from '../../lib/catch-up';
import { CATCH_UP_SAFETY_FACTOR, DELTA_MAX_CHANGES_PER_PASS } from '../../lib/defaults';

const limits: CatchUpLimits = {
  maxFinalChanges: 2_000,
  budgetMs: 2_000,
  estimate: true,
  stallPasses: 3,
  maxChangesPerPass: DELTA_MAX_CHANGES_PER_PASS,
};

describe('catch-up estimate', () => {
  it('stops when the changes expected at the freeze fit (with the safety factor) into the cut-over', () => {
    // 3,000 changes logged over a 300 s copy (10/s); the pass took 1 s: ~10 pending, apply rate 3/ms.
    const d = catchUpDecision(
      initialCatchUp(),
      { changes: 3_000, sinceLastReadMs: 300_000, durationMs: 1_000 },
      limits,
    );
    expect(d.pendingEstimate).toBeCloseTo(10);
    expect(d.capacity).toBe(2_000); // min(maxFinalChanges, 3/ms x 2,000 ms = 6,000)
    expect(d.stop).toBe(true);
    expect(d.reason).toMatch(/^catch-up: ~10 changes expected at the freeze/);
  });

  it('goes on while the app writes faster than the cut-over could drain what piles up during a pass', () => {
    // 1,000 changes in the 1.2 s since the last read, the pass took 1 s: ~833 pending; capacity
    // min(2,000, 1/ms x 2,000 ms) = 2,000; 2 x 833 <= 2,000 stops…
    const fits = catchUpDecision(
      initialCatchUp(),
      { changes: 1_000, sinceLastReadMs: 1_200, durationMs: 1_000 },
      limits,
    );
    expect(fits.stop).toBe(true);
    // …but a cut-over limited to 1,500 changes cannot take 2 x 833.
    const over = catchUpDecision(
      initialCatchUp(),
      { changes: 1_000, sinceLastReadMs: 1_200, durationMs: 1_000 },
      { ...limits, maxFinalChanges: 1_500 },
    );
    expect(over.stop).toBe(false);
    expect(CATCH_UP_SAFETY_FACTOR * over.pendingEstimate!).toBeGreaterThan(over.capacity!);
  });

  it('is bounded by the measured apply rate x budget: a slow pass keeps the passes going', () => {
    // 400 changes took 4 s to apply (0.1/ms): 200 in a 2 s budget; ~320 expected pending.
    const d = catchUpDecision(initialCatchUp(), { changes: 400, sinceLastReadMs: 5_000, durationMs: 4_000 }, limits);
    expect(d.capacity).toBeCloseTo(200);
    expect(d.pendingEstimate).toBeCloseTo(320);
    expect(d.stop).toBe(false);
  });

  it('never stops on a pass cut short at the per-pass limit (the backlog behind it is unknown), nor counts it as a stall', () => {
    const state: CatchUpState = { fewest: 10, stalled: 2 };
    const d = catchUpDecision(
      state,
      { changes: DELTA_MAX_CHANGES_PER_PASS, sinceLastReadMs: 600_000, durationMs: 100 },
      limits,
    );
    expect(d.stop).toBe(false);
    expect(d.state).toEqual(state);
  });

  it('off (online.catchUpEstimate false): only deltaThreshold, the stall rule and maxDeltaPasses stop the passes', () => {
    const d = catchUpDecision(
      initialCatchUp(),
      { changes: 3_000, sinceLastReadMs: 300_000, durationMs: 1_000 },
      { ...limits, estimate: false },
    );
    expect(d.stop).toBe(false);
  });
});

describe('not converging', () => {
  // Passes that the estimate never stops (capacity too small), so the stall rule alone decides.
  const slow = { ...limits, maxFinalChanges: 1 };
  const run = (changes: number[], l: CatchUpLimits = slow) => {
    let state = initialCatchUp();
    const out: boolean[] = [];
    for (const c of changes) {
      const d = catchUpDecision(state, { changes: c, sinceLastReadMs: 1_000, durationMs: 1_000 }, l);
      state = d.state;
      out.push(d.stop);
    }
    return { out, state };
  };

  it('stops after stallPasses passes in a row that found no fewer changes than the fewest so far', () => {
    const { out, state } = run([900, 700, 720, 700, 710]);
    expect(out).toEqual([false, false, false, false, true]);
    expect(state).toEqual({ fewest: 700, stalled: 3 });
  });

  it('a pass that finds fewer resets the count: shrinking passes go on', () => {
    expect(run([900, 950, 960, 800, 820, 830, 790]).out).toEqual([false, false, false, false, false, false, false]);
  });

  it('stallPasses 0: never stops for that reason', () => {
    expect(run([500, 500, 500, 500, 500, 500], { ...slow, stallPasses: 0 }).out.some(Boolean)).toBe(false);
  });

  it('reports why', () => {
    let state = initialCatchUp();
    let last = null as ReturnType<typeof catchUpDecision> | null;
    for (const c of [300, 300, 300, 300]) {
      last = catchUpDecision(state, { changes: c, sinceLastReadMs: 1_000, durationMs: 1_000 }, slow);
      state = last.state;
    }
    expect(last!.reason).toBe('not converging: 3 passes in a row found no fewer than 300 changes');
  });
});
