// `npm run faults`: the whole fault matrix on a dedicated PostgreSQL cluster and Temporal dev
// server (test/faults/stack.ts). Options: --seed N (default 1), --case NAME (repeatable),
// --ci (the reduced matrix and CI timings). Prints the table, writes var/faults/<stamp>.jsonl,
// exits 1 when any invariant was violated.
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { CASES } from './cases';
import { runCase, type CaseRow } from './harness';
import { formatTable, writeJsonLines } from './report';
import { startFaultStack } from './stack';

const { values } = parseArgs({
  options: {
    seed: { type: 'string', default: '1' },
    case: { type: 'string', multiple: true },
    ci: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(
    `npm run faults [-- [--seed N] [--case NAME]... [--ci]]\n` +
      `  --seed N     base seed (default 1): fixes each case's dataset, user, key and strike point\n` +
      `  --case NAME  run only this case (repeatable)\n` +
      `  --ci         the reduced matrix and CI timings\n` +
      `cases: ${CASES.map((c) => c.name).join(', ')}\n`,
  );
  process.exit(0);
}
const seed = Number(values.seed);
if (!Number.isInteger(seed) || seed < 0) throw new Error(`--seed: expected a non-negative integer, got ${values.seed}`);
const unknown = (values.case ?? []).filter((n) => !CASES.some((c) => c.name === n));
if (unknown.length)
  throw new Error(`--case: unknown ${unknown.join(', ')} (known: ${CASES.map((c) => c.name).join(', ')})`);
const selected = CASES.filter((c) => (values.case?.length ? values.case.includes(c.name) : !values.ci || c.ci));

Runtime.install({ logger: new DefaultLogger('ERROR') });
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
const stack = await startFaultStack();
const rows: CaseRow[] = [];
try {
  for (const c of selected) {
    process.stderr.write(`[faults] ${c.name} (seed ${seed + CASES.indexOf(c)}) ...\n`);
    let row: CaseRow;
    try {
      row = await runCase(stack, c, seed + CASES.indexOf(c), values.ci);
    } catch (err) {
      row = {
        case: c.name,
        seed: seed + CASES.indexOf(c),
        runs: 0,
        chunks: 0,
        rowsLost: 0,
        duplicates: 0,
        finalStatus: 'harness-error',
        recoverMs: null,
        durationMs: 0,
        violations: [(err as Error).message],
        messages: [],
      };
    }
    // Whatever the case did to them, the next case starts with both paths open.
    stack.pgProxy.set({ mode: 'pass' });
    stack.temporalProxy.set({ mode: 'pass' });
    rows.push(row);
    process.stderr.write(
      `[faults] ${c.name}: ${row.finalStatus} in ${(row.durationMs / 1000).toFixed(0)} s, ${row.violations.length} violation(s)\n`,
    );
  }
} finally {
  await stack.close();
}
console.log(formatTable(rows));
console.log(`\nJSON lines: ${writeJsonLines(rows, stamp)}`);
process.exit(rows.some((r) => r.violations.length) ? 1 : 0);
