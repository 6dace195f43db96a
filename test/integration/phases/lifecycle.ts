// Shared code of the phase lifecycle tests (docs/conventions.md §3, §8; pgroll's operation tests):
// capture the target, run a phase's forward activities as its file calls them, check what it
// proves, run its undo compensations in the order the saga runs them, and assert the target
// equals the state before. Activities are the real ones (createDeps/createActivities) against a
// real PostgreSQL, each call run in a Temporal activity context (MockActivityEnvironment: the
// context only, no server), so no workflow is needed.
//
// Phases covered: preflight, backup, schema, indexes, transfer, validation, post-migration, one
// test file each. The soak (workflows/phases/soak.ts) has no effects and no activities: it only
// waits while the health guard watches, so it has no lifecycle test.
import { sqlStatements } from '../../../infra/sql-files';
import { createHash, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { expect } from 'vitest';
import { createActivities, type Activities } from '../../../activities';
import { createDeps, type ActivityDeps } from '../../../activities/deps';
import { generateDataset } from '../../../gen/generate';
import { addChecksums } from '../../../lib/checksum';
import { DEFAULT_PLAN_BATCH } from '../../../lib/defaults';
import { diffFingerprints, type TargetFingerprint } from '../../../lib/fingerprint';
import { parseMigrationInput, type MigrationInput } from '../../../lib/input';
import { MAPPINGS, TABLE_ORDER } from '../../../lib/mapping';
import type { ActivityStubs } from '../../../workflows/activity-options';
import { emptyTotals } from '../../../workflows/definitions';
import type { Phase, PhaseContext } from '../../../workflows/phases';
import { preflightPhase } from '../../../workflows/phases/preflight';
import { newRunState, required, type RunState } from '../../../workflows/run-state';
import { Saga } from '../../../workflows/saga';
import { createTargetDatabase, tempDir, writeKeyring, type TestTarget, testWorkerConfig } from '../../helpers/stack';
import { seedTarget } from '../../helpers/target-state';

export interface Lifecycle {
  target: TestTarget;
  userId: string;
  source: string;
  deps: ActivityDeps;
  acts: Activities;
  run: RunState;
  ctx: PhaseContext;
  bystander: Bystander;
  close(): Promise<void>;
}

/** Every activity, called directly, each call inside its own activity context (heartbeats, log). */
function inActivityContext(acts: Activities): Activities {
  const wrapped: Record<string, unknown> = {};
  const logger = new DefaultLogger('ERROR'); // an expected failure is asserted by the test, not logged
  for (const [name, fn] of Object.entries(acts)) {
    wrapped[name] = (...args: unknown[]) =>
      new MockActivityEnvironment({ activityType: name }, { logger }).run(
        fn as (...a: unknown[]) => Promise<unknown>,
        ...args,
      );
  }
  return wrapped as Activities;
}

/**
 * A populated target (the app's tables with another user's rows, one pre-existing row of the
 * migrating user, an app index, and two app tables the migrator does not know), a generated
 * source, a keyring, and a run state as the workflow would build it.
 */
export async function setUp(
  options: { notes?: number; seed?: number; input?: Partial<MigrationInput> } = {},
): Promise<Lifecycle> {
  const target = await createTargetDatabase('ph');
  const userId = randomUUID();
  const dir = tempDir('migrator-phase-');
  const source = join(dir, 'source.sqlite');
  generateDataset({ path: source, seed: options.seed ?? 7, notes: options.notes ?? 40 });
  const keyring = writeKeyring([userId]);
  const { otherUser } = await seedTarget(target, userId);
  const bystander = await Bystander.create(target, otherUser, userId);
  const deps = createDeps({ backupDir: join(dir, 'backups'), config: testWorkerConfig });
  const acts = inActivityContext(createActivities(deps));
  const stubs = { bookkeeping: acts, dataWork: acts, compensations: acts, cutover: acts } as unknown as ActivityStubs;
  const cfg = parseMigrationInput({ source, userId, target: target.ref, keyring: keyring.ref, ...options.input });
  const run = newRunState(
    cfg,
    { workflowId: `phase-${randomUUID()}`, runId: randomUUID() },
    Math.floor(Date.now() / 1000),
  );
  const ctx: PhaseContext = {
    run,
    acts: stubs,
    log: async (phase, status, message = '') => {
      if (run.loggingReady)
        await acts.logEvent({ target: cfg.target, runId: run.runId, userId, phase, status, message });
    },
    stop: (reason) => {
      throw new Error(`phase asked to stop: ${reason}`);
    },
  };
  return {
    target,
    userId,
    source,
    deps,
    acts,
    run,
    ctx,
    bystander,
    async close() {
      await bystander.stop();
      await deps.close();
      await target.close();
    },
  };
}

/** Runs a phase's undo compensations exactly as the saga does (reverse order of registration); none may fail. */
export async function undo(l: Lifecycle, ...phases: Phase[]): Promise<string[]> {
  const saga = new Saga();
  for (const phase of phases) for (const c of phase.undo(l.ctx)) saga.push(c.name, c.run);
  const { compensated, failed } = await saga.unwind();
  expect(failed).toEqual([]);
  return compensated;
}

// ---- The forward steps of the phases, as their files run them -------------------------------

/** preflight: its own step (activities only). */
export async function runPreflight(l: Lifecycle): Promise<void> {
  await preflightPhase.step(l.ctx);
}

/**
 * schema: the activities of workflows/phases/schema.ts in its order. The health guard it then
 * starts is a workflow-side loop (timers, a child of the run's scope), not an effect on the target.
 */
export async function runSchemaActivities(l: Lifecycle): Promise<void> {
  const { cfg, runId } = l.run;
  l.run.createdTables = [];
  l.run.createdTables = (await l.acts.ensureSchema({ target: cfg.target, runId })).created;
  l.run.loggingReady = true;
  await l.acts.acquireLease({ target: cfg.target, runId, userId: cfg.userId });
  l.run.ownershipRegistered = true;
  await l.acts.registerOwnership({
    target: cfg.target,
    runId,
    userId: cfg.userId,
    keyring: cfg.keyring,
    source: cfg.source,
    override: cfg.sourceOwnershipUnverified,
  });
  await l.acts.recordBackups({ target: cfg.target, runId, userId: cfg.userId, backups: l.run.backups });
  const baselineMs = await l.acts.measureBaseline({ target: cfg.target, userId: cfg.userId, health: cfg.health });
  await l.ctx.log('health', 'info', `baseline latency ${baselineMs.toFixed(1)} ms`);
}

/**
 * transfer: what workflows/phases/transfer.ts and its transferTable children run, table by
 * table in foreign-key order (planChunks, transferChunk per chunk, totals), then linkTaskParents.
 */
export async function runTransferActivities(l: Lifecycle): Promise<void> {
  const { cfg, runId } = l.run;
  const preflight = required(l.run.preflight, 'preflight');
  for (const table of TABLE_ORDER) {
    const totals = emptyTotals();
    let after: string | null = null;
    for (;;) {
      const plan = await l.acts.planChunks({
        source: cfg.source,
        table,
        after,
        chunkRows: cfg.chunkRows,
        maxChunks: DEFAULT_PLAN_BATCH,
      });
      for (const chunk of plan.chunks) {
        const r = await l.acts.transferChunk({
          runId,
          source: cfg.source,
          target: cfg.target,
          keyring: cfg.keyring,
          userId: cfg.userId,
          table,
          asOfSeconds: l.run.asOfSeconds,
          dryRun: cfg.dryRun,
          lo: chunk.lo,
          hi: chunk.hi,
        });
        totals.read += r.read;
        totals.migrated += r.migrated;
        totals.inserted += r.inserted;
        totals.quarantined += r.quarantined;
        totals.repaired += r.repaired;
        totals.checksum = addChecksums(totals.checksum, r.checksum);
        totals.chunks += 1;
      }
      if (plan.chunks.length) after = plan.chunks[plan.chunks.length - 1]!.hi;
      if (plan.done) break;
    }
    l.run.result.tables[table] = { ...totals, sourceRows: preflight.sourceRows[table] ?? 0, durationMs: 0 };
  }
  if (!cfg.dryRun)
    l.run.result.linkedParents = (
      await l.acts.linkTaskParents({ target: cfg.target, userId: cfg.userId, runId })
    ).linked;
}

// ---- Target state ---------------------------------------------------------------------------

/**
 * Every public table's rows (as text, hashed) and the public index list with validity, leaving
 * out rows whose key is in `except` (what the bystander wrote during the phase, checked apart).
 * Independent SQL, not the product's fingerprint code.
 */
export async function stateExcept(
  target: TestTarget,
  except: ReadonlySet<string> = new Set(),
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const tables = await target.query<{ t: string }>(
    "SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1",
  );
  for (const { t } of tables) {
    const rows = await target.query<{ r: string; k: string | null }>(
      `SELECT x::text AS r, coalesce(to_jsonb(x)->>'id', to_jsonb(x)->>'note_id') AS k FROM public.${t} x`,
    );
    const kept = rows
      .filter((row) => row.k === null || !except.has(row.k))
      .map((row) => row.r)
      .sort();
    out[`table ${t}`] = `${kept.length}:${createHash('sha256').update(kept.join('\n')).digest('hex')}`;
  }
  const indexes = await target.query<{ d: string; v: boolean }>(
    "SELECT pg_get_indexdef(i.indexrelid) AS d, i.indisvalid AS v FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
  );
  out.indexes = indexes.map((i) => `${i.d}${i.v ? '' : ' INVALID'}`).join('\n');
  return out;
}

export interface Snapshot {
  state: Record<string, string>;
  fingerprint: TargetFingerprint;
}

/** The target as the test sees it (independent SQL) and as the product's rollback proof sees it. */
export async function snapshot(l: Lifecycle): Promise<Snapshot> {
  return {
    state: await stateExcept(l.target, l.bystander.writtenDuring),
    fingerprint: await l.acts.fingerprintTarget({ target: l.run.cfg.target, userId: l.userId }),
  };
}

/** Asserts the target equals `before` (both views), and that every bystander row is still there unchanged. */
export async function expectRestored(l: Lifecycle, before: Snapshot): Promise<void> {
  const now = await snapshot(l);
  expect(diffFingerprints(before.fingerprint, now.fingerprint)).toEqual([]);
  expect(now.state).toEqual(before.state);
  await l.bystander.expectIntact();
}

/** This user's rows per app table. */
export async function userRows(l: Lifecycle): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const t of TABLE_ORDER) {
    const table = MAPPINGS[t].targetTable;
    out[table] = (
      await l.target.query<{ n: number }>(`SELECT count(*)::int AS n FROM public.${table} WHERE user_id = $1`, [
        l.userId,
      ])
    )[0]!.n;
  }
  return out;
}

