// backup: before anything changes, a verified backup of the source file, the target's verified
// full backup of this window (shared by every run of the target: taken once, by the rollout or by
// the first run that finds none recent), and a pre-image of exactly the rows this run can change
// (its user's rows of the mapped and bridge tables), verified by re-reading it.
// Runs started before patch 'backups-scale' replay the old sequence (a full dump per run).
import { patched } from '@temporalio/workflow';
import { required } from '../run-state';
import type { Phase, PhaseContext } from './phase';

export const BACKUPS_SCALE = 'backups-scale';
export const PARALLEL_BACKUPS = 'parallel-backups';

export const backupPhase: Phase = {
  name: 'backup',
  inDryRun: false,
  undo: () => [],
  undoneBy:
    'nothing to undo in the target: backups are files kept for the runbook (pruned by `migrator backups prune`)',
  proves:
    'source verified (integrity_check + sha256); a verified full backup of the target within its window (scratch restore, or pg_restore --list + sha256 + size without a scratch server); this user’s pre-image verified by re-reading (row counts + sha256) before the target is touched',
  async step(ctx) {
    if (patched(BACKUPS_SCALE)) await scaledBackups(ctx, patched(PARALLEL_BACKUPS));
    else await legacyBackups(ctx);
  },
};

/** The source, the window's shared full backup, this run's pre-image (what patch 'backups-scale' runs). */
export async function scaledBackups({ run, acts }: PhaseContext, parallel: boolean): Promise<void> {
  const { cfg, runId } = run;
  // The source copy and the target's full backup share nothing: runs started with patch
  // 'parallel-backups' take them side by side (one reads the SQLite file, the other waits on
  // pg_dump), earlier runs replay them one after the other.
  const [source, full] = parallel
    ? await both(
        acts.dataWork.backupSource({ runId, source: cfg.source }),
        acts.dataWork.ensureFullBackup({ runId, target: cfg.target }),
      )
    : [
        await acts.dataWork.backupSource({ runId, source: cfg.source }),
        await acts.dataWork.ensureFullBackup({ runId, target: cfg.target }),
      ];
  // The pre-image names the full backup the run relies on: retention keeps it while the run does.
  const preImage = await acts.dataWork.backupPreImage({
    runId,
    target: cfg.target,
    userId: cfg.userId,
    fullBackupId: full.backupId,
  });
  run.backups = [source, full, preImage];
  summarize(run);
}

async function legacyBackups({ run, acts }: PhaseContext): Promise<void> {
  const { cfg, runId } = run;
  const serverMajor = required(required(run.preflight, 'preflight').target, 'preflight.target').serverMajor;
  run.backups = [
    await acts.dataWork.backupSource({ runId, source: cfg.source }),
    await acts.dataWork.backupTarget({ runId, target: cfg.target, serverMajor }),
  ];
  summarize(run);
}

/** Both results; when one fails, its error once the other has settled too (no backup left running behind a failed phase). */
async function both<A, B>(a: Promise<A>, b: Promise<B>): Promise<[A, B]> {
  const [ra, rb] = await Promise.allSettled([a, b]);
  if (ra.status === 'rejected') throw ra.reason;
  if (rb.status === 'rejected') throw rb.reason;
  return [ra.value, rb.value];
}

function summarize(run: PhaseContext['run']): void {
  run.result.backups = run.backups.map(({ backupId, kind, bytes, sha256, verified }) => ({
    backupId,
    kind,
    bytes,
    sha256,
    verified,
  }));
}
