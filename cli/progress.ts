// The live progress display of a running migration, one phase at a time. On a terminal: one line
// per finished phase (its duration; rows and rate for the transfer) and one live line for the
// current phase, redrawn in place (rows, rate, ETA). Not on a terminal (CI, pipes, log files): the
// same finished-phase lines, plus the live line when the transfer starts and as a periodic summary.
import {
  type MigrationProgress,
  type MigrationResult,
  type OnlinePhaseName,
  type PhaseName,
} from '../workflows/definitions';

type AnyPhase = PhaseName | OnlinePhaseName;
/** Every phase in the order a run meets it (online runs' own phases where they run). */
const RUN_ORDER: readonly AnyPhase[] = [
  'preflight',
  'backup',
  'schema',
  'indexes',
  'capture',
  'transfer',
  'delta',
  'cutover',
  'validation',
  'release-capture',
  'post-migration',
  'soak',
];
import { renderBar } from './progress-bar';

export interface ProgressOutput {
  isTTY: boolean;
  /** Terminal width: the live line is cut to it so `\r` redraws stay on one row. */
  columns?: number;
  write(text: string): void;
}

export interface ProgressDisplayOptions {
  /** Not on a terminal: the live line at most this often (default 5 s). */
  summaryEveryMs?: number;
}

export const PROGRESS_PREFIX = 'progress:';
const CLEAR_LINE = '\r\x1b[2K';
const MIN_SUMMARY_PHASE_MS = 2_000;

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The finished-phase line, e.g. `progress: ✓ transfer      2.1 s · 1,133 rows · 540 rows/s`. */
export function phaseDoneLine(phase: AnyPhase, ms: number, rows?: number): string {
  const transfer = rows !== undefined && ms > 0 ? ` · ${fmt(rows)} rows · ${fmt((rows * 1000) / ms)} rows/s` : '';
  return `${PROGRESS_PREFIX} ✓ ${phase.padEnd(14)} ${seconds(ms).padStart(7)}${transfer}`;
}

/** The live line of the current phase: rows, rate and ETA in the transfer, elapsed time elsewhere. */
export function phaseLiveLine(p: MigrationProgress, phaseElapsedMs: number, barWidth = 20): string {
  if (p.phase === 'transfer') return `${PROGRESS_PREFIX} … ${renderBar(p, barWidth)}`;
  const state = p.paused ? ' · PAUSED' : p.abortReason ? ` · ABORTING (${p.abortReason})` : '';
  return `${PROGRESS_PREFIX} … ${p.phase.padEnd(14)} ${seconds(phaseElapsedMs).padStart(7)}${state}`;
}

export class ProgressDisplay {
  private readonly printed = new Set<AnyPhase>();
  private readonly summaryEveryMs: number;
  private phase: string | null = null;
  private phaseSince = 0;
  private transferRows = 0;
  private lastLive = '';
  private lastLiveAt = 0;
  private drawn = false;

  constructor(
    private readonly out: ProgressOutput,
    options: ProgressDisplayOptions = {},
  ) {
    this.summaryEveryMs = options.summaryEveryMs ?? 5_000;
    this.lastLiveAt = Date.now(); // the first summary comes after one interval, not at once
  }

  update(p: MigrationProgress, now = Date.now()): void {
    this.transferRows = p.rowsRead; // monotonic: the transfer's total once it has finished
    const changed = p.phase !== this.phase;
    if (changed) {
      this.phase = p.phase;
      this.phaseSince = now;
    }
    this.printFinished(p.phaseDurationsMs);
    // Nothing live before the first phase, after the last, while rolling back, or in the moment
    // between a phase's end (its duration recorded) and the next phase's start.
    if (!(RUN_ORDER as readonly string[]).includes(p.phase) || this.printed.has(p.phase as AnyPhase)) return;
    const live = phaseLiveLine(p, now - this.phaseSince);
    if (this.out.isTTY) {
      const width = Math.max(20, (this.out.columns || 120) - 1); // 0 when the terminal does not say
      this.out.write(`${CLEAR_LINE}${live.slice(0, width)}`);
      this.drawn = true;
    } else if (
      (changed && p.phase === 'transfer') ||
      // a periodic summary, once the phase has run long enough to say something
      (now - this.lastLiveAt >= this.summaryEveryMs &&
        now - this.phaseSince >= MIN_SUMMARY_PHASE_MS &&
        live !== this.lastLive)
    ) {
      this.out.write(`${live}\n`);
      this.lastLive = live;
      this.lastLiveAt = now;
    }
  }

  /** Prints the phases not shown yet (from the result, which has every duration) and ends the live line. */
  finish(result?: MigrationResult): void {
    if (result) {
      const read = Object.values(result.tables).reduce((n, t) => n + t.read, 0);
      if (read > 0) this.transferRows = read;
      this.printFinished(result.phaseDurationsMs);
    }
    if (this.drawn) this.out.write(CLEAR_LINE);
    this.drawn = false;
  }

  private printFinished(durations: Partial<Record<AnyPhase, number>>): void {
    const lines: string[] = [];
    for (const phase of RUN_ORDER) {
      const ms = durations[phase];
      if (ms === undefined || this.printed.has(phase)) continue;
      this.printed.add(phase);
      lines.push(phaseDoneLine(phase, ms, phase === 'transfer' ? this.transferRows : undefined));
    }
    if (!lines.length) return;
    // On a terminal the live line is replaced by the finished lines, then redrawn by the caller.
    this.out.write(`${this.drawn ? CLEAR_LINE : ''}${lines.join('\n')}\n`);
    this.drawn = false;
  }
}
