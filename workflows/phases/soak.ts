// soak: after the last phase the health guard keeps watching for `health.soakMs`; a trigger or an
// abort in this window still rolls the run back. It changes nothing, so it has no compensation;
// it runs outside the forward scope, which the driver has left by then, and is not paused.
import { ApplicationFailure, CancellationScope, sleep, upsertSearchAttributes } from '@temporalio/workflow';
import type { RunState } from '../run-state';
import { MigrationPhase } from '../search-attributes';

/** Waits out the soak window; a health trigger or an abort in it fails the run (which then rolls back). */
export async function soak(run: RunState, forwardScope: CancellationScope): Promise<void> {
  const guard = run.guard;
  if (!guard || run.cfg.health.soakMs <= 0) return;
  run.progress.phase = 'soak';
  upsertSearchAttributes([{ key: MigrationPhase, value: 'soak' }]);
  await CancellationScope.cancellable(async () => {
    await Promise.race([
      sleep(run.cfg.health.soakMs),
      guard.triggered,
      forwardScope.cancelRequested.catch(() => undefined),
    ]);
  });
  if (run.abort.reason !== null) throw ApplicationFailure.create({ type: 'Aborted', message: run.abort.reason });
}
