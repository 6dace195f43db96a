// validation: per table, counts, whole-table checksums and a decrypting sample compare; then the
// foreign keys. No run completes unless this passed.
import { ApplicationFailure, inWorkflowContext, patched } from '@temporalio/workflow';
import type { TableValidation } from '../../activities';
import { TABLE_ORDER } from '../../lib/mapping';
import type { Phase } from './phase';

export const PARALLEL_VALIDATION = 'parallel-validation';

export const validationPhase: Phase = {
  name: 'validation',
  inDryRun: false,
  undo: () => [],
  undoneBy: 'nothing to undo: reads only',
  proves:
    'source rows = migrated + quarantined, checksums equal, the sample decrypts to the source values, no dangling reference',
  async step({ run, acts }) {
    const { cfg, runId, result } = run;
    const validate = (table: string) => {
      const t = result.tables[table]!;
      return acts.dataWork.validateTable({
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
    };
    const references = () => acts.bookkeeping.validateReferences({ target: cfg.target, userId: cfg.userId });
    let checks: TableValidation[];
    let refs: Awaited<ReturnType<typeof references>>;
    // Outside a workflow (the phase tests drive the step directly) the checks run as new runs take them.
    if (!inWorkflowContext() || patched(PARALLEL_VALIDATION)) {
      // The tables' digest aggregates and the reference check read different tables: side by side
      // they use more than one PostgreSQL backend (runs started before check them one by one).
      [checks, refs] = await Promise.all([Promise.all(TABLE_ORDER.map(validate)), references()]);
    } else {
      checks = [];
      for (const table of TABLE_ORDER) checks.push(await validate(table));
      refs = await references();
    }
    TABLE_ORDER.forEach((table, i) => {
      const t = result.tables[table]!;
      t.targetChecksum = checks[i]!.targetChecksum;
      t.sampled = checks[i]!.sampled;
    });
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
