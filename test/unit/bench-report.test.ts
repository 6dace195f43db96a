import { describe, expect, it } from 'vitest';
import { pgType } from '../../bench/copy-baseline';
import { parsePgloaderSummary, pgloaderCommand, pgloaderVersion } from '../../bench/pgloader';
import { formatReport, perMillion, rate, ratio, toJsonLine, type BenchRecord } from '../../bench/report';

const record = (pgloader: BenchRecord['pgloader']): BenchRecord => ({
  at: '2026-12-03T08:00:00.000Z',
  commit: 'abc1234',
  host: { cpus: 2, loadAvg1: 9.5, loadAvg5: 8.25 },
  dataset: { path: '/tmp/d.sqlite', notes: 20_000, rows: 77_836, reused: true },
  settings: { chunkRows: 1000, parallelism: 2 },
  limit: { ms: 4000, copyMs: 3500, keysMs: 500, rows: 77_836, rowsPerSecond: 19_459, peakRssMb: 180 },
  pgloader,
  migration: {
    ms: 40_000,
    rows: 77_836,
    rowsPerSecond: 1946,
    validationOk: true,
    phasesMs: { validation: 12_000, preflight: 3000, transfer: 20_000 },
    workerPeakRssMb: 600,
    historyEvents: 934,
    historyRuns: 6,
    historyEventsPerMillionRows: 12_000,
  },
  ratios: { toLimit: 0.1, toPgloader: null },
});

describe('bench figures', () => {
  it('rates, per-million counts and ratios round as printed, and a missing divisor gives null', () => {
    expect(rate(77_836, 4000)).toBe(19_459);
    expect(rate(10, 0)).toBe(0);
    expect(perMillion(934, 77_836)).toBe(12_000);
    expect(ratio(1946, 19_459)).toBe(0.1);
    expect(ratio(1946, null)).toBeNull();
    expect(ratio(1946, 0)).toBeNull();
  });

  it('a record is one JSON line that parses back to the same record', () => {
    const r = record({
      status: 'ok',
      version: 'pgloader 3.6.7~devel',
      ms: 8000,
      rows: 77_836,
      rowsPerSecond: 9730,
      peakRssMb: 417,
    });
    const line = toJsonLine(r);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(line)).toEqual(r);
  });

  it('the report lists phases in run order, the ratios, and why pgloader did not run', () => {
    const text = formatReport(
      record({ status: 'not installed', reason: 'apt-get install pgloader failed (exit 100)' }),
    ).join('\n');
    expect(text).toContain('phases: preflight 3.0 s, transfer 20.0 s, validation 12.0 s');
    expect(text).toContain('(b) pgloader             not installed: apt-get install pgloader failed (exit 100)');
    expect(text).toContain('migration rows/s: 0.1x the limit, n/a pgloader');
    expect(text).toContain('934 events in 6 workflow runs = 12,000 per million rows');
    expect(text).toContain('600 MiB (worker process)');
  });

  it('with several worker processes the report gives each one’s peak RSS', () => {
    const r = record({ status: 'skipped', reason: '--no-pgloader' });
    r.settings.workers = 2;
    r.migration.workersPeakRssMb = [600, 512];
    expect(formatReport(r).join('\n')).toContain('600 / 512 MiB (2 worker processes)');
  });
});

describe('pgloader', () => {
  const summary = (errors: string): string =>
    [
      '             table name     errors       rows      bytes      total time',
      '             note_tasks          0      42960    10.1 MB          3.472s',
      `      Total import time          ${errors}      77836    26.9 MB          5.012s`,
    ].join('\n');

  it('reads rows and errors from the summary table (✓ means none)', () => {
    expect(parsePgloaderSummary(summary('✓'))).toEqual({ rows: 77_836, errors: 0 });
    expect(parsePgloaderSummary(summary('3'))).toEqual({ rows: 77_836, errors: 3 });
    expect(parsePgloaderSummary('KABOOM: Heap exhausted')).toBeNull();
    expect(pgloaderVersion('pgloader version "3.6.7~devel"\ncompiled with SBCL 2.2.9.debian')).toBe(
      'pgloader 3.6.7~devel',
    );
  });

  it('loads only the four migrated tables, with keys', () => {
    const cmd = pgloaderCommand('/data/n.sqlite', 'postgres://postgres@127.0.0.1:5432/bench_pgloader');
    expect(cmd).toContain('FROM sqlite:///data/n.sqlite');
    expect(cmd).toContain(
      "INCLUDING ONLY TABLE NAMES LIKE 'local_folders', 'local_notes', 'note_folders', 'note_tasks';",
    );
    expect(cmd).toContain('foreign keys');
  });
});

describe('COPY baseline types', () => {
  it('maps SQLite declared types by affinity', () => {
    expect(pgType('INTEGER')).toBe('bigint');
    expect(pgType('TEXT')).toBe('text');
    expect(pgType('VARCHAR(10)')).toBe('text');
    expect(pgType('REAL')).toBe('double precision');
    expect(pgType('BLOB')).toBe('bytea');
    expect(pgType('NUMERIC')).toBe('numeric');
  });
});
