// The reduced fault matrix CI runs with the normal `npm test` (the whole one: `npm run faults`).
// Each case breaks a real run on the suite's own PostgreSQL cluster and Temporal dev server, then
// the invariants (test/faults/invariants.ts) must all hold and the run must end as the case expects.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CASES } from './cases';
import { runCase, type CaseRow } from './harness';
import { formatTable, writeJsonLines } from './report';
import { startFaultStack, type FaultStack } from './stack';

const SEED = Number(process.env.MIGRATOR_FAULTS_SEED ?? 1);
let stack: FaultStack;
const rows: CaseRow[] = [];

beforeAll(async () => {
  Runtime.install({ logger: new DefaultLogger('ERROR') });
  stack = await startFaultStack();
});
afterAll(async () => {
  await stack?.close();
  if (rows.length) {
    console.log(formatTable(rows));
    writeJsonLines(rows, `ci-${new Date().toISOString().replace(/[:.]/g, '-')}`);
  }
});

for (const [i, c] of CASES.filter((x) => x.ci).entries()) {
  it(
    `${c.name}: no row lost or duplicated, explicit end, invariants hold`,
    { timeout: c.timeoutMs + 120_000 },
    async () => {
      const row = await runCase(stack, c, SEED + i, true, { control: i === 0 });
      stack.pgProxy.set({ mode: 'pass' });
      rows.push(row);
      expect(row.violations).toEqual([]);
      expect(row.rowsLost).toBe(0);
      expect(row.duplicates).toBe(0);
      expect(row.chunks).toBeGreaterThan(0);
      expect(row.finalStatus).toMatch(c.expectStatus ?? /^completed$/);
      if (i === 0) {
        // Positive control: the same checks on a damaged target and a leaked canary do fail.
        const control = row.control ?? [];
        expect(control.some((v) => /note_tasks: 1 source rows missing/.test(v))).toBe(true);
        expect(control.some((v) => /folders: 1 target rows do not decrypt/.test(v))).toBe(true);
        expect(control).toContain('canary found in a history or a worker log');
      }
    },
  );
}
