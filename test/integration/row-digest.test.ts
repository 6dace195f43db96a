// The target-row digest the worker computes as it writes (activities/row-digest.ts) equals the one
// PostgreSQL computes over the stored rows (sql/queries/digest_*.sql) for every column type the
// chunks write: uuid, timestamptz, bytea, jsonb, text, integer, boolean, and NULLs; and differs as
// soon as one stored byte or one microsecond does. The rows go through the chunk path's own COPY
// staging write (activities/stage-rows.ts), so its text-format escaping is covered too.
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';
import { copyAndInsert, ensureStage } from '../../activities/stage-rows';
import { sqlFile, sqlFolder } from '../../infra/sql-files';
import { mappingFor } from '../../lib/mapping';
import { addDigests, DigestAccumulator, DIGEST_COLUMNS } from '../../activities/row-digest';
import { createTargetDatabase, type TestTarget } from '../helpers/stack';

let target: TestTarget | undefined;
afterEach(async () => {
  await target?.close();
  target = undefined;
});

const every256 = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
const awkward = 'tab\there, newline\nand \\backslash\\, CR\r, comma, "quote", ünïcödé ✓ and 𝄞 astral';
const json = JSON.stringify({
  zeta: 1,
  a: [1.5, -0, 1e21, 1e-7, 2.5e-8, 123456789012, true, false, null, 'x\ny"\\'],
  bb: { nested: { ü: 'ç', '': 0 }, z: [] },
  ctl: '\u0001\u001f',
  emoji: '😀',
});

async function roundTrip(table: string, encoded: unknown[][], userId: string): Promise<void> {
  const mapping = mappingFor(table);
  const client = new pg.Client({ connectionString: target!.url });
  await client.connect();
  try {
    await client.query('BEGIN');
    await ensureStage(client, mapping);
    const { inserted, digests } = await copyAndInsert(client, 'public', mapping, encoded, userId);
    expect(inserted.size, table).toBe(encoded.length);
    const worker = new DigestAccumulator();
    for (const d of digests.values()) worker.addDigest(d.toString());
    const ids = encoded.map((r) => String(r[0]));
    const vars = { schema: 'public', bridge: mapping.bridgeTable };
    const pgDigest = async () =>
      (
        await client.query<{ n: number; digest: string }>(sqlFile(`queries/digest_${mapping.targetTable}.sql`, vars), [
          userId,
          ids,
        ])
      ).rows[0]!;
    const stored = await pgDigest();
    expect(stored.n, table).toBe(encoded.length);
    expect(addDigests(stored.digest), table).toBe(worker.value());
    // One microsecond later on one timestamp: the digest differs.
    const tsIndex = DIGEST_COLUMNS[mapping.targetTable].lastIndexOf('ts');
    const tsColumn = (
      await client.query<{ column_name: string }>(
        'SELECT column_name FROM information_schema.columns WHERE table_name = $1 AND ordinal_position = $2',
        [mapping.targetTable, tsIndex + 1],
      )
    ).rows[0]!.column_name;
    await client.query('SAVEPOINT flip');
    await client.query(
      `UPDATE ${mapping.targetTable} SET ${tsColumn} = ${tsColumn} + interval '1 microsecond' WHERE ${mapping.targetKeyColumn} = $1`,
      [ids[0]],
    );
    expect(addDigests((await pgDigest()).digest), table).not.toBe(worker.value());
    await client.query('ROLLBACK TO SAVEPOINT flip');
    await client.query('COMMIT'); // the next tables reference these rows
  } finally {
    await client.end();
  }
}

it('PostgreSQL computes the digest the worker recorded, for every column type and NULLs', async () => {
  target = await createTargetDatabase('dg');
  for (const file of [...sqlFolder('target'), ...sqlFolder('control')])
    await target.query(sqlFile(file, { schema: '"public"' }));
  const userId = randomUUID();
  const ts = (ms: number) => new Date(ms).toISOString();
  const [f1, f2, n1, n2] = [randomUUID(), randomUUID(), randomUUID(), randomUUID()];
  // A client that writes upper-case uuids is digested as PostgreSQL prints them.
  await roundTrip(
    'local_folders',
    [
      [f1.toUpperCase(), every256, Buffer.alloc(0), true, ts(0), ts(Date.UTC(2024, 1, 29, 23, 59, 59, 999))],
      [f2, Buffer.from([0x5c, 0x0a, 0x09]), every256.subarray(200), false, ts(-86_400_123), ts(1)],
    ],
    userId,
  );
  await roundTrip(
    'local_notes',
    [
      [n1, every256, Buffer.from('\\x00'), json, true, 'note', false, ts(1_700_000_000_123), ts(1_700_000_000_124)],
      [
        n2,
        Buffer.from([0]),
        Buffer.from([255]),
        null,
        false,
        'template',
        true,
        ts(946_684_800_000),
        ts(4_102_444_800_000),
      ],
    ],
    userId,
  );
  await roundTrip(
    'note_folders',
    [
      [n1, f1, ts(5)],
      [n2, f2, ts(1_234_567_890_123)],
    ],
    userId,
  );
  await roundTrip(
    'note_tasks',
    [
      [randomUUID(), n1, awkward, 'pending', 0, null, null, -7, json, false, ts(10), ts(11)],
      [randomUUID(), n2, '', 'completed', 2_147_483_647, ts(12), ts(13), 0, '[]', true, ts(14), ts(15)],
      [randomUUID(), n2, '~', 'cancelled', -1, ts(16), null, 3, '"a string"', false, ts(17), ts(18)],
    ],
    userId,
  );
});
