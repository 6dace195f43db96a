// The health probe writes nothing the app can see: its benchmark queries are read-only against the
// app's tables (an app trigger on notes never fires), and its write probe goes to the migrator's own
// table under a per-run key, so two runs' probes never wait on each other.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createDeps, migrationConnectionConfig, type ActivityDeps } from '../../activities/deps';
import { createHealthActivities, PROBE_USER_ID } from '../../activities/health';
import { createSchemaActivities } from '../../activities/schema';
import { sqlFile, sqlFolder, sqlStatements } from '../../infra/sql-files';
import { HealthSchema } from '../../lib/input';
import { createTargetDatabase, healthSource, tempDir, type TestTarget, testWorkerConfig } from '../helpers/stack';
import { waitUntil } from '../helpers/wait';

let target: TestTarget;
let deps: ActivityDeps;
const health = HealthSchema.parse({});

beforeAll(async () => {
  target = await createTargetDatabase();
  deps = createDeps({ backupDir: tempDir(), config: testWorkerConfig });
  await createSchemaActivities(deps).ensureSchema({ target: target.ref });
  // App rows, the probe user's among them, so the probe's queries have something to read.
  await target.query(
    `INSERT INTO notes (id, user_id, title_enc, props_enc, is_pinned, note_type, created_at, updated_at)
     SELECT gen_random_uuid(), CASE WHEN i % 10 = 0 THEN $1::uuid ELSE gen_random_uuid() END, '\\x01', '\\x02', i % 3 = 0, 'note', now(), now() - i * interval '1 minute'
     FROM generate_series(1, 2000) i`,
    [PROBE_USER_ID],
  );
  // The app's indexes, as on a live target the probe watches.
  for (const set of ['critical', 'post-migration'])
    for (const statement of sqlStatements(`indexes/${set}.sql`, { schema: '"public"' })) await target.query(statement);
  await target.query('ANALYZE notes');
  // The app's trigger: counts every write to notes in a sequence, which no rollback undoes (a write
  // inside a rolled-back transaction would still show).
  await target.query('CREATE SEQUENCE app_note_writes');
  await target.query(
    `CREATE FUNCTION app_count_note_writes() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM nextval('app_note_writes'); RETURN NULL; END $$`,
  );
  await target.query(
    'CREATE TRIGGER app_note_writes AFTER INSERT OR UPDATE OR DELETE ON notes FOR EACH ROW EXECUTE FUNCTION app_count_note_writes()',
  );
});
afterAll(async () => {
  await deps?.close();
  await target?.close();
});

it('the probe is read-only against the app: an app trigger on notes stays at zero, no row changes', async () => {
  const acts = createHealthActivities(deps);
  const userId = randomUUID();
  const before = await target.query<{ n: number; newest: Date }>(
    'SELECT count(*)::int AS n, max(updated_at) AS newest FROM notes',
  );
  const baselineMs = await acts.measureBaseline({
    target: target.ref,
    userId,
    health,
  });
  expect(baselineMs).toBeGreaterThan(0);
  for (let i = 0; i < 3; i++) {
    const reading = await acts.healthCheck({
      target: target.ref,
      userId,
      baselineMs,
      health,
      previous: {},
    });
    expect(reading.latencyMs).toBeGreaterThan(0);
  }
  expect(await target.query('SELECT last_value, is_called FROM app_note_writes')).toEqual([
    { last_value: 1, is_called: false },
  ]);
  expect(
    await target.query<{ n: number; newest: Date }>('SELECT count(*)::int AS n, max(updated_at) AS newest FROM notes'),
  ).toEqual(before);
  // The write probe's row was rolled back: the control table stays empty too.
  expect(await target.query('SELECT * FROM migration.health_probe')).toEqual([]);
});

it('the benchmark queries are read-only and the notes lookups use an index', async () => {
  const client = new pg.Client(migrationConnectionConfig(target.url));
  await client.connect();
  try {
    await client.query('BEGIN READ ONLY');
    for (const file of sqlFolder('health')) {
      for (const statement of sqlStatements(file, { schema: '"public"' })) {
        // EXPLAIN ANALYZE in a READ ONLY transaction: any write here would be refused (25006).
        const { rows } = await client.query<{ 'QUERY PLAN': unknown }>(
          `EXPLAIN (ANALYZE, FORMAT JSON) ${statement}`,
          statement.includes('$1') ? [PROBE_USER_ID] : [],
        );
        const plan = JSON.stringify(rows[0]!['QUERY PLAN']);
        if (/FROM notes /.test(statement))
          expect(plan, file).toMatch(/"Node Type":"(Index|Index Only|Bitmap Index) Scan"/);
      }
    }
    await client.query('ROLLBACK');
  } finally {
    await client.end();
  }
});

it('two runs probing at once do not block each other', async () => {
  const acts = createHealthActivities(deps);
  const runA = randomUUID();
  const runB = randomUUID();
  // Run A mid-probe: its write probe's transaction open on its own key, and a probe whose
  // benchmark transaction is held open by a slow statement.
  const holder = new pg.Client(migrationConnectionConfig(target.url));
  await holder.connect();
  try {
    await holder.query('BEGIN');
    await holder.query(sqlFile('health/write/health_probe.sql'), [runA]);
    let aDone = false;
    const probeA = acts
      .healthCheck({
        target: target.ref,
        userId: runA,
        baselineMs: 1,
        health: {
          ...health,
          sources: [healthSource({ kind: 'benchmark', sql: 'SELECT pg_sleep(6)' })],
        },
        previous: {},
      })
      .finally(() => (aDone = true));
    await waitUntil(
      "run A's probe in its benchmark transaction",
      async () =>
        (
          await target.query(
            "SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(6)%' AND state = 'active' AND pid <> pg_backend_pid()",
          )
        ).length > 0,
      {
        timeoutMs: 10_000,
      },
    );
    const started = Date.now();
    const readingB = await acts.healthCheck({
      target: target.ref,
      userId: runB,
      baselineMs: 1000,
      health,
      previous: {},
    });
    const elapsedMs = Date.now() - started;
    expect(readingB.latencyMs).toBeGreaterThan(0);
    expect(aDone).toBe(false); // B finished while A still held both transactions open
    expect(elapsedMs).toBeLessThan(5000);
    await holder.query('ROLLBACK');
    await probeA;
  } finally {
    await holder.end();
  }
});
