// preflight lifecycle: reads only. It records the pre-run fingerprint and changes nothing in a
// target that other writers keep writing to meanwhile.
import Database from 'better-sqlite3';
import { afterEach, expect, it } from 'vitest';
import { diffFingerprints } from '../../../lib/fingerprint';
import { TABLE_ORDER } from '../../../lib/mapping';
import { preflightPhase } from '../../../workflows/phases/preflight';
import { expectRestored, runPreflight, setUp, snapshot, type Lifecycle } from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

it('proves the source sound and the target identified, records the fingerprint, and changes nothing', async () => {
  l = await setUp();
  const before = await snapshot(l);
  expect(preflightPhase.undo(l.ctx)).toEqual([]);
  l.bystander.startWriting();
  await runPreflight(l);
  expect(await l.bystander.stop()).toBeGreaterThan(0);

  const pre = l.run.preflight!;
  expect(pre.userVersion).toBe(12);
  expect(pre.target?.database).toBe(l.target.database);
  const db = new Database(l.source, { readonly: true });
  for (const t of TABLE_ORDER)
    expect(pre.sourceRows[t], t).toBe((db.prepare(`SELECT count(*) AS n FROM "${t}"`).get() as { n: number }).n);
  db.close();
  // The recorded fingerprint is this user's view of the target as it was (others' writes do not count).
  expect(diffFingerprints(before.fingerprint, l.run.before!)).toEqual([]);
  // Scoped to what a run can touch: the mapped tables and their bridges, not the app's other tables.
  expect(Object.keys(l.run.before!.tables)).toEqual(
    expect.arrayContaining(['public.notes', 'public.note_tasks', 'public.folders', 'public.note_folders']),
  );
  expect(Object.keys(l.run.before!.tables)).not.toContain('public.app_settings');
  expect(Object.keys(l.run.before!.tables)).not.toContain('public.app_audit');
  await expectRestored(l, before);
});

it('refuses a target that is not the expected database, with a typed error, before any write', async () => {
  l = await setUp({ input: { expectDatabase: 'some_other_db' } });
  const before = await snapshot(l);
  await expect(runPreflight(l)).rejects.toMatchObject({
    type: 'TargetIdentity',
    message: expect.stringContaining('some_other_db'),
  });
  expect(l.run.before).toBeNull();
  await expectRestored(l, before);
});
