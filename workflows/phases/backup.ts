// backup: verified backups of the source file and the target before anything changes.
import { required } from '../run-state';
import type { Phase } from './phase';

export const backupPhase: Phase = {
  name: 'backup',
  inDryRun: false,
  undo: () => [],
  undoneBy: 'nothing to undo in the target: backups are files kept for the runbook (pruned by retention)',
  proves:
    'each backup verified (source: integrity_check + sha256; target: pg_restore --list + scratch restore) before the target is touched',
  async step({ run, acts }) {
    const { cfg, runId } = run;
    const serverMajor = required(required(run.preflight, 'preflight').target, 'preflight.target').serverMajor;
    run.backups = [
      await acts.dataWork.backupSource({ runId, source: cfg.source }),
      await acts.dataWork.backupTarget({ runId, target: cfg.target, serverMajor }),
    ];
    run.result.backups = run.backups.map(({ backupId, kind, bytes, sha256, verified }) => ({
      backupId,
      kind,
      bytes,
      sha256,
      verified,
    }));
  },
};
