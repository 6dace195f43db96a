// schema lifecycle: the control and bridge tables, the run lease, the backup records and the
// health baseline; undone by releaseLease and dropCreatedTables (only tables this run created).
import { randomUUID } from 'node:crypto';
import { afterEach, expect, it } from 'vitest';
import { MAPPINGS, TABLE_ORDER } from '../../../lib/mapping';
import { schemaPhase } from '../../../workflows/phases/schema';
import { expectRestored, runPreflight, runSchemaActivities, setUp, snapshot, undo, type Lifecycle } from './lifecycle';

let l: Lifecycle | undefined;
afterEach(async () => {
  await l?.close();
  l = undefined;
});

const bridges = TABLE_ORDER.map((t) => `public.${MAPPINGS[t].bridgeTable}`);

async function leases(lc: Lifecycle): Promise<Record<string, string>> {
  const rows = await lc.target.query<{ run_id: string; state: string }>(
    'SELECT run_id, state FROM migration.run_leases WHERE user_id = $1',
    [lc.userId],
  );
  return Object.fromEntries(rows.map((r) => [r.run_id, r.state]));
}

async function present(lc: Lifecycle, tables: string[]): Promise<string[]> {
  const rows = await lc.target.query<{ t: string }>(
    'SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL',
    [tables],
  );
  return rows.map((r) => r.t);
}

it('proves the lease held and the baseline measured; its undo drops what it created and releases the lease', async () => {
  l = await setUp();
  await runPreflight(l);
  const before = await snapshot(l);
  expect(await present(l, bridges)).toEqual([]);
  l.bystander.startWriting();
  await runSchemaActivities(l);

  expect(await present(l, bridges)).toEqual(bridges);
  expect(await leases(l)).toEqual({ [l.run.runId]: 'held' });
  // The lease excludes any other run of this user.
  await expect(
    l.acts.acquireLease({ target: l.run.cfg.target, runId: randomUUID(), userId: l.userId }),
  ).rejects.toMatchObject({ type: 'LeaseLost' });
  const log = await l.target.query<{ message: string }>(
    "SELECT message FROM migration.migration_log WHERE run_id = $1 AND phase = 'health'",
    [l.run.runId],
  );
  expect(log[0]?.message).toMatch(/^baseline latency \d+\.\d ms$/);

  expect(await undo(l, schemaPhase)).toEqual(['dropCreatedTables', 'unregisterOwnership', 'releaseLease']);
  expect(await l.bystander.stop()).toBeGreaterThan(0);
  expect(await leases(l)).toEqual({ [l.run.runId]: 'released' });
  expect(await present(l, bridges)).toEqual([]);
  await expectRestored(l, before);
  // Released means released: another run of this user can take the lease now.
  await l.acts.acquireLease({ target: l.run.cfg.target, runId: randomUUID(), userId: l.userId });
});

it("keeps bridge tables another run created, with that run's rows", async () => {
  l = await setUp();
  // Another user's run already created the schema and wrote a bridge row.
  await l.acts.ensureSchema({ target: l.run.cfg.target });
  await l.target.query(
    "INSERT INTO public.schema_bridge_notes (user_id, local_id, remote_id, status, run_id, created_row) VALUES ($1, 'n1', $2, 'completed', 'other-run', true)",
    [l.bystander.otherUser, randomUUID()],
  );
  await runPreflight(l);
  const before = await snapshot(l);
  l.bystander.startWriting();
  await runSchemaActivities(l);
  expect(await undo(l, schemaPhase)).toEqual(['dropCreatedTables', 'unregisterOwnership', 'releaseLease']);
  await l.bystander.stop();
  expect(await present(l, bridges)).toEqual(bridges);
  await expectRestored(l, before);
});

it('undoes a schema step that failed before the control tables existed: nothing to release, no ROLLBACK_FAILED', async () => {
  l = await setUp();
  await runPreflight(l);
  const before = await snapshot(l);
  // The step never ran (as when ensureSchema fails on its first statement): no migration.run_leases.
  expect((await l.target.query("SELECT to_regclass('migration.run_leases') AS t"))[0]?.t ?? null).toBeNull();
  expect(await undo(l, schemaPhase)).toEqual(['dropCreatedTables', 'unregisterOwnership', 'releaseLease']);
  await expectRestored(l, before);
});
