// validation lifecycle: reads only. Counts, checksums, target digests, a decrypting sample and the
// references pass on a correct transfer and change nothing; a sampled row that does not decrypt is a
// validation failure naming the row, not an activity error retried as if transient; a target row
// changed after the transfer fails the digest comparison naming its table.
import { afterEach, expect, it } from 'vitest';
import { indexesPhase } from '../../../workflows/phases/indexes';
import { validationPhase } from '../../../workflows/phases/validation';
import {
  expectRestored,
  runPreflight,
  runSchemaActivities,
  runTransferActivities,
  setUp,
  snapshot,
  type Lifecycle,
} from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

async function transferred(sampleSize = 1000): Promise<Lifecycle> {
  // By default a sample larger than the source: every row is deep-compared.
  const lc = await setUp({ notes: 30, input: { sampleSize } });
  await runPreflight(lc);
  await runSchemaActivities(lc);
  await indexesPhase.step(lc.ctx);
  await runTransferActivities(lc);
  return lc;
}

it('proves counts, checksums, the sample and the references, and changes nothing', async () => {
  l = await transferred();
  const before = await snapshot(l);
  expect(validationPhase.undo(l.ctx)).toEqual([]);
  l.bystander.startWriting();
  await validationPhase.step(l.ctx);
  expect(await l.bystander.stop()).toBeGreaterThan(0);
  expect(l.run.result.validation).toMatchObject({ ok: true, failures: [] });
  for (const [t, r] of Object.entries(l.run.result.tables)) {
    expect(r.sampled, t).toBe(r.sourceRows);
    expect(r.targetChecksum, t).toBe(r.checksum);
  }
  await expectRestored(l, before);
});

it('reports a sampled row that does not decrypt as a validation failure naming it', async () => {
  l = await transferred();
  // Damage the ciphertext of one migrated note (its last byte: the authentication tag).
  const [row] = await l.target.query<{ local_id: string; remote_id: string }>(
    "SELECT local_id, remote_id::text FROM public.schema_bridge_notes WHERE user_id = $1 AND status = 'completed' ORDER BY local_id LIMIT 1",
    [l.userId],
  );
  await l.target.query(
    "UPDATE notes SET title_enc = overlay(title_enc PLACING decode(CASE WHEN get_byte(title_enc, length(title_enc) - 1) = 0 THEN '01' ELSE '00' END, 'hex') FROM length(title_enc)) WHERE id = $1",
    [row!.remote_id],
  );
  const before = await snapshot(l);
  const err = await validationPhase.step(l.ctx).catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'ValidationFailed', nonRetryable: true });
  expect(l.run.result.validation.ok).toBe(false);
  expect(l.run.result.validation.failures).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^local_notes: target rows digest \d+ != \d+ recorded when they were written/),
      `local_notes: sampled row ${row!.local_id} does not decrypt`,
    ]),
  );
  await expectRestored(l, before);
});

// Without a sample, only the digests compared: one flipped ciphertext byte, and one timestamp a
// microsecond off (within the sample's tolerance, so only the digest can see it), each fail the
// validation naming their table, and nothing else.
it.each([
  {
    table: 'local_notes',
    change:
      "UPDATE notes SET props_enc = set_byte(props_enc, 3, 255 - get_byte(props_enc, 3)) WHERE id = (SELECT remote_id FROM public.schema_bridge_notes WHERE user_id = $1 AND status = 'completed' ORDER BY local_id LIMIT 1)",
  },
  {
    table: 'note_tasks',
    change:
      "UPDATE note_tasks SET updated_at = updated_at + interval '1 microsecond' WHERE id = (SELECT remote_id FROM public.schema_bridge_tasks WHERE user_id = $1 AND status = 'completed' ORDER BY local_id LIMIT 1)",
  },
])(
  'a target row of $table changed after the transfer fails the digest comparison naming it',
  async ({ table, change }) => {
    l = await transferred(0);
    expect(await l.target.query(`${change} RETURNING id`, [l.userId])).toHaveLength(1);
    const err = await validationPhase.step(l.ctx).catch((e: unknown) => e);
    expect(err).toMatchObject({ type: 'ValidationFailed', nonRetryable: true });
    const failures = l.run.result.validation.failures;
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatch(
      new RegExp(`^${table}: target rows digest \\d+ != \\d+ recorded when they were written`),
    );
  },
);

// A run whose schema phase ran on a build without target digests: its chunks record none, and
// validation decrypts every row as before (and still passes on a correct transfer).
it('without recorded digests (a control schema from an older build) decrypts every row instead', async () => {
  l = await setUp({ notes: 30, input: { sampleSize: 0 } });
  await runPreflight(l);
  await runSchemaActivities(l);
  await indexesPhase.step(l.ctx);
  await l.target.query('ALTER TABLE migration.chunk_ledger DROP COLUMN target_digest');
  await runTransferActivities(l);
  await validationPhase.step(l.ctx);
  expect(l.run.result.validation).toMatchObject({ ok: true, failures: [] });
  for (const [t, r] of Object.entries(l.run.result.tables)) expect(r.targetChecksum, t).toBe(r.checksum);
  // The same damage the digest catches is caught by decrypting: a flipped ciphertext byte.
  await l.target.query(
    "UPDATE notes SET props_enc = set_byte(props_enc, 3, 255 - get_byte(props_enc, 3)) WHERE id = (SELECT remote_id FROM public.schema_bridge_notes WHERE user_id = $1 AND status = 'completed' ORDER BY local_id LIMIT 1)",
    [l.userId],
  );
  const err = await validationPhase.step(l.ctx).catch((e: unknown) => e);
  expect(err).toMatchObject({ type: 'ValidationFailed' });
  expect(l.run.result.validation.failures).toContain("local_notes: 1 target rows do not decrypt with the user's key");
});
