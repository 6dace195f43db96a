// post-migration: the indexes the app needs after the load, ANALYZE, this user's bridge rows
// archived out of the hot tables, the temporary indexes dropped, the lease released.
import type { Phase } from './phase';

export const postMigrationPhase: Phase = {
  name: 'post-migration',
  inDryRun: false,
  // A health trigger in the soak that follows can still roll the run back; what this phase did is
  // undone by the compensations already on the stack, so it pushes none of its own.
  undo: () => [],
  undoneBy:
    'removeRunRows also deletes rows whose bridge rows were archived; dropRunIndexes drops the post-migration indexes this run recorded; ' +
    'dropping the temporary indexes and ANALYZE need no undo (the first removes only what this run built, the second changes statistics only); ' +
    'the rollback releases the lease first in any case',
  proves: 'the post-migration indexes are valid; no bridge row of this user is left in the hot tables',
  async step({ run, acts }) {
    const { cfg, runId, result } = run;
    const built = await acts.dataWork.buildIndexes({ target: cfg.target, runId, set: 'post-migration' });
    result.indexes.created.push(...built.created);
    await acts.bookkeeping.analyzeTargets({ target: cfg.target });
    result.archivedBridgeRows = await acts.bookkeeping.archiveBridge({ target: cfg.target, userId: cfg.userId });
    result.indexes.temporaryDropped = await acts.dataWork.dropIndexes({ target: cfg.target, set: 'temporary' });
    await acts.bookkeeping.releaseLease({ target: cfg.target, runId });
  },
};
