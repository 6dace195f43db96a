// The PostgreSQL roles a migration needs (docs/security.md "The PostgreSQL roles"): the roles are made
// by sql/roles/ in a fresh target, a run writes as the data role (the worker config's `dsn`: no
// superuser, CREATEDB, CREATEROLE, no DDL) and does its DDL as the tables' owner (`ddlDsn`); a rollback
// and a full migration succeed that way, and the data role's forbidden operations fail with 42501.
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { WorkflowFailedError, type ApplicationFailure } from '@temporalio/client';
import pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { sqlFile, sqlFolder } from '../../infra/sql-files';
import { parseWorkerConfig } from '../../lib/worker-config';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';

const suffix = randomUUID().replace(/-/g, '').slice(0, 10);
const ownerRole = `lp_owner_${suffix}`;
const dataRole = `lp_data_${suffix}`;
const password = randomBytes(12).toString('hex'); // ignored under the test cluster's trust auth; used by a real server
const [userA, userB] = [randomUUID(), randomUUID()];
const dir = tempDir('migrator-lp-');
const keys = writeKeyring([userA, userB]);
let target: TestTarget;
let worker: TestWorker;
let dataDsn: string;

/** The target's URL as `role`. */
function as(role: string): string {
  const u = new URL(target.url);
  u.username = role;
  u.password = password;
  return u.toString();
}

async function asRole<T>(role: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: as(role) });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** The SQLSTATE `sql` fails with, run as the data role (null: it succeeded). */
const sqlstateAsData = (sql: string) =>
  asRole(dataRole, (c) =>
    c.query(sql).then(
      () => null,
      (e: { code?: string }) => e.code ?? 'no code',
    ),
  );

async function setUpRoles(): Promise<void> {
  // As an administrator (the test cluster's superuser), twice: the files are idempotent.
  for (let i = 0; i < 2; i++) {
    for (const file of sqlFolder('roles')) {
      await target.query(sqlFile(file, { owner_role: ownerRole, data_role: dataRole, schema: '"public"' }));
    }
  }
  for (const role of [ownerRole, dataRole]) await target.query(`ALTER ROLE ${role} PASSWORD '${password}'`);
}

beforeAll(async () => {
  generateDataset({ path: join(dir, 'a.sqlite'), seed: 71, notes: 60, userId: userA });
  generateDataset({ path: join(dir, 'b.sqlite'), seed: 72, notes: 60, userId: userB });
  target = await createTargetDatabase('lp');
  await setUpRoles();
  dataDsn = as(dataRole);
  process.env[`LP_DATA_${suffix}`] = dataDsn;
  process.env[`LP_OWNER_${suffix}`] = as(ownerRole);
  const config = parseWorkerConfig({
    targets: {
      notes: { dsn: `env:LP_DATA_${suffix}`, ddlDsn: `env:LP_OWNER_${suffix}`, database: target.database },
    },
    sourceDirs: [dir],
    keyrings: { default: `file:${keys.path}` },
  });
  worker = await startTestWorker({ config });
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

const input = (userId: string, file: string) => ({
  source: join(dir, file),
  userId,
  target: 'notes',
  keyring: 'default',
  chunkRows: 25,
  health: { soakMs: 0 },
});

it('the setup files make a data role with no superuser, CREATEDB or CREATEROLE, and an owner without them either', async () => {
  const roles = await target.query<{
    rolname: string;
    rolsuper: boolean;
    rolcreatedb: boolean;
    rolcreaterole: boolean;
  }>('SELECT rolname, rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = ANY($1) ORDER BY rolname', [
    [dataRole, ownerRole],
  ]);
  expect(roles).toEqual([
    { rolname: dataRole, rolsuper: false, rolcreatedb: false, rolcreaterole: false },
    { rolname: ownerRole, rolsuper: false, rolcreatedb: false, rolcreaterole: false },
  ]);
});

it('an aborted run on the fresh target rolls back as these roles: its rows, indexes and tables are gone', async () => {
  const workflowId = `lp-${randomUUID()}`;
  worker.faults.plan(workflowId, { failAfterPhase: 'validation' });
  const outcome = await worker.client.workflow
    .execute('migrationWorkflow', { taskQueue: worker.taskQueue, workflowId, args: [input(userB, 'b.sqlite')] })
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(outcome).toBeInstanceOf(WorkflowFailedError);
  const cause = (outcome as WorkflowFailedError).cause as ApplicationFailure;
  expect(cause.type, cause.message).toBe('RolledBack'); // the proof passed: the target equals its pre-run state
  // The run created the app's tables (as the owner) and its rollback dropped them (as the owner).
  expect(await target.query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).toEqual([]);
});

it('a full migration completes writing as the data role, with every DDL done as the owner', async () => {
  const result = (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId: `lp-${randomUUID()}`,
    args: [input(userA, 'a.sqlite')],
  })) as MigrationResult;
  expect(result.status).toBe('completed');
  expect(result.validation.ok).toBe(true);
  const notes = await asRole(dataRole, (c) =>
    c.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE user_id = $1', [userA]),
  );
  expect(notes.rows[0]!.n).toBe(result.tables.local_notes!.migrated);
  // Every table and index the run made belongs to the owner; the data role owns nothing.
  const owners = await target.query<{ owner: string; n: number }>(
    `SELECT pg_get_userbyid(c.relowner) AS owner, count(*)::int AS n FROM pg_class c
       JOIN pg_namespace s ON s.oid = c.relnamespace
      WHERE s.nspname IN ('public', 'migration', 'migration_archive') AND c.relkind IN ('r', 'i', 'S')
      GROUP BY 1 ORDER BY 1`,
  );
  expect(owners.map((o) => o.owner)).toEqual([ownerRole]);
});

it('as the data role, DROP TABLE notes, CREATE DATABASE and CREATE ROLE fail with 42501', async () => {
  expect(await sqlstateAsData('DROP TABLE notes')).toBe('42501');
  expect(await sqlstateAsData(`CREATE DATABASE lp_forbidden_${suffix}`)).toBe('42501');
  expect(await sqlstateAsData(`CREATE ROLE lp_forbidden_${suffix}`)).toBe('42501');
  // Nor any other DDL on the app's tables, nor a table of its own in the app's schema.
  expect(await sqlstateAsData('CREATE INDEX lp_forbidden_idx ON notes (created_at)')).toBe('42501');
  expect(await sqlstateAsData('CREATE TABLE public.lp_forbidden (x int)')).toBe('42501');
  expect(await sqlstateAsData('DROP TABLE migration.run_leases')).toBe('42501');
  // The control (the statements above fail for privileges, not for a broken connection): rows it may read.
  expect(await sqlstateAsData('SELECT count(*) FROM migration.chunk_ledger')).toBeNull();
});