// ---- Other writers ----------------------------------------------------------------------------

/**
 * The rest of a shared target: another user's notes, tasks and folders, and two app tables the
 * migrator does not know (app_audit with a user_id column, app_settings without), written before
 * the phase; while a phase runs, `during` keeps writing other users' rows (as the app does for
 * users not being migrated), which must survive the phase and its undo untouched.
 */
export class Bystander {
  /** Keys of rows written while a phase ran (left out of the before/after comparison, checked apart). */
  readonly writtenDuring = new Set<string>();
  private readonly written = new Map<string, string>();
  private loop: Promise<void> | null = null;
  private stopping = false;

  private constructor(
    private readonly target: TestTarget,
    readonly otherUser: string,
  ) {}

  static async create(target: TestTarget, otherUser: string, migratingUser: string): Promise<Bystander> {
    const b = new Bystander(target, otherUser);
    await target.query(
      'CREATE TABLE app_audit (id uuid PRIMARY KEY, user_id uuid NOT NULL, event text NOT NULL, at timestamptz NOT NULL DEFAULT now())',
    );
    await target.query('CREATE TABLE app_settings (key text PRIMARY KEY, value text NOT NULL)');
    await target.query("INSERT INTO app_settings VALUES ('theme', 'dark'), ('locale', 'de-CH')");
    // The migrating user's own audit rows exist too: the migrator must not touch them either.
    await target.query("INSERT INTO app_audit (id, user_id, event) VALUES ($1, $2, 'signed-in')", [
      randomUUID(),
      migratingUser,
    ]);
    const folder = randomUUID();
    await target.query(
      "INSERT INTO folders (id, user_id, name_enc, props_enc, created_at, updated_at) VALUES ($1, $2, '\\x0a', '\\x0b', '2024-02-01', '2024-02-01')",
      [folder, otherUser],
    );
    const [note] = await target.query<{ id: string }>('SELECT id FROM notes WHERE user_id = $1 LIMIT 1', [otherUser]);
    await target.query(
      "INSERT INTO note_folders (note_id, folder_id, user_id, added_at) VALUES ($1, $2, $3, '2024-02-02')",
      [note!.id, folder, otherUser],
    );
    for (let i = 0; i < 3; i++) await b.write(false);
    return b;
  }

