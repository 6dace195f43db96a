// A one-line live progress bar for `watch`: redrawn in place on a terminal, a plain line otherwise.
import type { MigrationProgress } from '../workflows/definitions';

export function renderBar(p: MigrationProgress, width = 30): string {
  const fraction = p.rowsTotal > 0 ? Math.min(1, p.rowsRead / p.rowsTotal) : 0;
  const filled = Math.round(fraction * width);
  const bar = `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
  const rate = p.rowsPerSecond ? `${Math.round(p.rowsPerSecond).toLocaleString('en-US')} rows/s` : '- rows/s';
  const eta = p.etaSeconds !== null ? `ETA ${Math.ceil(p.etaSeconds)} s` : 'ETA -';
  const table = p.table ? ` · ${p.table}` : '';
  const state = p.paused
    ? ' · PAUSED'
    : p.abortReason
      ? ` · ABORTING (${p.abortReason})`
      : p.throttleReason
        ? ` · THROTTLED (${p.throttleReason})`
        : '';
  const cut = p.cutover;
  const cutover = !cut
    ? ''
    : cut.held
      ? ` · CUT-OVER HELD (${cut.held}; cutover-now or abort)`
      : cut.postponed
        ? ' · CUT-OVER POSTPONED'
        : cut.attempts
          ? ` · cut-over attempts ${cut.attempts}${cut.done ? ' (done)' : ''}`
          : '';
  const throttled = p.throttledMs ? ` · throttled ${(p.throttledMs / 1000).toFixed(1)} s` : '';
  return `${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${p.phase}${table} · ${p.rowsRead.toLocaleString('en-US')}/${p.rowsTotal.toLocaleString(
    'en-US',
  )} rows · chunks ${p.chunksDone}/${p.chunksTotal} · ${rate} · ${eta}${throttled}${cutover}${state}`;
}
