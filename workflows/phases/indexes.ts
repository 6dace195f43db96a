// indexes: the critical indexes the app needs and the temporary ones the transfer and validation
// need, built CONCURRENTLY (INVALID leftovers of an interrupted build dropped and rebuilt).
import type { Phase } from './phase';

export const indexesPhase: Phase = {
  name: 'indexes',
  inDryRun: false,
  undo: ({ run, acts }) => [
    {
      name: 'dropRunIndexes',
      run: () => acts.compensations.dropRunIndexes({ target: run.cfg.target, runId: run.runId }),
    },
  ],
  undoneBy: 'dropRunIndexes (every index this run recorded before building it, and INVALID leftovers of its sets)',
  proves: 'every index of the critical and temporary sets exists and is valid',
  async step({ run, acts }) {
    for (const set of ['critical', 'temporary'] as const) {
      const r = await acts.dataWork.buildIndexes({ target: run.cfg.target, runId: run.runId, set });
      run.result.indexes.created.push(...r.created);
      run.result.indexes.rebuiltInvalid.push(...r.rebuiltInvalid);
    }
  },
};
