// backup lifecycle: verified backups of the source, the target (the window's full backup: none is
// recent, so this run takes it) and this user's pre-image, taken while the app writes. It changes
// nothing in the target's tables (its undo is empty: backups are files kept for the runbook); the
// scratch database the target dump is verified in (on the scratch server) is gone afterwards.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { backupPhase, scaledBackups } from '../../../workflows/phases/backup';
import { useScratchServer } from '../../helpers/stack';
import { expectRestored, runPreflight, setUp, snapshot, type Lifecycle } from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

it('proves the three backups verified, and leaves the target and the cluster as they were', async () => {
  l = await setUp();
  useScratchServer(l.target);
  await runPreflight(l);
  const before = await snapshot(l);
  expect(backupPhase.undo(l.ctx)).toEqual([]);
  l.bystander.startWriting();
  // The step as patch 'backups-scale' runs it (patched() needs a workflow context).
  await scaledBackups(l.ctx, true); // side by side, as runs started with patch 'parallel-backups' take them
  expect(await l.bystander.stop()).toBeGreaterThan(0);

  const [source, target, preImage] = l.run.backups;
  expect(source).toMatchObject({
    kind: 'source-sqlite',
    verified: true,
    verification: { integrityCheck: 'ok', userVersion: 12 },
  });
  expect(target).toMatchObject({
    kind: 'target-pg_dump',
    verified: true,
    verification: { database: l.target.database, method: 'scratch-restore' },
  });
  expect(preImage).toMatchObject({ kind: 'target-pre-image', verified: true, verification: { method: 're-read' } });
  // The seeded row of the migrating user is in it; nobody else's rows are.
  expect(preImage!.verification.rows).toBeGreaterThanOrEqual(1);
  for (const b of [source!, target!, preImage!]) {
    expect(existsSync(b.location), b.kind).toBe(true);
    expect(sha256(b.location), b.kind).toBe(b.sha256);
  }
  expect(l.run.result.backups.map((b) => b.kind)).toEqual(['source-sqlite', 'target-pg_dump', 'target-pre-image']);
  const recorded = await l.target.query<{ backup_id: string; method: string }>(
    'SELECT backup_id, method FROM migration_backups.full_backups',
  );
  expect(recorded).toEqual([{ backup_id: target!.backupId, method: 'scratch-restore' }]);
  // The dump holds the tables the migrator does not know too, with the rows they had.
  const settings = target!.fingerprint!['public.app_settings'];
  expect(settings?.rows).toBe(2);
  expect(settings?.checksum).toMatch(/^-?\d+$/);
  expect(target!.fingerprint!['public.notes']!.rows).toBeGreaterThanOrEqual(6);
  // The scratch database the dump was verified in is dropped.
  const scratch = `migrator_scratch_${createHash('sha256').update(l.run.runId).digest('hex').slice(0, 12)}`;
  expect(await l.target.query('SELECT datname FROM pg_database WHERE datname = $1', [scratch])).toEqual([]);
  await expectRestored(l, before);
});
