// backup lifecycle: verified backups of the source and the target, taken while the app writes.
// It changes nothing in the target (its undo is empty: backups are files kept for the runbook);
// the scratch database the target dump is verified in is gone afterwards.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { afterEach, expect, it } from 'vitest';
import { backupPhase } from '../../../workflows/phases/backup';
import { expectRestored, runPreflight, setUp, snapshot, type Lifecycle } from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

it('proves both backups verified, and leaves the target and the cluster as they were', async () => {
  l = await setUp();
  await runPreflight(l);
  const before = await snapshot(l);
  expect(backupPhase.undo(l.ctx)).toEqual([]);
  l.bystander.startWriting();
  await backupPhase.step(l.ctx);
  expect(await l.bystander.stop()).toBeGreaterThan(0);

  const [source, target] = l.run.backups;
  expect(source).toMatchObject({
    kind: 'source-sqlite',
    verified: true,
    verification: { integrityCheck: 'ok', userVersion: 12 },
  });
  expect(target).toMatchObject({
    kind: 'target-pg_dump',
    verified: true,
    verification: { database: l.target.database },
  });
  for (const b of [source!, target!]) {
    expect(existsSync(b.location), b.kind).toBe(true);
    expect(sha256(b.location), b.kind).toBe(b.sha256);
  }
  expect(l.run.result.backups.map((b) => b.kind)).toEqual(['source-sqlite', 'target-pg_dump']);
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
