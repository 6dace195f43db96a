// The rollback: fence (release the lease), unwind the saga, then prove the target equals its
// pre-run fingerprint and nothing the run recorded as its own is left. Runs non-cancellable; a
// compensation that cannot finish, or a proof that fails, ends the run as ROLLBACK_FAILED with
// the manual runbook.
import { patched, upsertSearchAttributes } from '@temporalio/workflow';
import { diffFingerprints } from '../lib/fingerprint';
import { innermost } from '../lib/failures';
import type { ActivityStubs } from './activity-options';
import type { RollbackReport } from './definitions';
import { required, type RunState } from './run-state';
import type { Saga } from './saga';
import { MigrationPhase, MigrationStatus } from './search-attributes';

type Log = (phase: string, status: 'started' | 'completed' | 'failed', message?: string) => Promise<void>;

export async function rollBack(
  run: RunState,
  saga: Saga,
  acts: ActivityStubs,
  log: Log,
  why: string,
): Promise<RollbackReport> {
  const { cfg, runId } = run;
  const { compensations } = acts;
  setRunPhase(run, 'rolling-back');
  run.progress.paused = false;
  const notifyDetails = {
    workflowId: run.workflowId,
    runId,
    userId: cfg.userId,
    target: cfg.target,
    reason: why,
    cause: run.abort.cause,
  };
  await compensations
    .notify({ webhook: cfg.health.webhook, event: 'rollback-started', details: notifyDetails })
    .catch(() => undefined);
  await log('rollback', 'started', why).catch(() => undefined);
  // Fence first: once the lease is released no late chunk of this run can commit.
  await compensations.releaseLease({ target: cfg.target, runId }).catch(() => undefined);
  const { compensated, failed } = await saga.unwind();
  let differences: string[];
  try {
    differences = diffFingerprints(
      required(run.before, 'before'),
      await compensations.fingerprintTarget({ target: cfg.target, userId: cfg.userId }),
    );
  } catch (err) {
    failed.push({ step: 'fingerprintTarget', error: innermost(err) });
    differences = ['the target could not be fingerprinted after the rollback'];
  }
  // What this run recorded as its own and is still there (rows, indexes): must be nothing.
  // patched(): runs recorded before this check existed listed artifacts only after a failure.
  const listArtifacts = () =>
    compensations
      .runArtifacts({ target: cfg.target, runId, userId: cfg.userId })
      .catch((e: Error) => [`(could not list: ${innermost(e)})`]);
  const alwaysList = patched('rollback-always-lists-artifacts');
  const remaining = alwaysList || failed.length > 0 || differences.length > 0 ? await listArtifacts() : [];
  const ok = failed.length === 0 && differences.length === 0 && remaining.length === 0;
  const report: RollbackReport = {
    reason: why,
    cause: run.abort.cause,
    compensated,
    failed,
    fingerprintEqual: differences.length === 0 && remaining.length === 0,
    differences,
    remaining,
    runbook: ok ? [] : runbook(run),
  };
  setRunPhase(run, ok ? 'rolled-back' : 'rollback-failed');
  const summary = ok
    ? `target fingerprint equal to pre-run (${compensated.join(', ')})`
    : `${failed.map((f) => f.step).join(', ')} failed; ${differences.length} difference(s)`;
  await log('rollback', ok ? 'completed' : 'failed', summary).catch(() => undefined);
  await compensations
    .notify({
      webhook: cfg.health.webhook,
      event: ok ? 'rollback-succeeded' : 'rollback-failed',
      details: { ...notifyDetails, fingerprintEqual: report.fingerprintEqual, remaining },
    })
    .catch(() => undefined);
  return report;
}

function setRunPhase(run: RunState, phase: 'rolling-back' | 'rolled-back' | 'rollback-failed'): void {
  run.progress.phase = phase;
  upsertSearchAttributes([
    { key: MigrationPhase, value: phase },
    { key: MigrationStatus, value: phase },
  ]);
}

/** The manual steps, least destructive first: remove what the run left before any restore. */
function runbook(run: RunState): string[] {
  const { cfg, runId } = run;
  const targetBackup = run.backups.find((b) => b.kind === 'target-pg_dump');
  const database = String(targetBackup?.verification.database ?? '<database>');
  return [
    `npx migrator runbook cancel-backends --target ${cfg.target} --expect-database ${database}`,
    `npx migrator runbook clean --target ${cfg.target} --run-id ${runId} --user-id ${cfg.userId} --expect-database ${database}`,
    `npx migrator runbook backups --target ${cfg.target}`,
    // Only this user's rows, as they were before the run (other users and tables untouched).
    ...(run.backups.some((b) => b.kind === 'target-pre-image')
      ? [
          `npx migrator backups restore-pre-image --target ${cfg.target} --run-id ${runId} --expect-database ${database}`,
        ]
      : []),
    targetBackup
      ? `LAST RESORT, it DESTROYS every write to the whole database by anyone (other users, the app) since the backup: npx migrator runbook restore --target ${cfg.target} --backup-id ${targetBackup.backupId} --expect-database ${database}`
      : '(no target backup was taken)',
    `npx migrator runbook verify --target ${cfg.target} --backup-id ${targetBackup?.backupId ?? '<id>'}`,
  ];
}
