// The operator's surface on a running migration: the progress query, and the pause, resume,
// setChunkSize, setThrottle, abort, and (online runs) cutoverNow and postponeCutover Updates (with validators, so a refused request never reaches history).
import { setHandler, type CancellationScope } from '@temporalio/workflow';
import { ChunkRows } from '../lib/input';
import { ThrottleSchema, throttleAboveRollback, type ThrottleInput } from '../lib/throttle';
import { assertState } from './assert';
import {
  abortUpdate,
  cutoverNowUpdate,
  postponeCutoverUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setChunkSizeUpdate,
  setThrottleUpdate,
  tableProgressSignal,
  type MigrationProgress,
} from './definitions';
import { forwardControl } from './phases/transfer';
import { isRunning, type RunState } from './run-state';

export function installOperatorControls(run: RunState, forwardScope: CancellationScope): void {
  const { progress } = run;
  setHandler(progressQuery, () => progressOf(run));
  setHandler(tableProgressSignal, ({ table, totals, throttleReason }) => {
    progress.tables[table] = { ...progress.tables[table], ...totals };
    if (throttleReason !== undefined) progress.throttleReason = throttleReason;
  });
  installSetThrottle(run);
  installCutoverControls(run);
  setHandler(
    pauseUpdate,
    async () => {
      progress.paused = true;
      await forwardControl(run);
      return { paused: true as const, phase: progress.phase };
    },
    {
      validator: () =>
        assertState(isRunning(run) && !progress.paused, 'pause: the run is not running, or already paused'),
    },
  );
  setHandler(
    resumeUpdate,
    async () => {
      progress.paused = false;
      run.cutover.postponed = false; // resume also ends a postponed cut-over
      await forwardControl(run);
      return { paused: false as const, phase: progress.phase };
    },
    {
      validator: () =>
        assertState(
          progress.paused || run.cutover.postponed,
          'resume: the run is not paused (nor its cut-over postponed)',
        ),
    },
  );
  setHandler(
    setChunkSizeUpdate,
    async (rows) => {
      const previous = progress.chunkRows;
      progress.chunkRows = rows;
      await forwardControl(run);
      return { chunkRows: rows, previous };
    },
    {
      validator: (rows) => {
        const range = `${ChunkRows.minValue} to ${ChunkRows.maxValue}`;
        assertState(
          ChunkRows.safeParse(rows).success,
          `setChunkSize: chunk size must be an integer from ${range}, got ${rows}`,
        );
        assertState(isRunning(run), 'setChunkSize: the run is not running');
      },
    },
  );
  setHandler(
    abortUpdate,
    (reason) => {
      const why = `operator abort${reason ? `: ${reason}` : ''}`;
      stopForward(run, forwardScope, why, 'abort');
      return { aborting: true as const, reason: why };
    },
    {
      validator: (_reason: string | undefined) =>
        assertState(isRunning(run), 'abort: the run is not running (completed, or already rolling back)'),
    },
  );
}

/** The progress query's answer: the run's progress with its totals and rates computed now. */
function progressOf(run: RunState): MigrationProgress {
  const { progress } = run;
  const tables = Object.values(progress.tables);
  const rowsRead = tables.reduce((n, t) => n + (t.read ?? 0), 0);
  const elapsed = run.transferStartedAt === null ? 0 : (Date.now() - run.transferStartedAt) / 1000;
  const rate = elapsed > 0 && rowsRead > 0 ? rowsRead / elapsed : null;
  return {
    ...progress,
    chunksDone: tables.reduce((n, t) => n + (t.chunks ?? 0), 0),
    rowsRead,
    rowsTotal: run.totalSourceRows,
    rowsPerSecond: rate,
    etaSeconds: rate ? Math.max(0, (run.totalSourceRows - rowsRead) / rate) : null,
    abortReason: run.abort.reason,
    throttle: run.throttle,
    throttledMs: tables.reduce((n, t) => n + (t.throttledMs ?? 0), 0) + (run.online?.throttledMs ?? 0),
    ...(run.cfg.online.enabled ? { cutover: { ...run.cutover }, deltaPasses: run.online?.passes ?? 0 } : {}),
  };
}

/** cutoverNow / postponeCutover: online runs, before their cut-over succeeded. */
function installCutoverControls(run: RunState): void {
  const open = (what: string) => {
    assertState(run.cfg.online.enabled, `${what}: not an online run (online.enabled is false)`);
    assertState(isRunning(run), `${what}: the run is not running`);
    assertState(!run.cutover.done, `${what}: the cut-over already happened`);
  };
  setHandler(
    cutoverNowUpdate,
    () => {
      run.cutover.postponed = false;
      run.cutover.now = true;
      return { cutoverNow: true as const, phase: run.progress.phase };
    },
    { validator: () => open('cutoverNow') },
  );
  setHandler(
    postponeCutoverUpdate,
    () => {
      run.cutover.postponed = true;
      run.cutover.now = false;
      return { postponed: true as const, phase: run.progress.phase };
    },
    {
      validator: () => {
        open('postponeCutover');
        assertState(!run.cutover.postponed, 'postponeCutover: the cut-over is already postponed');
      },
    },
  );
}

/** setThrottle: new thresholds merged over the current ones, refused unless below the guard's rollback levels. */
function installSetThrottle(run: RunState): void {
  const merged = (patch: Partial<ThrottleInput>) => ThrottleSchema.safeParse({ ...(run.throttle ?? {}), ...patch });
  setHandler(
    setThrottleUpdate,
    async (patch) => {
      const previous = run.throttle;
      run.throttle = merged(patch).data!;
      run.throttleVersion += 1;
      run.progress.throttle = run.throttle;
      await forwardControl(run);
      return { throttle: run.throttle, previous };
    },
    {
      validator: (patch) => {
        assertState(isRunning(run), 'setThrottle: the run is not running');
        const parsed = merged(patch);
        const issue = parsed.error?.issues[0];
        assertState(!issue, `setThrottle: throttle.${issue?.path.join('.')}: ${issue?.message}`);
        const refused = throttleAboveRollback(parsed.data!, run.cfg.health);
        assertState(!refused, `setThrottle: ${refused?.field}: ${refused?.message}`);
      },
    },
  );
}

/** Records why the run stops (the first reason wins) and cancels the forward path. */
export function stopForward(
  run: RunState,
  forwardScope: CancellationScope,
  reason: string,
  cause: 'abort' | 'health',
): void {
  if (run.abort.reason !== null) return;
  run.abort = { reason, cause };
  run.progress.paused = false;
  forwardScope.cancel();
}
