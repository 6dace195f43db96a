// Two runs on one target share its tables and indexes; neither may drop what the other uses.
// Run A (user a) creates the schema and the indexes on a fresh target; run B (user b) starts after
// it and relies on them; A is aborted while both are mid-transfer. A's rollback must leave B's
// rows, tables and indexes alone (B holds a lease, B is registered as a user of the indexes), leave
// no INVALID index, and B completes with its validation ok; the last run to leave drops the
// temporary indexes. Then the schema-undo race alone: A's preflight, B's ensureSchema, A's schema
// step and undo → the bridge tables B created survive.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { ApplicationFailure, WorkflowFailedError } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { indexNamesOf } from '../../activities/indexes';
import { generateDataset } from '../../gen/generate';
import { causeChain } from '../../lib/failures';
import { MAPPINGS, TABLE_ORDER } from '../../lib/mapping';
import {
  abortUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  type MigrationResult,
} from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import { schemaPhase } from '../../workflows/phases/schema';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { invalidIndexes } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';
import { runPreflight, runSchemaActivities, setUp, undo, type Lifecycle } from './phases/lifecycle';

const bridges = TABLE_ORDER.map((t) => `public.${MAPPINGS[t].bridgeTable}`);

describe('two concurrent runs on one fresh target', () => {
  let worker: TestWorker;
  let target: TestTarget;
  const userA = randomUUID();
  const userB = randomUUID();
  const dir = tempDir();
  const sourceA = join(dir, 'a.sqlite');
  const sourceB = join(dir, 'b.sqlite');
  const keyring = writeKeyring([userA, userB]);

  beforeAll(async () => {
    generateDataset({ path: sourceA, seed: 31, notes: 400 });
    generateDataset({ path: sourceB, seed: 32, notes: 400 });
    worker = await startTestWorker();
    target = await createTargetDatabase('conc');
  });
  afterAll(async () => {
    await worker?.stop();
    await target?.close();
  });

  const start = (name: string, source: string, userId: string) =>
    worker.client.workflow.start(migrationWorkflow, {
      taskQueue: worker.taskQueue,
      workflowId: `conc-${name}-${randomUUID()}`,
      args: [
        {
          source,
          userId,
          target: target.ref,
          keyring: keyring.ref,
          chunkRows: 20,
          parallelism: 1,
          heartbeatTimeoutMs: 3000,
        },
      ],
    });
  const inTransfer = (h: Awaited<ReturnType<typeof start>>) => async () =>
    (await h.query(progressQuery)).phase === 'transfer';

  /** User b's rows per mapped table (count and checksum, independent SQL). */
  async function rowsOfB(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    for (const t of TABLE_ORDER) {
      const table = MAPPINGS[t].targetTable;
      const [r] = await target.query<{ n: number; h: string | null }>(
        `SELECT count(*)::int AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM public.${table} x WHERE user_id = $1`,
        [userB],
      );
      out[table] = `${r!.n}:${r!.h}`;
    }
    return out;
  }
  const indexes = async () =>
    (
      await target.query<{ name: string; valid: boolean }>(
        "SELECT c.relname AS name, i.indisvalid AS valid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
      )
    ).map((r) => `${r.name}${r.valid ? '' : ' INVALID'}`);

  it("aborting one mid-transfer leaves the other's rows, tables and indexes; it completes with validation ok", async () => {
    // A first: it creates every table and index of the fresh target.
    const a = await start('a', sourceA, userA);
    await waitUntil('A is transferring', inTransfer(a), { timeoutMs: 90_000 });
    await a.executeUpdate(pauseUpdate);
    const [created] = await target.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM migration.created_indexes WHERE run_id = $1',
      [(await a.query(progressQuery)).runId],
    );
    expect(created!.n).toBeGreaterThan(0);

    // B relies on them: it finds them there, registers as their user, transfers.
    const b = await start('b', sourceB, userB);
    await waitUntil('B is transferring', inTransfer(b), { timeoutMs: 90_000 });
    await waitUntil(
      'B committed rows',
      async () =>
        (await target.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [userB]))[0]!.n >
        0,
      {
        timeoutMs: 60_000,
      },
    );
    await b.executeUpdate(pauseUpdate);
    // A chunk already in flight when B paused still commits: wait until B's rows hold still.
    let last = '';
    await waitUntil(
      "B's rows hold still",
      async () => {
        const now = JSON.stringify(await rowsOfB());
        const still = now === last;
        last = now;
        return still;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
    const bRows = await rowsOfB();
    const bIndexes = await indexes();
    expect(bIndexes.some((i) => i.startsWith('tmp_'))).toBe(true);

    await a.executeUpdate(abortUpdate, { args: ['operator abort'] });
    const err = await a.result().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(WorkflowFailedError);
    expect((causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure).type).toBe(
      'RolledBack',
    );
    expect(
      (await target.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [userA]))[0]!.n,
    ).toBe(0);

    // A rolled back: B's rows, the tables and every index B uses are still there, all valid.
    expect(await rowsOfB()).toEqual(bRows);
    expect(await indexes()).toEqual(bIndexes);
    expect(await invalidIndexes(target)).toEqual([]);
    const present = await target.query<{ t: string }>(
      'SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL',
      [bridges],
    );
    expect(present.map((r) => r.t)).toEqual(bridges);

    await b.executeUpdate(resumeUpdate);
    const result = (await b.result()) as MigrationResult;
    expect(result.status).toBe('completed');
    expect(result.validation).toMatchObject({ ok: true, failures: [] });
    expect(await invalidIndexes(target)).toEqual([]);
    // B was the last user of the temporary indexes (A left at its rollback): B dropped them.
    expect(result.indexes.temporaryDropped.sort()).toEqual(indexNamesOf('temporary').sort());
    expect((await indexes()).filter((i) => i.startsWith('tmp_'))).toEqual([]);
    for (const name of [...indexNamesOf('critical'), ...indexNamesOf('post-migration')])
      expect(await indexes()).toContain(name);
  }, 300_000);
});

describe('the schema undo race', () => {
  let l: Lifecycle | undefined;
  afterAll(async () => l?.close());

  it("preflight A, ensureSchema of another run B, schema and undo of A: B's bridge tables survive", async () => {
    l = await setUp();
    const present = async () =>
      (
        await l!.target.query<{ t: string }>('SELECT t FROM unnest($1::text[]) t WHERE to_regclass(t) IS NOT NULL', [
          bridges,
        ])
      ).map((r) => r.t);
    await runPreflight(l); // A sees no bridge table yet
    expect(await present()).toEqual([]);
    await l.acts.ensureSchema({ target: l.run.cfg.target }); // B creates them (still empty)
    await runSchemaActivities(l); // A's schema step: ensureSchema reports it created nothing
    expect(l.run.createdTables).toEqual([]);
    expect(await undo(l, schemaPhase)).toEqual(['dropCreatedTables', 'unregisterOwnership', 'releaseLease']);
    expect(await present()).toEqual(bridges);
  });
});
