// delta (online runs only): after the bulk copy, apply what the app changed meanwhile. Passes of
// logged changes (each one durable activity returning counts and the last sequence) repeat until
// one applies fewer than online.deltaThreshold changes, online.maxDeltaPasses ran, or the operator
// asked for the cut-over now (cutoverNow). The final pass, under the write freeze, is the cutover
// phase's (cutover.ts).
import type { DeltaPassResult } from '../../activities';
import { required } from '../run-state';
import type { Phase, PhaseContext } from './phase';

export const deltaPhase: Phase = {
  name: 'delta',
  inDryRun: false,
  undo: () => [],
  undoneBy:
    "transfer's removeRunRows: rows a delta pass inserts get bridge rows like chunk rows (created_row), and a delta deletes only rows this run created",
  proves: 'the target trails the source by fewer than deltaThreshold logged changes (or the passes ran out)',
  async step(ctx) {
    const { run } = ctx;
    const { cfg } = run;
    const online = required(run.online, 'online (capture phase)');
    for (let pass = 0; pass < cfg.online.maxDeltaPasses && !run.cutover.now; pass++) {
      const r = await deltaPass(ctx);
      if (r.changes < cfg.online.deltaThreshold) break;
    }
    await ctx.log('delta', 'info', `${online.passes} passes, ${online.changesApplied} changes`);
  },
};

/** One delta pass (not frozen): the changes logged after the last applied sequence, one bounded batch. */
export async function deltaPass({ run, acts }: PhaseContext): Promise<DeltaPassResult> {
  const online = required(run.online, 'online (capture phase)');
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
  return r;
}
