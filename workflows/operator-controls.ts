// The operator's surface on a running migration: the progress query, and the pause, resume,
// setChunkSize and abort Updates (with validators, so a refused request never reaches history).
import { setHandler, type CancellationScope } from '@temporalio/workflow';
import { ChunkRows } from '../lib/input';
import { assertState } from './assert';
import {
  abortUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setChunkSizeUpdate,
  tableProgressSignal,
} from './definitions';
import { forwardControl } from './phases/transfer';
import { isRunning, type RunState } from './run-state';

export function installOperatorControls(run: RunState, forwardScope: CancellationScope): void {
  const { progress } = run;
  setHandler(progressQuery, () => {
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
    };
  });
  setHandler(tableProgressSignal, ({ table, totals }) => {
    progress.tables[table] = { ...progress.tables[table], ...totals };
  });
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
      await forwardControl(run);
      return { paused: false as const, phase: progress.phase };
    },
    { validator: () => assertState(progress.paused, 'resume: the run is not paused') },
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
