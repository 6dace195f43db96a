// indexes lifecycle: the critical and temporary sets built CONCURRENTLY while the app writes;
// undone by dropRunIndexes (only what this run recorded, so an index the app had stays).
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { indexesPhase } from '../../../workflows/phases/indexes';
import {
  expectRestored,
  indexNames as names,
  indexValidity as indexes,
  runPreflight,
  runSchemaActivities,
  setUp,
  snapshot,
  undo,
  type Lifecycle,
} from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

it('proves every critical and temporary index valid; its undo drops only the ones this run built', async () => {
  l = await setUp();
  // The app already has one index of the critical set under the same name: it is not the run's to drop.
  await l.target.query('CREATE INDEX folders_user_idx ON folders (user_id)');
  await runPreflight(l);
  await runSchemaActivities(l);
  const before = await snapshot(l);
  const wanted = [...names('critical'), ...names('temporary')];
  l.bystander.startWriting();
  await indexesPhase.step(l.ctx);

  expect(await indexes(l, wanted)).toEqual(Object.fromEntries(wanted.map((n) => [n, true])));
  expect(l.run.result.indexes.created).toEqual(wanted.filter((n) => n !== 'folders_user_idx'));
  expect(await undo(l, indexesPhase)).toEqual(['dropRunIndexes']);
  expect(await l.bystander.stop()).toBeGreaterThan(0);
  expect(await indexes(l, wanted)).toEqual({ folders_user_idx: true });
  await expectRestored(l, before);
});

it('its undo also drops an INVALID leftover of an interrupted build', async () => {
  l = await setUp();
  await runPreflight(l);
  await runSchemaActivities(l);
  const before = await snapshot(l);
  // An interrupted CREATE INDEX CONCURRENTLY leaves an INVALID index behind: the build waits for a
  // writer's open transaction and hits its statement_timeout.
  const writer = new pg.Client({ connectionString: l.target.url });
  const builder = new pg.Client({ connectionString: l.target.url });
  await Promise.all([writer.connect(), builder.connect()]);
  try {
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE note_tasks IN ROW EXCLUSIVE MODE');
    await builder.query("SET statement_timeout = '1s'");
    await expect(
      builder.query('CREATE INDEX CONCURRENTLY note_tasks_user_idx ON note_tasks (user_id)'),
    ).rejects.toMatchObject({ code: '57014' });
    await writer.query('ROLLBACK');
  } finally {
    await Promise.all([writer.end(), builder.end()]);
  }
  expect(await indexes(l, ['note_tasks_user_idx'])).toEqual({ note_tasks_user_idx: false });
  expect(await undo(l, indexesPhase)).toEqual(['dropRunIndexes']);
  await expectRestored(l, before);
});
