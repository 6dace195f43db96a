// Ownership across runs: run R1 ends ROLLBACK_FAILED with its rows left in the target; run R2 of
// the same user then completes over them (it maps R1's rows instead of inserting, validates the
// user's whole data and archives the bridge, R1's bridge rows included). Those rows are R2's
// validated data now: a later clean of R1 (`runbook clean` runs removeRunRows) must remove
// nothing and say which run owns them; a removal of R2's rows hands them back to R1.
import { randomUUID } from 'node:crypto';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { expect, it } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createRollbackActivities } from '../../activities/rollback';
import { RunSupersededError } from '../../lib/errors';
import { causeChain } from '../../lib/failures';
import { MAPPINGS, TABLE_ORDER } from '../../lib/mapping';
import type { MigrationResult } from '../../workflows/definitions';
import { progressQuery } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { tempDir, testWorkerConfig } from '../helpers/stack';
import { migrationFixture } from '../helpers/fixture';

const fx = migrationFixture('ownership', { seed: 23, notes: 120, seedTarget: true });
const { userId, source, keyring } = fx;

const start = (workflowId: string) =>
  fx.worker.client.workflow.start(migrationWorkflow, {
    taskQueue: fx.worker.taskQueue,
    workflowId,
    args: [
      {
        source,
        userId,
        target: fx.target.ref,
        keyring: keyring.ref,
        chunkRows: 50,
        parallelism: 1,
        heartbeatTimeoutMs: 3000,
      },
    ],
  });

/** This user's rows per mapped table: count and checksum (independent SQL). */
async function userRows(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const t of TABLE_ORDER) {
    const table = MAPPINGS[t].targetTable;
    const [r] = await fx.target.query<{ n: number; h: string | null }>(
      `SELECT count(*)::int AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM public.${table} x WHERE user_id = $1`,
      [userId],
    );
    out[table] = `${r!.n}:${r!.h}`;
  }
  return out;
}

it("a run that completed over a failed run's leftovers owns them: clean of the failed run removes nothing and names the owner", async () => {
  const seeded = await userRows();

  // R1: fails after the transfer, and its rollback cannot remove its rows.
  const r1Id = `own-r1-${randomUUID()}`;
  fx.worker.faults.plan(r1Id, { failAfterPhase: 'transfer', failCompensation: 'removeRunRows' });
  const r1 = await start(r1Id);
  const err = await r1.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  expect((causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure).type).toBe(
    'ROLLBACK_FAILED',
  );
  const r1RunId = (await r1.query(progressQuery)).runId;
  const left = await userRows();
  expect(left.notes).not.toBe(seeded.notes); // R1's rows are still there
  const [r1Bridge] = await fx.target.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM public.schema_bridge_notes WHERE run_id = $1 AND created_row',
    [r1RunId],
  );
  expect(r1Bridge!.n).toBeGreaterThan(0);

  // R2: same user, same target, completes over R1's rows.
  const r2 = await start(`own-r2-${randomUUID()}`);
  const result = (await r2.result()) as MigrationResult;
  expect(result.status).toBe('completed');
  expect(result.validation.ok).toBe(true);
  const r2RunId = result.runId;
  // R2 archived R1's bridge rows (still named for R1) and recorded that it took them over.
  const [archived] = await fx.target.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM migration_archive.schema_bridge_notes WHERE run_id = $1 AND created_row',
    [r1RunId],
  );
  expect(archived!.n).toBe(r1Bridge!.n);
  expect(
    await fx.target.query('SELECT run_id, superseded_by FROM migration.run_supersessions WHERE user_id = $1', [userId]),
  ).toEqual([{ run_id: r1RunId, superseded_by: r2RunId }]);
  const validated = await userRows();

  // The operator cleans R1 (what `runbook clean --run-id R1` runs): refused, nothing removed.
  const deps = createDeps({ backupDir: tempDir(), config: testWorkerConfig });
  try {
    const rollback = createRollbackActivities(deps);
    const refused = await rollback.removeRunRows({ target: fx.target.ref, runId: r1RunId, userId }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(RunSupersededError);
    expect(refused).toMatchObject({ type: 'RunSuperseded', runId: r1RunId, supersededBy: [r2RunId] });
    expect((refused as Error).message).toContain(`superseded by run ${r2RunId}`);
    expect(await userRows()).toEqual(validated);
    // The indexes R2 relies on stay too (R1's clean drops only indexes no other run uses).
    const before = await fx.target.query<{ name: string }>(
      "SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1",
    );
    await rollback.dropRunIndexes({ target: fx.target.ref, runId: r1RunId });
    expect(
      await fx.target.query("SELECT indexname AS name FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1"),
    ).toEqual(before);
    expect(await userRows()).toEqual(validated);

    // Should R2 be rolled back after all (its soak, or a clean of R2), R1's rows are R1's again:
    // R2 created none of them, so its removal leaves them, and R1's clean then removes them.
    const r2Removed = await rollback.removeRunRows({ target: fx.target.ref, runId: r2RunId, userId });
    expect(Object.values(r2Removed).every((n) => n === 0)).toBe(true);
    expect(
      await fx.target.query('SELECT run_id FROM migration.run_supersessions WHERE user_id = $1', [userId]),
    ).toEqual([]);
    expect(await userRows()).toEqual(validated);
    await rollback.removeRunRows({ target: fx.target.ref, runId: r1RunId, userId });
    expect(await userRows()).toEqual(seeded);
  } finally {
    await deps.close();
  }
}, 240_000);
