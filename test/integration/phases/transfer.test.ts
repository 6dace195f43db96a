// transfer lifecycle: every table's chunks into a target the app keeps writing to; undone by
// removeRunRows (the rows this run created, found through its bridge rows, children first).
import { afterEach, expect, it } from 'vitest';
import { MAPPINGS, TABLE_ORDER } from '../../../lib/mapping';
import { indexesPhase } from '../../../workflows/phases/indexes';
import { transferPhase } from '../../../workflows/phases/transfer';
import { expectRestored, runPreflight, runSchemaActivities, runTransferActivities, setUp, snapshot, undo, userRows, type Lifecycle } from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

it('proves every source row migrated or quarantined; its undo removes exactly the rows this run created', async () => {
  l = await setUp({ notes: 60, input: { chunkRows: 10 } });
  await runPreflight(l);
  await runSchemaActivities(l);
  await indexesPhase.step(l.ctx);
  const before = await snapshot(l);
  const rowsBefore = await userRows(l);
  l.bystander.startWriting();
  await runTransferActivities(l);

  const rowsAfter = await userRows(l);
  for (const t of TABLE_ORDER) {
    const r = l.run.result.tables[t]!;
    expect(r.sourceRows, t).toBeGreaterThan(0);
    expect(r.migrated + r.quarantined, t).toBe(r.sourceRows);
    expect(r.quarantined, t).toBeLessThanOrEqual(Math.floor(r.sourceRows * l.run.cfg.quarantineThreshold));
    const table = MAPPINGS[t].targetTable;
    expect(rowsAfter[table], t).toBe(rowsBefore[table]! + r.inserted);
  }
  expect(l.run.result.tables.local_notes!.chunks).toBeGreaterThan(1);

  expect(await undo(l, transferPhase)).toEqual(['removeRunRows']);
  expect(await l.bystander.stop()).toBeGreaterThan(0);
  expect(await userRows(l)).toEqual(rowsBefore);
  await expectRestored(l, before);
  // Nothing of this run's rows is left (its indexes are the indexes phase's to undo).
  const left = await l.acts.runArtifacts({ target: l.run.cfg.target, runId: l.run.runId, userId: l.userId });
  expect(left.filter((a) => !a.startsWith('index '))).toEqual([]);
});
