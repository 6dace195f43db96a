// transfer lifecycle: every table's chunks into a target the app keeps writing to; undone by
// removeRunRows (the rows this run created, found through its bridge rows, children first).
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { isUuid } from '../../../lib/ids';
import { MAPPINGS, TABLE_ORDER } from '../../../lib/mapping';
import { indexesPhase } from '../../../workflows/phases/indexes';
import { transferPhase } from '../../../workflows/phases/transfer';
import {
  expectRestored,
  runPreflight,
  runSchemaActivities,
  runTransferActivities,
  setUp,
  snapshot,
  undo,
  userRows,
  type Lifecycle,
} from './lifecycle';

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

it("its undo keeps rows it did not create: this user's row from an earlier run, and another user's row under a colliding id", async () => {
  l = await setUp({ notes: 60, input: { chunkRows: 10, quarantineThreshold: 0.5 } });
  const db = new Database(l.source, { readonly: true });
  const ids = (db.prepare('SELECT id FROM local_notes ORDER BY id').all() as { id: string }[])
    .map((r) => r.id)
    .filter(isUuid);
  db.close();
  const [own, foreign] = [ids[0]!.toLowerCase(), ids[1]!.toLowerCase()];
  // Same ids as two source notes: one already this user's (an earlier run), one another user's.
  for (const [id, uid] of [
    [own, l.userId],
    [foreign, l.bystander.otherUser],
  ] as const) {
    await l.target.query(
      "INSERT INTO notes (id, user_id, title_enc, props_enc, created_at, updated_at) VALUES ($1, $2, '\\x0f', '\\x0e', '2023-01-01', '2023-01-01')",
      [id, uid],
    );
  }
  await runPreflight(l);
  await runSchemaActivities(l);
  const before = await snapshot(l);
  l.bystander.startWriting();
  await runTransferActivities(l);
  const notes = l.run.result.tables.local_notes!;
  expect(notes.migrated + notes.quarantined).toBe(notes.sourceRows);
  expect(notes.inserted).toBe(notes.migrated - 1); // the own row was kept, not re-inserted
  const quarantined = await l.target.query<{ source_id: string; reason_code: string }>(
    "SELECT source_id, reason_code FROM migration.migration_quarantine WHERE run_id = $1 AND source_table = 'local_notes'",
    [l.run.runId],
  );
  expect(quarantined.map((q) => q.source_id.toLowerCase())).toEqual([foreign]);
  expect(await undo(l, transferPhase)).toEqual(['removeRunRows']);
  await l.bystander.stop();
  await expectRestored(l, before);
  const kept = await l.target.query<{ id: string; t: string }>(
    "SELECT id::text, encode(title_enc, 'hex') AS t FROM notes WHERE id = ANY ($1::uuid[]) ORDER BY id",
    [[own, foreign]],
  );
  expect(kept).toEqual([own, foreign].sort().map((id) => ({ id, t: '0f' })));
});

it('in a dry run writes nothing and pushes no compensation', async () => {
  l = await setUp({ input: { dryRun: true } });
  const before = await snapshot(l);
  await runPreflight(l);
  expect(transferPhase.undo(l.ctx)).toEqual([]);
  l.bystander.startWriting();
  await runTransferActivities(l);
  await l.bystander.stop();
  for (const t of TABLE_ORDER) expect(l.run.result.tables[t]!.read, t).toBe(l.run.result.tables[t]!.sourceRows);
  expect(l.run.result.tables.local_notes!.inserted).toBe(0);
  await expectRestored(l, before);
});
