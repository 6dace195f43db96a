// delta (online runs only): after the bulk copy, apply what the app changed meanwhile. Passes of
// logged changes (each one durable activity returning counts and the last sequence) repeat until
// one applies fewer than online.deltaThreshold changes or online.maxDeltaPasses ran; then the final
// pass applies the rest while the source's writers wait (its write lock) and reports what
// validation must find: the source's rows, migrated, quarantined and checksum at that point.
import type { DeltaPassResult } from '../../activities';
import { required } from '../run-state';
import type { Phase, PhaseContext } from './phase';

export const deltaPhase: Phase = {
  name: 'delta',
  inDryRun: false,
  undo: () => [],
  undoneBy:
    "transfer's removeRunRows: rows a delta pass inserts get bridge rows like chunk rows (created_row), and a delta deletes only rows this run created",
  proves:
    'the target holds the source as it was under the final pass’s write lock; validation compares against exactly that state',
  async step(ctx) {
    const { run } = ctx;
    const { cfg } = run;
    const online = required(run.online, 'online (capture phase)');
    for (let pass = 0; pass < cfg.online.maxDeltaPasses; pass++) {
      const r = await deltaPass(ctx, false);
      if (r.changes < cfg.online.deltaThreshold) break;
    }
    const final = await deltaPass(ctx, true);
    online.freezeMs = final.freeze?.ms ?? null;
    online.freezeDrainMs = final.freeze?.drainMs ?? null;
    online.freezeStartedAtMs = final.freeze?.startedAtMs ?? null;
    online.freezeEndedAtMs = final.freeze?.endedAtMs ?? null;
    // Validation checks the target against the source at the freeze, not against the bulk copy's sums.
    for (const [table, e] of Object.entries(final.expected ?? {})) {
      const t = run.result.tables[table];
      if (!t) continue;
      Object.assign(t, {
        sourceRows: e.sourceRows,
        migrated: e.migrated,
        quarantined: e.quarantined,
        checksum: e.checksum,
      });
    }
    await ctx.log(
      'delta',
      'info',
      `${online.passes} passes, ${online.changesApplied} changes, freeze ${Math.round(online.freezeMs ?? 0)} ms`,
    );
  },
};

async function deltaPass({ run, acts }: PhaseContext, freeze: boolean): Promise<DeltaPassResult> {
  const online = required(run.online, 'online (capture phase)');
  const r = await acts.dataWork.applyDeltaPass({
    runId: run.runId,
    source: run.cfg.source,
    target: run.cfg.target,
    keyring: run.cfg.keyring,
    userId: run.cfg.userId,
    asOfSeconds: run.asOfSeconds,
    afterSeq: online.lastSeq,
    freeze,
  });
  online.lastSeq = r.lastSeq;
  online.passes += 1;
  online.changesApplied += r.changes;
  return r;
}
