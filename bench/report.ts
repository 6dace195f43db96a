// The benchmark's figures: one record per run, printed as a table for a person and appended as one
// JSON line to var/bench/results.jsonl so runs compare over time. Pure: no I/O here.
import { PHASE_NAMES, type PhaseName } from '../workflows/definitions';

export interface BenchRecord {
  /** ISO time the run finished. */
  at: string;
  commit: string | null;
  host: { cpus: number; loadAvg1: number; loadAvg5: number };
  dataset: { path: string; notes: number; rows: number; reused: boolean };
  /** workers: worker processes polling the bench's task queue (absent in records from before: 1). */
  settings: { chunkRows: number; parallelism: number; workers?: number };
  /** (a) plain COPY of the same rows, then the primary and foreign keys: the physical limit. */
  limit: { ms: number; copyMs: number; keysMs: number; rows: number; rowsPerSecond: number; peakRssMb: number };
  /** (b) pgloader, or why it did not run. */
  pgloader:
    | { status: 'ok'; version: string; ms: number; rows: number; rowsPerSecond: number; peakRssMb: number }
    | { status: 'not installed' | 'failed' | 'skipped'; reason: string };
  /** (c) this project's end-to-end migration, run by a worker in its own process. */
  migration: {
    ms: number;
    rows: number;
    rowsPerSecond: number;
    validationOk: boolean;
    phasesMs: Partial<Record<PhaseName, number>>;
    /** The largest peak RSS of the worker processes; each one's in workersPeakRssMb (absent before: one worker). */
    workerPeakRssMb: number;
    workersPeakRssMb?: number[];
    historyEvents: number;
    historyRuns: number;
    historyEventsPerMillionRows: number;
  };
  /** Rows/s of the migration divided by the limit's and pgloader's (1 = as fast; 0.1 = ten times slower). */
  ratios: { toLimit: number; toPgloader: number | null };
}

export const rate = (rows: number, ms: number): number => (ms > 0 ? Math.round(rows / (ms / 1000)) : 0);
export const perMillion = (count: number, rows: number): number =>
  rows > 0 ? Math.round((count * 1_000_000) / rows) : 0;
export const mib = (kb: number): number => Math.round(kb / 1024);
/** a's rows/s over b's, to 3 decimals; null when b is unknown or zero. */
export function ratio(a: number, b: number | null | undefined): number | null {
  return b ? Math.round((a / b) * 1000) / 1000 : null;
}

const secs = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;
const int = (n: number): string => n.toLocaleString('en-US');

/** The record as one JSON line (no newline inside, one at the end). */
export function toJsonLine(record: BenchRecord): string {
  return `${JSON.stringify(record)}\n`;
}

/** The human-readable comparison. */
export function formatReport(r: BenchRecord): string[] {
  const lines: string[] = [];
  const times = (x: number | null): string => (x === null ? 'n/a' : `${x}x`);
  lines.push(
    `dataset: ${int(r.dataset.notes)} notes, ${int(r.dataset.rows)} rows (${r.dataset.reused ? 'reused' : 'generated'} ${r.dataset.path})`,
  );
  lines.push(
    `machine: ${r.host.cpus} CPUs, load average ${r.host.loadAvg1.toFixed(2)} (1 min) / ${r.host.loadAvg5.toFixed(2)} (5 min) at the end`,
  );
  lines.push('');
  lines.push(`                          wall time      rows/s   peak RSS`);
  const row = (name: string, ms: number, rps: number, rss: string): string =>
    `${name.padEnd(24)} ${secs(ms).padStart(10)} ${int(rps).padStart(11)}   ${rss}`;
  lines.push(
    row('(a) COPY + keys (limit)', r.limit.ms, r.limit.rowsPerSecond, `${r.limit.peakRssMb} MiB (bench process)`),
  );
  lines.push(`      COPY ${secs(r.limit.copyMs)}, primary + foreign keys ${secs(r.limit.keysMs)}`);
  if (r.pgloader.status === 'ok') {
    lines.push(row('(b) pgloader', r.pgloader.ms, r.pgloader.rowsPerSecond, `${r.pgloader.peakRssMb} MiB (pgloader)`));
    lines.push(`      ${r.pgloader.version}`);
  } else {
    lines.push(`(b) pgloader             ${r.pgloader.status}: ${r.pgloader.reason}`);
  }
  const m = r.migration;
  const workers = r.settings.workers ?? 1;
  const rss =
    workers > 1
      ? `${(m.workersPeakRssMb ?? [m.workerPeakRssMb]).join(' / ')} MiB (${workers} worker processes)`
      : `${m.workerPeakRssMb} MiB (worker process)`;
  lines.push(row('(c) migration (e2e)', m.ms, m.rowsPerSecond, rss));
  lines.push(
    `      validation ${m.validationOk ? 'passed' : 'FAILED'}, chunk ${int(r.settings.chunkRows)} rows, parallelism ${r.settings.parallelism}`,
  );
  const phases = PHASE_NAMES.filter((p) => m.phasesMs[p] !== undefined).map((p) => `${p} ${secs(m.phasesMs[p]!)}`);
  lines.push(`      phases: ${phases.join(', ')}`);
  lines.push(
    `      history: ${int(m.historyEvents)} events in ${m.historyRuns} workflow runs = ${int(m.historyEventsPerMillionRows)} per million rows`,
  );
  lines.push('');
  lines.push(`migration rows/s: ${times(r.ratios.toLimit)} the limit, ${times(r.ratios.toPgloader)} pgloader`);
  return lines;
}
