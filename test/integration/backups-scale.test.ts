// Backups that scale (docs/design.md "Backups"): a 3-user rollout takes one verified full backup of
// its target and three per-user pre-images; full-backup verification restores on the scratch server
// one database at a time, even while other targets' runs verify theirs; a pre-image restore for one
// user brings exactly that user's rows back and leaves every other row alone; `backups prune`
// deletes what the policy says and refuses the rest.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { migrationWorkflowId } from '../../lib/input';
import type { MigrationResult, RolloutStatus } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { stagedRollout } from '../../workflows/rollout';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  useScratchServer,
  writeKeyring,
  writeWorkerConfig,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { seedTarget } from '../helpers/target-state';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const execFileP = promisify(execFile);
const dir = tempDir();
const backupDir = join(tempDir('migrator-backups-'), 'root');
const users = Array.from({ length: 3 }, (_, i) => ({ userId: randomUUID(), source: join(dir, `user-${i}.sqlite`) }));
const loners = Array.from({ length: 2 }, (_, i) => ({ userId: randomUUID(), source: join(dir, `loner-${i}.sqlite`) }));
const keyring = writeKeyring([...users, ...loners].map((u) => u.userId));
const MAPPED = ['notes', 'note_tasks', 'folders', 'note_folders'];
let worker: TestWorker;
let target: TestTarget;
let otherUser: string;
let env: NodeJS.ProcessEnv;

