// post-migration lifecycle: post-migration indexes, ANALYZE, this user's bridge rows archived,
// the temporary indexes dropped, the lease released. It pushes no compensation of its own; per
// its `undoneBy`, the compensations already on the stack undo it: the rollback as the workflow
// runs it (releaseLease first, then the saga) must restore the pre-run target, and what a failed
// compensation leaves must still be reported once the bridge rows were archived.
import { afterEach, expect, it } from 'vitest';
import { MAPPINGS, TABLE_ORDER } from '../../../lib/mapping';
import { PHASES } from '../../../workflows/phases';
import { indexesPhase } from '../../../workflows/phases/indexes';
import { postMigrationPhase } from '../../../workflows/phases/post-migration';
import { validationPhase } from '../../../workflows/phases/validation';
import { Saga } from '../../../workflows/saga';
import {
  expectRestored,
  indexNames as names,
  indexValidity as indexes,
  runPreflight,
  runSchemaActivities,
  runTransferActivities,
  setUp,
  snapshot,
  undo,
  userRows,
  type Lifecycle,
  type Snapshot,
} from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

/** Every phase up to post-migration, the app writing throughout; returns the pre-run state. */
async function throughPostMigration(): Promise<{ lc: Lifecycle; before: Snapshot }> {
  const lc = await setUp({ notes: 40, input: { chunkRows: 20 } });
  await runPreflight(lc);
  const before = await snapshot(lc);
  lc.bystander.startWriting();
  await runSchemaActivities(lc);
  await indexesPhase.step(lc.ctx);
  await runTransferActivities(lc);
  await validationPhase.step(lc.ctx);
  await postMigrationPhase.step(lc.ctx);
  return { lc, before };
}

it('proves the post-migration indexes valid and the bridge archived; the stacked compensations undo it', async () => {
  const { lc, before } = await throughPostMigration();
  l = lc;
  const { cfg, runId } = l.run;
  expect(postMigrationPhase.undo(l.ctx)).toEqual([]);
  // What it proves.
  const post = names('post-migration');
  expect(await indexes(l, post)).toEqual(Object.fromEntries(post.map((n) => [n, true])));
  expect(await indexes(l, names('temporary'))).toEqual({});
  for (const t of TABLE_ORDER) {
    const [{ n }] = (await l.target.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM public.${MAPPINGS[t].bridgeTable} WHERE user_id = $1`,
      [l.userId],
    )) as [{ n: number }];
    expect(n, t).toBe(0);
  }
  expect(l.run.result.archivedBridgeRows['schema_bridge_notes']).toBe(l.run.result.tables.local_notes!.read);
  const lease = await l.target.query<{ state: string }>('SELECT state FROM migration.run_leases WHERE run_id = $1', [
    runId,
  ]);
  expect(lease).toEqual([{ state: 'released' }]);

  // undoneBy: the rollback as the workflow runs it, over every phase's compensations.
  await l.acts.releaseLease({ target: cfg.target, runId });
  expect(await undo(l, ...PHASES)).toEqual([
    'removeRunRows',
    'dropRunIndexes',
    'dropCreatedTables',
    'unregisterOwnership',
    'releaseLease',
  ]);
  expect(await l.bystander.stop()).toBeGreaterThan(0);
  expect(await indexes(l, [...post, ...names('critical')])).toEqual({});
  await expectRestored(l, before);
  expect(await l.acts.runArtifacts({ target: cfg.target, runId, userId: l.userId })).toEqual([]);
});

it('reports the rows a failed removeRunRows left, although their bridge rows were archived and the bridge tables dropped', async () => {
  const { lc } = await throughPostMigration();
  l = lc;
  const { cfg, runId } = l.run;
  await l.bystander.stop();
  const rows = await userRows(l);
  // The saga as the rollback unwinds it, with removeRunRows failing (its retries exhausted).
  const saga = new Saga();
  for (const phase of PHASES) {
    for (const c of phase.undo(l.ctx)) {
      saga.push(
        c.name,
        c.name === 'removeRunRows' ? () => Promise.reject(new Error('removeRunRows: retries exhausted')) : c.run,
      );
    }
  }
  await l.acts.releaseLease({ target: cfg.target, runId });
  const { compensated, failed } = await saga.unwind();
  expect(failed.map((f) => f.step)).toEqual(['removeRunRows']);
  expect(compensated).toEqual(['dropRunIndexes', 'dropCreatedTables', 'unregisterOwnership', 'releaseLease']);
  // The bridge tables were empty (archived), so the schema's compensation dropped them.
  const bridges = await l.target.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
    `public.${MAPPINGS.local_notes.bridgeTable}`,
  ]);
  expect(bridges).toEqual([{ t: null }]);
  expect(await userRows(l)).toEqual(rows);

  const remaining = await l.acts.runArtifacts({ target: cfg.target, runId, userId: l.userId });
  const migrated = (t: (typeof TABLE_ORDER)[number]) => l!.run.result.tables[t]!.inserted;
  expect(remaining).toEqual(
    TABLE_ORDER.filter((t) => migrated(t) > 0)
      .reverse()
      .map((t) => `${migrated(t)} rows in ${MAPPINGS[t].targetTable} written by run ${runId}`),
  );
  // The compensation run again (the runbook's clean) finds them through the archived bridge rows.
  await l.acts.removeRunRows({ target: cfg.target, runId, userId: l.userId });
  expect(await l.acts.runArtifacts({ target: cfg.target, runId, userId: l.userId })).toEqual([]);
});
