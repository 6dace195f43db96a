// Shared objects of a target (its indexes and tables) are owned by the target, not by a run: a
// run's compensations drop only what no other run uses. Focused tests of the activities, with
// "another run" played by a second run id, a second lease or a second session.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { indexNamesOf } from '../../activities/indexes';
import { waitUntil } from '../helpers/wait';
import { runPreflight, runSchemaActivities, setUp, type Lifecycle } from './phases/lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

const indexState = async (lc: Lifecycle, names: string[]) =>
  Object.fromEntries(
    (
      await lc.target.query<{ name: string; valid: boolean }>(
        'SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = ANY ($1::text[])',
        [names],
      )
    ).map((r) => [r.name, r.valid]),
  );

it('an index stays while another run uses it; the last run to leave drops it, whoever built it', async () => {
  l = await setUp();
  await runPreflight(l);
  await runSchemaActivities(l);
  const target = l.run.cfg.target;
  const a = l.run.runId;
  const b = randomUUID();
  const temporary = indexNamesOf('temporary');
  const critical = indexNamesOf('critical');
  for (const set of ['critical', 'temporary'] as const) await l.acts.buildIndexes({ target, runId: a, set });
  // B finds them built and relies on them.
  for (const set of ['critical', 'temporary'] as const)
    expect((await l.acts.buildIndexes({ target, runId: b, set })).created).toEqual([]);

  // A completes first (post-migration): B still uses the temporary indexes.
  expect(await l.acts.dropIndexes({ target, set: 'temporary', runId: a })).toEqual([]);
  expect(Object.keys(await indexState(l, temporary)).sort()).toEqual([...temporary].sort());
  // A is rolled back (or cleaned): the critical indexes it built stay, B uses them; they become B's to drop.
  expect(await l.acts.dropRunIndexes({ target, runId: a })).toEqual([]);
  expect(Object.values(await indexState(l, [...critical, ...temporary]))).toEqual(
    [...critical, ...temporary].map(() => true),
  );
  expect(await l.acts.runArtifacts({ target, runId: a, userId: l.userId })).toEqual([]);

  // B, the last user, rolls back: everything goes, the ones A built included.
  expect((await l.acts.dropRunIndexes({ target, runId: b })).sort()).toEqual([...critical, ...temporary].sort());
  expect(await indexState(l, [...critical, ...temporary])).toEqual({});
});

it("dropRunIndexes waits for the index-builder lock: another run's build in progress (INVALID meanwhile) is not dropped", async () => {
  l = await setUp();
  await runPreflight(l);
  await runSchemaActivities(l);
  const writer = new pg.Client({ connectionString: l.target.url });
  const builder = new pg.Client({ connectionString: l.target.url });
  await Promise.all([writer.connect(), builder.connect()]);
  try {
    // Another run builds note_tasks_user_idx under the builder lock; a writer's open transaction holds the build up.
    await builder.query("SELECT pg_advisory_lock(hashtextextended('migrator:indexes', 0))");
    await writer.query('BEGIN');
    await writer.query('LOCK TABLE note_tasks IN ROW EXCLUSIVE MODE');
    const build = builder.query('CREATE INDEX CONCURRENTLY IF NOT EXISTS note_tasks_user_idx ON note_tasks (user_id)');
    await waitUntil(
      'the build is in progress (INVALID)',
      async () => (await indexState(l!, ['note_tasks_user_idx'])).note_tasks_user_idx === false,
      { timeoutMs: 10_000 },
    );

    // This run's rollback starts while the build is in progress.
    let settled = false;
    const drop = l.acts
      .dropRunIndexes({ target: l.run.cfg.target, runId: l.run.runId })
      .finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 1500));
    expect(settled).toBe(false); // it waits for the builder, it does not drop the INVALID index under it
    await writer.query('COMMIT');
    await build;
    await builder.query("SELECT pg_advisory_unlock(hashtextextended('migrator:indexes', 0))");
    expect(await drop).toEqual([]);
    expect(await indexState(l, ['note_tasks_user_idx'])).toEqual({ note_tasks_user_idx: true });
  } finally {
    await Promise.all([writer.end(), builder.end()]);
  }
});

it('dropCreatedTables keeps a table another session is writing into or another run holds a lease for, and drops it once neither holds', async () => {
  l = await setUp();
  await runPreflight(l);
  await runSchemaActivities(l);
  const target = l.run.cfg.target;
  const runId = l.run.runId;
  const table = 'public.schema_bridge_notes';
  const present = async () =>
    (await l!.target.query<{ p: boolean }>('SELECT to_regclass($1) IS NOT NULL AS p', [table]))[0]!.p;

  // Another run's chunk is committing into it (a row not yet visible: the table looks empty).
  const chunk = new pg.Client({ connectionString: l.target.url });
  await chunk.connect();
  try {
    await chunk.query('BEGIN');
    await chunk.query(
      "INSERT INTO public.schema_bridge_notes (user_id, local_id, status, run_id) VALUES ($1, 'x', 'pending', 'other-run')",
      [l.bystander.otherUser],
    );
    expect(await l.acts.dropCreatedTables({ target, tables: [table], runId })).toEqual({
      dropped: [],
      kept: [`${table} (in use by another session)`],
    });
    await chunk.query('ROLLBACK');
  } finally {
    await chunk.end();
  }
  expect(await present()).toBe(true);

  // Another run (another user) holds a lease: it may write into the table any moment.
  const other = randomUUID();
  await l.acts.acquireLease({ target, runId: other, userId: l.bystander.otherUser });
  expect(await l.acts.dropCreatedTables({ target, tables: [table], runId })).toEqual({
    dropped: [],
    kept: [`${table} (run ${other} holds a lease)`],
  });
  expect(await present()).toBe(true);
  // Without its run id the caller's own held lease counts too: nothing is dropped on a guess.
  await l.acts.releaseLease({ target, runId: other });
  expect((await l.acts.dropCreatedTables({ target, tables: [table] })).dropped).toEqual([]);

  // Another run ensured the schema a moment ago and is about to take its lease: it relies on the table.
  const starting = randomUUID();
  await l.acts.ensureSchema({ target, runId: starting });
  expect(await l.acts.dropCreatedTables({ target, tables: [table], runId })).toEqual({
    dropped: [],
    kept: [`${table} (run ${starting} uses the schema)`],
  });
  await l.acts.acquireLease({ target, runId: starting, userId: l.bystander.otherUser });
  await l.acts.releaseLease({ target, runId: starting }); // it finished (or rolled back)

  // An app table the migrator does not know references it: dropping would need CASCADE, so it stays.
  await l.target.query(
    'CREATE TABLE app_links (user_id uuid, local_id text, FOREIGN KEY (user_id, local_id) REFERENCES public.schema_bridge_notes (user_id, local_id))',
  );
  expect(await l.acts.dropCreatedTables({ target, tables: [table], runId })).toEqual({
    dropped: [],
    kept: [`${table} (other objects depend on it)`],
  });
  await l.target.query('DROP TABLE app_links');

  // Nobody else: empty, unlocked, no other lease → dropped.
  expect(await l.acts.dropCreatedTables({ target, tables: [table], runId })).toEqual({ dropped: [table], kept: [] });
  expect(await present()).toBe(false);
});
