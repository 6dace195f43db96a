// The fault matrix's report: a table on the terminal and one JSON line per case under var/faults/.
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PROJECT_ROOT } from '../../infra/temporal-cli';
import type { CaseRow } from './harness';

const COLUMNS = ['case', 'runs', 'chunks', 'rows lost', 'duplicates', 'final status', 'time to recover', 'ok'] as const;

export function formatTable(rows: CaseRow[]): string {
  const cells = rows.map((r) => [
    r.case,
    String(r.runs),
    String(r.chunks),
    String(r.rowsLost),
    String(r.duplicates),
    r.finalStatus,
    r.recoverMs === null ? '-' : `${(r.recoverMs / 1000).toFixed(1)} s`,
    r.violations.length ? `NO (${r.violations.length})` : 'yes',
  ]);
  const widths = COLUMNS.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i]!.length)));
  const line = (row: readonly string[]) => `| ${row.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  const out = [line(COLUMNS), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)];
  for (const r of rows) for (const v of r.violations) out.push(`  ${r.case}: ${v}`);
  for (const r of rows) for (const m of r.messages) out.push(`  ${r.case} ended: ${m}`);
  return out.join('\n');
}

/** Appends one JSON line per case to var/faults/<stamp>.jsonl; returns the file. */
export function writeJsonLines(rows: CaseRow[], stamp: string, dir = join(PROJECT_ROOT, 'var', 'faults')): string {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${stamp}.jsonl`);
  for (const r of rows) appendFileSync(file, `${JSON.stringify({ ...r, at: stamp })}\n`);
  return file;
}