  /** One write of the app for another user: a note, a task of it and an audit row. */
  private async write(during: boolean): Promise<void> {
    const note = randomUUID();
    const task = randomUUID();
    const audit = randomUUID();
    const stamp = `w${this.written.size}`;
    await this.target.query(
      "INSERT INTO notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at) VALUES ($1, $2, convert_to($3, 'UTF8'), '\\x02', 'note', now(), now())",
      [note, this.otherUser, stamp],
    );
    await this.target.query(
      "INSERT INTO note_tasks (id, user_id, note_id, content, status, priority, created_at, updated_at) VALUES ($1, $2, $3, $4, 'pending', 1, now(), now())",
      [task, this.otherUser, note, stamp],
    );
    await this.target.query('INSERT INTO app_audit (id, user_id, event) VALUES ($1, $2, $3)', [
      audit,
      this.otherUser,
      stamp,
    ]);
    for (const id of [note, task, audit]) {
      this.written.set(id, stamp);
      if (during) this.writtenDuring.add(id);
    }
  }

  /** Keeps writing until `stop` (a write every ~50 ms). */
  startWriting(): void {
    this.stopping = false;
    this.loop = (async () => {
      while (!this.stopping) {
        await this.write(true);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
  }

  async stop(): Promise<number> {
    this.stopping = true;
    await this.loop;
    this.loop = null;
    return this.writtenDuring.size / 3;
  }

  /** Every row this bystander wrote (before or during) is present with what was written. */
  async expectIntact(): Promise<void> {
    const ids = [...this.written.keys()];
    const rows = await this.target.query<{ id: string; v: string }>(
      `SELECT id::text, convert_from(title_enc, 'UTF8') AS v FROM notes WHERE id = ANY ($1::uuid[])
       UNION ALL SELECT id::text, content FROM note_tasks WHERE id = ANY ($1::uuid[])
       UNION ALL SELECT id::text, event FROM app_audit WHERE id = ANY ($1::uuid[])`,
      [ids],
    );
    expect(Object.fromEntries(rows.map((r) => [r.id, r.v]))).toEqual(Object.fromEntries(this.written));
  }
}

/** The index names an index set's SQL file creates. */
export const indexNames = (set: string): string[] =>
  sqlStatements(`indexes/${set}.sql`, { schema: '"public"' }).map((s) => /IF NOT EXISTS\s+(\w+)/i.exec(s)![1]!);

/** Which of `wanted` exist in public, with their validity. */
export async function indexValidity(lc: Lifecycle, wanted: string[]): Promise<Record<string, boolean>> {
  const rows = await lc.target.query<{ n: string; v: boolean }>(
    "SELECT c.relname AS n, i.indisvalid AS v FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace s ON s.oid = c.relnamespace WHERE s.nspname = 'public' AND c.relname = ANY ($1)",
    [wanted],
  );
  return Object.fromEntries(rows.map((r) => [r.n, r.v]));
}
