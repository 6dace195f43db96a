// The app schema is the worker config's (targets.<name>.schema), never whatever a session's search_path
// resolves first: every app and bridge statement is qualified with it and every migration connection
// pins search_path to it. Two ways a session would otherwise resolve `notes` elsewhere: PostgreSQL's
// user-private schema pattern (a schema named after the DSN's role, first in the default
// search_path "$user", public), and a DSN that sets search_path itself (`options=-csearch_path=app`).
// In both, a run must write where the config says, and its rollback must restore exactly that schema.
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure, type WorkflowHandle } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { loadWorkerConfig } from '../../activities/capabilities';
import { migrationConnectionConfig } from '../../activities/deps';
import { DEFAULT_SESSION_LOCK_TIMEOUT_MS } from '../../lib/defaults';
import { generateDataset } from '../../gen/generate';
import { InvalidInputError } from '../../lib/errors';
import { causeChain } from '../../lib/failures';
import { parseWorkerConfig } from '../../lib/worker-config';
import { progressQuery, type RollbackReport } from '../../workflows/definitions';
import { migrationWorkflow } from '../../workflows/migration';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  testWorkerConfig,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';
import { seedTarget, targetState } from '../helpers/target-state';
import { waitUntil } from '../helpers/wait';
import { abortExpecting } from '../helpers/abort';

const userId = randomUUID();
const source = join(tempDir(), 'target-schema.sqlite');
const keyring = writeKeyring([userId]);
let worker: TestWorker;

beforeAll(async () => {
  generateDataset({ path: source, seed: 17, notes: 600 });
  worker = await startTestWorker();
});
afterAll(async () => {
  await worker?.stop();
});

/** Declares `name` in the test worker config: `dsn` (set in the environment) and the app schema. */
function declareTarget(name: string, target: TestTarget, dsn: string, schema: string): void {
  const env = `TARGET_SCHEMA_${randomUUID().replace(/-/g, '').slice(0, 12).toUpperCase()}`;
  process.env[env] = dsn;
  testWorkerConfig.targets[name] = { dsn: `env:${env}`, database: target.database, schema };
}

function start(targetName: string): Promise<WorkflowHandle> {
  return worker.client.workflow.start(migrationWorkflow, {
    taskQueue: worker.taskQueue,
    workflowId: `schema-${randomUUID()}`,
    args: [
      {
        source,
        userId,
        target: targetName,
        keyring: keyring.ref,
        chunkRows: 20,
        parallelism: 1,
        heartbeatTimeoutMs: 3000,
      },
    ],
  });
}

async function userNotes(target: TestTarget, schema: string): Promise<number> {
  const [r] = await target.query<{ n: number }>(`SELECT count(*)::int AS n FROM "${schema}".notes WHERE user_id = $1`, [
    userId,
  ]);
  return r!.n;
}

/** Aborts mid-transfer and returns the rollback report of the run's RolledBack failure. */
async function abortAndReport(handle: WorkflowHandle): Promise<RollbackReport> {
  return (await abortExpecting(handle, 'RolledBack', 'target-schema test')).details![0] as RollbackReport;
}

