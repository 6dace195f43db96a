// The reduced fault matrix CI runs with the normal `npm test` (the whole one: `npm run faults`).
// Each case breaks a real run on the suite's own PostgreSQL cluster and Temporal dev server, then
// the invariants (test/faults/invariants.ts) must all hold and the run must end as the case expects.
// Cases that break only their own run (a worker, a backend, a file, a second run) run side by side:
// they mostly wait on heartbeat timeouts and retries. Cases that break the shared server or network
// path run alone, one after another.
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CASES } from './cases';
import { runCase, type CaseRow, type FaultCase } from './harness';
import { formatTable, writeJsonLines } from './report';
import { startFaultStack, type FaultStack } from './stack';

const SEED = Number(process.env.MIGRATOR_FAULTS_SEED ?? 1);
let stack: FaultStack;
const rows: CaseRow[] = [];
const ci = CASES.filter((c) => c.ci);
const own = ci.filter((c) => !c.shared);
const shared = ci.filter((c) => c.shared);
const seedOf = (c: FaultCase) => SEED + CASES.indexOf(c);

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

function check(c: FaultCase, row: CaseRow): void {
  expect({ case: c.name, violations: row.violations }).toEqual({ case: c.name, violations: [] });
  expect(row.rowsLost).toBe(0);
  expect(row.duplicates).toBe(0);
  if (!c.noTransfer) expect(row.chunks, c.name).toBeGreaterThan(0);
  else expect(row.chunks, c.name).toBe(0);
  expect(row.finalStatus).toMatch(c.expectStatus ?? /^completed$/);
}

/** Cases side by side at most: each starts a worker that bundles its workflows (webpack, CPU-bound). */
const BATCH = 6;
const batches = Array.from({ length: Math.ceil(own.length / BATCH) }, (_, i) => own.slice(i * BATCH, (i + 1) * BATCH));

for (const [b, batch] of batches.entries()) {
  it(
    `side by side: ${batch.map((c) => c.name).join(', ')}`,
    { timeout: Math.max(...batch.map((c) => c.timeoutMs)) + 180_000 },
    async () => {
      // Settled, not all: a case that throws must not leave the others' workers running after the test.
      const settled = await Promise.allSettled(
        batch.map((c, i) => runCase(stack, c, seedOf(c), true, { control: b === 0 && i === 0 })),
      );
      rows.push(...settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : [])));
      const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
      if (failed) throw failed.reason;
      const done = settled.map((s) => (s as PromiseFulfilledResult<CaseRow>).value);
      for (const [i, c] of batch.entries()) check(c, done[i]!);
      if (b > 0) return;
      // Positive control (on the first case's target): damaged rows and a leaked canary are caught.
      const control = done[0]!.control ?? [];
      expect(control.some((v) => /note_tasks: 1 source rows missing/.test(v))).toBe(true);
      expect(control.some((v) => /folders: 1 target rows do not decrypt/.test(v))).toBe(true);
      expect(control).toContain('canary found in a history or a worker log');
    },
  );
}

for (const c of shared) {
  it(`alone: ${c.name}`, { timeout: c.timeoutMs + 180_000 }, async () => {
    const row = await runCase(stack, c, seedOf(c), true);
    stack.pgProxy.set({ mode: 'pass' });
    rows.push(row);
    check(c, row);
  });
}
