// The chunk's batched statements (activities/batched-statements.ts) against a real PostgreSQL: values
// inlined as literals arrive exactly as bound parameters would (source keys may hold quotes,
// backslashes, newlines, any Unicode), and a failing statement stops the batch before its COMMIT.
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { batched, inlineLiterals } from '../../activities/batched-statements';
import { createTargetDatabase, type TestTarget } from '../helpers/stack';

let target: TestTarget;
let client: pg.Client;

beforeAll(async () => {
  target = await createTargetDatabase('batch');
  client = new pg.Client({ connectionString: target.url });
  await client.connect();
  await client.query('CREATE TABLE ledger (k text PRIMARY KEY, n integer)');
});
afterAll(async () => {
  await client?.end();
  await target?.close();
});

const NASTY = [
  "o'brien",
  "''; DROP TABLE ledger; --",
  'back\\slash \\x41 \\\\',
  'tab\there\nnewline\r',
  '$1 $$ dollar $tag$',
  'émoji 🦆 ̈́ 中文',
  '',
];

it('inlined literals reach PostgreSQL byte for byte, as bound parameters do', async () => {
  for (const value of NASTY) {
    const text = inlineLiterals(client, 'SELECT $1::text AS v, $2::int AS n, $3::text AS z', [value, 42, null]);
    const inlined = (await client.query<{ v: string; n: number; z: null }>(text)).rows[0]!;
    const bound = (await client.query<{ v: string }>('SELECT $1::text AS v', [value])).rows[0]!;
    expect(inlined).toEqual({ v: value, n: 42, z: null });
    expect(inlined.v).toBe(bound.v);
  }
  expect(await target.query('SELECT count(*)::int AS n FROM ledger')).toEqual([{ n: 0 }]); // the table is still there
});

it('a batch returns each statement’s rows in order, and a failing statement never reaches its COMMIT', async () => {
  const rows = await batched(client, [
    'BEGIN',
    { file: 'queries/table_exists.sql', params: ['public.ledger'] },
    'COMMIT',
  ]);
  expect(rows).toHaveLength(3);
  expect(rows[0]).toEqual([]);
  expect(rows[1]).toEqual([{ present: true }]);

  await client.query('BEGIN');
  await client.query("INSERT INTO ledger VALUES ('first', 1)");
  const failed = await client
    .query(
      [
        inlineLiterals(client, 'INSERT INTO ledger VALUES ($1, 2)', [NASTY[0]!]),
        inlineLiterals(client, 'INSERT INTO ledger VALUES ($1, 3)', ['first']), // duplicate key: 23505
        'COMMIT;',
      ].join('\n'),
    )
    .then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
  expect(failed?.code).toBe('23505');
  await client.query('ROLLBACK');
  expect(await target.query('SELECT count(*)::int AS n FROM ledger')).toEqual([{ n: 0 }]);
});
