// post-migration: the indexes the app needs after the load, ANALYZE, this user's bridge rows
// archived out of the hot tables (the run takes over rows earlier runs left: it validated them),
// the temporary indexes left (dropped when no other run uses them), the lease released.
import type { Phase } from './phase';

export const postMigrationPhase: Phase = {
  name: 'post-migration',
  inDryRun: false,
  // A health trigger in the soak that follows can still roll the run back; what this phase did is
  // undone by the compensations already on the stack, so it pushes none of its own.
  undo: () => [],
  undoneBy:
    'removeRunRows also deletes rows whose bridge rows were archived; dropRunIndexes drops the post-migration indexes this run recorded; ' +
    'dropping the temporary indexes and ANALYZE need no undo (the first drops only indexes no other run uses, the second changes statistics only); ' +
    'removeRunRows hands rows taken over from earlier runs back to them; ' +
    'the rollback releases the lease first in any case',
  proves: 'the post-migration indexes are valid; no bridge row of this user is left in the hot tables',
  async step({ run, acts }) {
    const { cfg, runId, result } = run;
    const built = await acts.dataWork.buildIndexes({ target: cfg.target, runId, set: 'post-migration' });
    result.indexes.created.push(...built.created);
    await acts.bookkeeping.analyzeTargets({ target: cfg.target });
    result.archivedBridgeRows = await acts.bookkeeping.archiveBridge({ target: cfg.target, userId: cfg.userId, runId });
    result.indexes.temporaryDropped = await acts.dataWork.dropIndexes({ target: cfg.target, set: 'temporary', runId });
    await acts.bookkeeping.releaseLease({ target: cfg.target, runId });
  },
};