describe('the app schema comes from the worker config', () => {
  it("a role-named schema: writes go only to alice.*, and the rollback restores alice.* with public's rows untouched", async () => {
    const target = await createTargetDatabase('alice');
    // alice connects with the default search_path "$user", public: alice.notes is what `notes` means
    // to her sessions. A superuser, so privileges are no part of this test.
    await target.query('DO $$ BEGIN CREATE ROLE alice LOGIN SUPERUSER; EXCEPTION WHEN duplicate_object THEN END $$');
    await target.query('CREATE SCHEMA alice AUTHORIZATION alice');
    await seedTarget(target, userId, 'alice');
    await seedTarget(target, randomUUID(), 'public'); // other users' rows in public.notes
    const [path] = await target.query<{ p: string }>("SELECT setting AS p FROM pg_settings WHERE name = 'search_path'");
    expect(path!.p).toBe('"$user", public');
    const aliceBefore = await targetState(target, 'alice');
    const publicBefore = await targetState(target, 'public');
    const dsn = new URL(target.url);
    dsn.username = 'alice';
    const name = `${target.database}-alice`;
    declareTarget(name, target, dsn.toString(), 'alice');

    const handle = await start(name);
    await waitUntil('rows written into alice.notes', async () => (await userNotes(target, 'alice')) > 20, {
      timeoutMs: 90_000,
    });
    expect((await handle.query(progressQuery)).phase).toBe('transfer');
    // Mid-run: the bridge tables are alice's too, and public is exactly as it was.
    const [bridges] = await target.query<{ alice: boolean; pub: boolean }>(
      "SELECT to_regclass('alice.schema_bridge_notes') IS NOT NULL AS alice, to_regclass('public.schema_bridge_notes') IS NOT NULL AS pub",
    );
    expect(bridges).toEqual({ alice: true, pub: false });
    expect(await targetState(target, 'public')).toEqual(publicBefore);

    const report = await abortAndReport(handle);
    expect(report).toMatchObject({ cause: 'abort', fingerprintEqual: true, failed: [], differences: [] });
    expect(await targetState(target, 'alice')).toEqual(aliceBefore);
    expect(await targetState(target, 'public')).toEqual(publicBefore);
    expect(await userNotes(target, 'alice')).toBe(1); // the user's own pre-existing note only
    await target.close();
  });

  it('a DSN setting search_path=app with schema public: rows land in public (the pin wins), and the rollback removes them all', async () => {
    const target = await createTargetDatabase('dsnpath');
    await target.query('CREATE SCHEMA app');
    await seedTarget(target, randomUUID(), 'app'); // the DSN's schema: same tables, other rows
    await seedTarget(target, userId, 'public');
    const appBefore = await targetState(target, 'app');
    const publicBefore = await targetState(target, 'public');
    const dsn = new URL(target.url);
    dsn.searchParams.set('options', '-csearch_path=app');
    const name = `${target.database}-dsnpath`;
    declareTarget(name, target, dsn.toString(), 'public');

    const handle = await start(name);
    await waitUntil('rows written into public.notes', async () => (await userNotes(target, 'public')) > 20, {
      timeoutMs: 90_000,
    });
    expect(await targetState(target, 'app')).toEqual(appBefore);
    const [bridge] = await target.query<{ app: boolean }>(
      "SELECT to_regclass('app.schema_bridge_notes') IS NOT NULL AS app",
    );
    expect(bridge!.app).toBe(false);

    const report = await abortAndReport(handle);
    expect(report).toMatchObject({ cause: 'abort', fingerprintEqual: true, failed: [], differences: [] });
    expect(await targetState(target, 'public')).toEqual(publicBefore);
    expect(await targetState(target, 'app')).toEqual(appBefore);
    expect(await userNotes(target, 'public')).toBe(1);
    await target.close();
  });

  it('a schema the target does not have: preflight refuses (TargetIdentity) before anything is written', async () => {
    const target = await createTargetDatabase('noschema');
    const name = `${target.database}-missing`;
    declareTarget(name, target, target.url, 'missing_schema');
    const err = await (await start(name)).result().then(
      () => null,
      (e: unknown) => e,
    );
    const failure = causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure;
    expect(failure.type).toBe('TargetIdentity');
    expect(failure.message).toContain('has no schema "missing_schema"');
    expect(failure.message).toContain(`targets.${name}.schema`);
    const [made] = await target.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_namespace WHERE nspname IN ('missing_schema', 'migration')",
    );
    expect(made!.n).toBe(0);
    await target.close();
  });
});

describe('a migration connection', () => {
  it("pins search_path last, after the DSN's own options, which no longer replace the session settings", async () => {
    const target = await createTargetDatabase('pin');
    const dsn = new URL(target.url);
    dsn.searchParams.set('options', '-csearch_path=app -cstatement_timeout=1234');
    const client = new pg.Client(migrationConnectionConfig(dsn.toString(), {}, {}, 'alice'));
    await client.connect();
    try {
      const show = async (name: string) => (await client.query<Record<string, string>>(`SHOW ${name}`)).rows[0]![name];
      expect(await show('search_path')).toBe('pg_catalog,"alice",pg_temp');
      expect(await show('statement_timeout')).toBe('1234ms'); // the DSN's option, over the default
      expect(await show('lock_timeout')).toBe(`${DEFAULT_SESSION_LOCK_TIMEOUT_MS / 1000}s`); // a default, kept
      // Nothing unqualified can be created: the first schema in the path is pg_catalog.
      await expect(client.query('CREATE TABLE stray (x int)')).rejects.toThrow(/permission denied/);
    } finally {
      await client.end();
      await target.close();
    }
  });
});

describe('a worker config schema that is not a name is refused', () => {
  const refused = (schema: unknown) => {
    try {
      parseWorkerConfig({ targets: { 'notes-prod': { dsn: 'env:X', database: 'notes', schema } } });
    } catch (err) {
      return err;
    }
    return null;
  };

  it.each([
    'public; DROP TABLE notes',
    '"alice"',
    'Alice',
    'app-data',
    '',
    'a'.repeat(64),
    'pg_catalog',
    'information_schema',
    'migration',
    'migration_archive',
    42,
  ])('%j', (schema) => {
    const err = refused(schema);
    expect(err).toBeInstanceOf(InvalidInputError);
    expect((err as InvalidInputError).field).toBe('workerConfig.targets.notes-prod.schema');
    // The message says what a schema must be; it never echoes the refused value.
    if (typeof schema === 'string' && schema.length > 3) expect((err as Error).message).not.toContain(schema);
  });

  it('in a config file too (migrator worker --config), and a valid name or the default is accepted', () => {
    const path = join(tempDir(), 'worker.json');
    writeFileSync(path, JSON.stringify({ targets: { t: { dsn: 'env:X', database: 'd', schema: 'x y' } } }));
    expect(() => loadWorkerConfig(path)).toThrow(InvalidInputError);
    expect(() => loadWorkerConfig(path)).toThrow(/workerConfig\.targets\.t\.schema/);
    const ok = parseWorkerConfig({
      targets: { a: { dsn: 'env:X', database: 'd', schema: 'alice' }, b: { dsn: 'env:X', database: 'd' } },
    });
    expect([ok.targets.a!.schema, ok.targets.b!.schema]).toEqual(['alice', 'public']);
  });
});
