// validation: per table, counts, whole-table checksums and a decrypting sample compare; then the
// foreign keys. No run completes unless this passed.
import { ApplicationFailure } from '@temporalio/workflow';
import type { TableValidation } from '../../activities';
import { TABLE_ORDER } from '../../lib/mapping';
import type { Phase } from './phase';

export const validationPhase: Phase = {
  name: 'validation',
  inDryRun: false,
  undo: () => [],
  undoneBy: 'nothing to undo: reads only',
  proves:
    'source rows = migrated + quarantined, checksums equal, the sample decrypts to the source values, no dangling reference',
  async step({ run, acts }) {
    const { cfg, runId, result } = run;
    const checks: TableValidation[] = [];
    for (const table of TABLE_ORDER) {
      const t = result.tables[table]!;
      const check = await acts.dataWork.validateTable({
        runId,
        source: cfg.source,
        target: cfg.target,
        keyring: cfg.keyring,
        userId: cfg.userId,
        table,
        asOfSeconds: run.asOfSeconds,
        sampleSize: cfg.sampleSize,
        expected: { sourceRows: t.sourceRows, migrated: t.migrated, quarantined: t.quarantined, checksum: t.checksum },
        // Online: the app kept writing after the freeze; the sample skips rows it changed since.
        ...(run.online ? { changedAfterSeq: run.online.lastSeq } : {}),
      });
      checks.push(check);
      t.targetChecksum = check.targetChecksum;
      t.sampled = check.sampled;
    }
    const refs = await acts.bookkeeping.validateReferences({ target: cfg.target, userId: cfg.userId });
    const dangling = Object.entries(refs.dangling).filter(([, n]) => n > 0);
    result.validation = {
      ok: checks.every((c) => c.ok) && refs.ok,
      failures: [...checks.flatMap((c) => c.failures), ...dangling.map(([r, n]) => `${n} dangling ${r}`)],
      dangling: refs.dangling,
    };
    if (!result.validation.ok) {
      throw ApplicationFailure.create({
        type: 'ValidationFailed',
        nonRetryable: true,
        message: `validation failed: ${result.validation.failures.slice(0, 5).join('; ')}`,
        details: [result.validation],
      });
    }
  },
};