const cli = (args: string[]) =>
  execFileP(process.execPath, [BIN, ...args], { env }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

/** One user's rows of every mapped and bridge table, as ordered text: an independent view. */
async function rowsOf(t: TestTarget, userId: string): Promise<Record<string, string[]>> {
  const tables = await t.query<{ name: string }>(
    "SELECT format('%I.%I', table_schema, table_name) AS name FROM information_schema.columns WHERE column_name = 'user_id' AND table_schema IN ('public', 'migration_archive') ORDER BY 1",
  );
  const out: Record<string, string[]> = {};
  for (const { name } of tables) {
    const rows = await t.query<{ r: string }>(`SELECT x::text AS r FROM ${name} x WHERE user_id = $1 ORDER BY 1`, [
      userId,
    ]);
    if (rows.length) out[name] = rows.map((r) => r.r); // tables without the user's rows are left out
  }
  return out;
}

beforeAll(async () => {
  [...users, ...loners].forEach((u, i) => generateDataset({ path: u.source, seed: 300 + i, notes: 12 }));
  worker = await startTestWorker({ backupDir });
  target = await createTargetDatabase('bks');
  useScratchServer(target);
  // users[0] has rows in the target before the rollout: its pre-image must hold them.
  otherUser = (await seedTarget(target, users[0]!.userId)).otherUser;
  env = {
    ...process.env,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    MIGRATOR_WORKER_CONFIG: writeWorkerConfig(),
    MIGRATOR_BACKUP_DIR: backupDir,
  };
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

describe('a 3-user rollout', () => {
  let before: Record<string, string[]>;
  let rolloutRunId: string;

  it('takes one full backup and three pre-images; never more than one scratch database at a time', async () => {
    before = await rowsOf(target, users[0]!.userId);
    expect(before['public.notes']).toHaveLength(1);
    // Two more targets with a run each, started at the same time: their full backups want the
    // scratch server too, so the lock there (not luck) keeps scratch databases to one.
    const others = [await createTargetDatabase('bko'), await createTargetDatabase('bko')];
    others.forEach(useScratchServer);
    const admin = new pg.Client({ connectionString: inject('pgUrl') });
    await admin.connect();
    let maxScratch = 0;
    let samples = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const { rows } = await admin.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_database WHERE datname LIKE 'migrator\\_scratch\\_%'",
        );
        maxScratch = Math.max(maxScratch, rows[0]!.n);
        samples++;
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    try {
      const rollout = await worker.client.workflow.start(stagedRollout, {
        taskQueue: worker.taskQueue,
        workflowId: `bk-rollout-${randomUUID()}`,
        args: [
          {
            target: target.ref,
            keyring: keyring.ref,
            users,
            cohorts: [1],
            concurrency: 3,
            migration: { chunkRows: 500, sampleSize: 5 },
          },
        ],
      });
      rolloutRunId = rollout.firstExecutionRunId;
      const singles = others.map((t, i) =>
        worker.client.workflow.execute(migrationWorkflow, {
          taskQueue: worker.taskQueue,
          workflowId: `bk-single-${randomUUID()}`,
          args: [{ source: loners[i]!.source, userId: loners[i]!.userId, target: t.ref, keyring: keyring.ref }],
        }),
      );
      const [status, ...singleResults] = await Promise.all([rollout.result(), ...singles]);
      expect((status as RolloutStatus).cohorts[0]).toMatchObject({ migrated: 3, failed: 0 });
      for (const r of singleResults as MigrationResult[]) expect(r.status).toBe('completed');
    } finally {
      sampling = false;
      await sampler;
      await admin.end();
    }
    console.log(`[backups-scale] scratch databases: max ${maxScratch} at once over ${samples} samples`);
    expect(maxScratch).toBeLessThanOrEqual(1);

    // The rollout took the one full backup, verified on the scratch server, before any child ran.
    const full = await target.query<{ backup_id: string; run_id: string; method: string }>(
      'SELECT backup_id, run_id, method FROM migration_backups.full_backups',
    );
    expect(full).toEqual([{ backup_id: `${rolloutRunId}:target`, run_id: rolloutRunId, method: 'scratch-restore' }]);
    for (const t of others) {
      const theirs = await t.query<{ method: string }>('SELECT method FROM migration_backups.full_backups');
      expect(theirs).toEqual([{ method: 'scratch-restore' }]);
      await t.close();
    }
    // Each child shared it and took its own user's pre-image (and source copy); no child dumped.
    const inventory = await target.query<{ kind: string; n: number }>(
      'SELECT kind, count(*)::int AS n FROM migration.backup_inventory GROUP BY kind ORDER BY kind',
    );
    expect(inventory).toEqual([
      { kind: 'source-sqlite', n: 3 },
      { kind: 'target-pre-image', n: 3 },
    ]);
    for (const u of users) {
      const result = (await worker.client.workflow
        .getHandle(migrationWorkflowId({ target: target.ref, userId: u.userId }))
        .result()) as MigrationResult;
      expect(result.backups.map((b) => [b.kind, b.backupId.split(':')[1]])).toEqual([
        ['source-sqlite', 'source'],
        ['target-pg_dump', 'target'],
        ['target-pre-image', 'pre-image'],
      ]);
      expect(result.backups[1]!.backupId).toBe(`${rolloutRunId}:target`);
    }
    const relied = await target.query<{ id: string }>(
      "SELECT DISTINCT verification->>'fullBackupId' AS id FROM migration.backup_inventory WHERE kind = 'target-pre-image'",
    );
    expect(relied).toEqual([{ id: `${rolloutRunId}:target` }]);
  });

  it('a pre-image restore brings exactly that user’s rows back and leaves other users’ rows untouched', async () => {
    const [a, b] = users;
    const runA = (
      await target.query<{ run_id: string }>(
        "SELECT run_id FROM migration.backup_inventory WHERE user_id = $1 AND kind = 'target-pre-image'",
        [a!.userId],
      )
    )[0]!.run_id;
    // The user's rows change after the run: an edit, a delete, a new row.
    await target.query("UPDATE notes SET title_enc = '\\xff' WHERE user_id = $1", [a!.userId]);
    await target.query(
      'DELETE FROM note_tasks WHERE id = (SELECT min(id::text)::uuid FROM note_tasks WHERE user_id = $1)',
      [a!.userId],
    );
    const othersBefore = { b: await rowsOf(target, b!.userId), other: await rowsOf(target, otherUser) };
    expect(othersBefore.b['public.notes']!.length).toBeGreaterThan(0);
    expect((await rowsOf(target, a!.userId))['public.notes']).not.toEqual(before['public.notes']);

    const r = await cli([
      'backups',
      'restore-pre-image',
      '--target',
      target.ref,
      '--run-id',
      runA,
      '--expect-database',
      target.database,
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(r.stdout) as { userId: string; tables: { table: string; restored: number }[] };
    expect(report.userId).toBe(a!.userId);
    expect(report.tables.find((t) => t.table === 'public.notes')?.restored).toBe(1);
    // Exactly the pre-image: the seeded rows, none of the migrated ones, no bridge rows.
    expect(await rowsOf(target, a!.userId)).toEqual(before);
    expect(await rowsOf(target, b!.userId)).toEqual(othersBefore.b);
    expect(await rowsOf(target, otherUser)).toEqual(othersBefore.other);
    for (const t of MAPPED)
      expect((await target.query(`SELECT 1 FROM ${t} WHERE user_id = $1`, [a!.userId])).length).toBe(
        t === 'notes' || t === 'note_tasks' ? 1 : 0,
      );

    // A wrong database is refused before anything is touched.
    const refused = await cli([
      'backups',
      'restore-pre-image',
      '--target',
      target.ref,
      '--run-id',
      runA,
      '--expect-database',
      'not_this_one',
    ]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('--expect-database');
  });

  it('prune deletes what the policy says and refuses the rest', async () => {
    // Beside the rollout's backups: an older full backup, and backups of a run whose rollback
    // failed, of a run that is not finished, and of a run that rolled back cleanly.
    const fake = (name: string) => {
      const runDir = join(backupDir, name);
      mkdirSync(join(runDir, 'pre-image'), { recursive: true, mode: 0o700 });
      const file = join(runDir, 'pre-image', 'manifest.json');
      writeFileSync(file, '{}', { mode: 0o600 });
      return file;
    };
    const oldFull = join(backupDir, 'old-rollout', 'target.dump');
    mkdirSync(dirname(oldFull), { recursive: true });
    writeFileSync(oldFull, 'dump');
    await target.query(
      "INSERT INTO migration_backups.full_backups (backup_id, run_id, kind, location, bytes, sha256, method, taken_at) VALUES ('old-rollout:target', 'old-rollout', 'target-pg_dump', $1, 4, 'x', 'list-only', now() - interval '3 days')",
      [oldFull],
    );
    // An old full backup the unfinished run relies on (its pre-image names it): kept while it does.
    const reliedFull = join(backupDir, 'relied-rollout', 'target.dump');
    mkdirSync(dirname(reliedFull), { recursive: true });
    writeFileSync(reliedFull, 'dump');
    await target.query(
      "INSERT INTO migration_backups.full_backups (backup_id, run_id, kind, location, bytes, sha256, method, taken_at) VALUES ('relied-rollout:target', 'relied-rollout', 'target-pg_dump', $1, 4, 'x', 'list-only', now() - interval '4 days')",
      [reliedFull],
    );
    const runs = { failed: 'run-rollback-failed', open: 'run-not-finished', rolledBack: 'run-rolled-back' };
    for (const [state, run] of Object.entries(runs)) {
      await target.query(
        "INSERT INTO migration.backup_inventory (backup_id, run_id, user_id, kind, location, bytes, sha256, verified, verification, created_at) VALUES ($1, $2, $3, 'target-pre-image', $4, 2, 'x', true, $5, now() - interval '2 days')",
        [
          `${run}:pre-image`,
          run,
          randomUUID(),
          fake(run),
          JSON.stringify(state === 'open' ? { fullBackupId: 'relied-rollout:target' } : {}),
        ],
      );
      if (state !== 'open')
        await target.query("INSERT INTO migration.migration_log (run_id, phase, status) VALUES ($1, 'rollback', $2)", [
          run,
          state === 'failed' ? 'failed' : 'completed',
        ]);
    }
    const base = ['backups', 'prune', '--target', target.ref, '--older-than', '1d', '--keep-full', '1', '--json'];

    const dry = await cli([...base, '--dry-run']);
    expect(dry.code).toBe(0);
    const planned = JSON.parse(dry.stdout) as {
      deleted: { backupId: string }[];
      kept: { backupId: string; reason: string }[];
    };
    expect(planned.deleted.map((d) => d.backupId).sort()).toEqual([
      'old-rollout:target',
      `${runs.rolledBack}:pre-image`,
    ]);
    expect(existsSync(oldFull)).toBe(true); // a dry run changes nothing

    // Without --expect-database nothing is deleted.
    expect((await cli(base)).code).toBe(1);

    const real = await cli([...base, '--expect-database', target.database]);
    expect(real.code).toBe(0);
    const done = JSON.parse(real.stdout) as typeof planned;
    expect(done.deleted.map((d) => d.backupId).sort()).toEqual(planned.deleted.map((d) => d.backupId).sort());
    expect(existsSync(oldFull)).toBe(false);
    expect(existsSync(join(backupDir, runs.rolledBack))).toBe(false);
    const reason = (id: string) => done.kept.find((k) => k.backupId === id)?.reason;
    expect(reason(`${rolloutRunId}:target`)).toMatch(/newest full backups/); // the only verified one left
    expect(reason(`${runs.failed}:pre-image`)).toMatch(/rollback failed/);
    expect(reason(`${runs.open}:pre-image`)).toMatch(/not finished/);
    expect(reason('relied-rollout:target')).toMatch(/relies on it/);
    expect(existsSync(reliedFull)).toBe(true);
    expect(existsSync(join(backupDir, runs.failed, 'pre-image'))).toBe(true);
    expect(existsSync(join(backupDir, runs.open, 'pre-image'))).toBe(true);
    // The rollout's own pre-images are younger than a day: kept, files there.
    const young = await target.query<{ location: string }>(
      "SELECT location FROM migration.backup_inventory WHERE kind = 'target-pre-image' AND run_id NOT LIKE 'run-%'",
    );
    expect(young).toHaveLength(3);
    for (const y of young) expect(existsSync(y.location)).toBe(true);
    const marked = await target.query<{ backup_id: string }>(
      'SELECT backup_id FROM migration_backups.full_backups WHERE pruned_at IS NOT NULL UNION ALL SELECT backup_id FROM migration.backup_inventory WHERE pruned_at IS NOT NULL ORDER BY 1',
    );
    expect(marked.map((m) => m.backup_id)).toEqual(['old-rollout:target', `${runs.rolledBack}:pre-image`]);

    // With everything old enough, completed runs' backups go too; the only full backup never does.
    const all = await cli([
      'backups',
      'prune',
      '--target',
      target.ref,
      '--older-than',
      '0h',
      '--keep-full',
      '1',
      '--expect-database',
      target.database,
      '--json',
    ]);
    const last = JSON.parse(all.stdout) as typeof done;
    expect(last.deleted.map((d) => d.backupId.split(':')[1]).sort()).toEqual([
      'pre-image',
      'pre-image',
      'pre-image',
      'source',
      'source',
      'source',
    ]);
    expect(last.kept.map((k) => k.backupId).sort()).toEqual(
      [`${rolloutRunId}:target`, 'relied-rollout:target', `${runs.failed}:pre-image`, `${runs.open}:pre-image`].sort(),
    );
    // Usage errors name the option (exit 2).
    const zero = await cli([...base.slice(0, -1), '--keep-full', '0', '--dry-run']);
    expect(zero.code).toBe(2);
    expect(zero.stderr).toContain('--keep-full');
    expect((await cli([...base, '--older-than', 'soon', '--dry-run'])).code).toBe(2);
  });
});
