// A source with one planted bad row per mapping rule ends with exactly those rows quarantined or
// repaired, and everything else migrated and validated.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { plantBadRows, type PlantedRow } from '../../gen/plant-bad-rows';
import { targetId } from '../../lib/ids';
import type { MigrationResult } from '../../workflows/definitions';
import { createAppTables } from '../helpers/target-state';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';

const BRIDGE = {
  local_notes: 'schema_bridge_notes',
  note_tasks: 'schema_bridge_tasks',
  local_folders: 'schema_bridge_folders',
  note_folders: 'schema_bridge_note_folders',
} as const;

let worker: TestWorker;
let target: TestTarget;
const userId = randomUUID();
const source = join(tempDir(), 'bad.sqlite');
const keyring = writeKeyring([userId]);
let planted: PlantedRow[];

beforeAll(async () => {
  generateDataset({ path: source, seed: 11, notes: 300 });
  planted = plantBadRows(source);
  worker = await startTestWorker();
  target = await createTargetDatabase();
});
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

it('quarantines or repairs exactly the planted rows', async () => {
  const result = (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId: `bad-${randomUUID()}`,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, chunkRows: 50, quarantineThreshold: 0.5 }],
  })) as MigrationResult;
  expect(result.validation.ok).toBe(true);

  const quarantined = await target.query<{ source_table: string; source_id: string; reason_code: string }>(
    'SELECT source_table, source_id, reason_code FROM migration.migration_quarantine WHERE run_id = $1 ORDER BY 1, 2',
    [result.runId],
  );
  const expected = planted
    .filter((p) => p.expect === 'quarantined')
    .map((p) => ({ source_table: p.table, source_id: p.sourceId, reason_code: p.reason }))
    .sort((a, b) => (a.source_table + a.source_id < b.source_table + b.source_id ? -1 : 1));
  expect(quarantined).toEqual(expected);
  // No quarantine detail carries a value: only the column or SQLSTATE.
  const details = await target.query<{ detail: string }>('SELECT DISTINCT detail FROM migration.migration_quarantine');
  for (const d of details) expect(d.detail).toMatch(/^(column|sqlstate)=\w+$/);

  for (const p of planted) {
    const [row] = await target.query<{ status: string; error_code: string | null }>(
      `SELECT status, error_code FROM migration_archive.${BRIDGE[p.table]} WHERE run_id = $1 AND local_id = $2`,
      [result.runId, p.sourceId],
    );
    const status = p.expect === 'migrated' ? 'completed' : p.expect;
    expect({ id: p.sourceId, ...row }).toEqual({ id: p.sourceId, status, error_code: p.reason });
  }
  // Repaired parents are NULL; the planted cycle loaded with both parents linked.
  const tasks = planted.filter((p) => p.table === 'note_tasks' && p.expect !== 'quarantined');
  for (const p of tasks) {
    const [row] = await target.query<{ parent_id: string | null }>('SELECT parent_id FROM note_tasks WHERE id = $1', [
      targetId('note_tasks', p.sourceId, userId),
    ]);
    if (p.expect === 'repaired') expect(row!.parent_id).toBeNull();
    else expect(row!.parent_id).not.toBeNull();
  }
  // Everything else migrated: per table, migrated = source rows − planted quarantined.
  const src = new Database(source, { readonly: true });
  for (const table of Object.keys(BRIDGE) as (keyof typeof BRIDGE)[]) {
    const n = (src.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    const bad = planted.filter((p) => p.table === table && p.expect === 'quarantined').length;
    expect(result.tables[table]!.migrated, table).toBe(n - bad);
    expect(result.tables[table]!.quarantined, table).toBe(bad);
    expect(result.tables[table]!.repaired, table).toBe(
      planted.filter((p) => p.table === table && p.expect === 'repaired').length,
    );
  }
  src.close();
});

it('fails the run when quarantined rows exceed the threshold, naming the table', async () => {
  const run = worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId: `bad-threshold-${randomUUID()}`,
    args: [{ source, userId, target: target.ref, keyring: keyring.ref, quarantineThreshold: 0 }],
  });
  await expect(run).rejects.toMatchObject({
    cause: { message: expect.stringMatching(/local_folders: 1 of \d+ rows quarantined|local_notes: \d+ of/) },
  });
});

it('a note whose id belongs to another user is quarantined as ID_CONFLICT, never overwritten, and validation still passes', async () => {
  const conflictTarget = await createTargetDatabase();
  const src = new Database(source, { readonly: true });
  const victim = (
    src
      .prepare("SELECT id FROM local_notes WHERE id NOT LIKE 'bad_%' AND id NOT LIKE 'system_%' ORDER BY id LIMIT 1")
      .get() as { id: string }
  ).id;
  src.close();
  const stranger = randomUUID();
  await createAppTables(conflictTarget);
  await conflictTarget.query(
    `INSERT INTO notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at) VALUES ($1, $2, '\\x01', '\\x02', 'note', '2024-01-01', '2024-01-01')`,
    [victim, stranger],
  );
  const result = (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId: `conflict-${randomUUID()}`,
    args: [
      {
        source,
        userId,
        target: conflictTarget.ref,
        keyring: keyring.ref,
        quarantineThreshold: 0.5,
        sampleSize: 100_000,
      },
    ],
  })) as MigrationResult;
  expect(result.validation.ok).toBe(true);
  const [q] = await conflictTarget.query<{ reason_code: string }>(
    'SELECT reason_code FROM migration.migration_quarantine WHERE source_id = $1',
    [victim],
  );
  expect(q!.reason_code).toBe('ID_CONFLICT');
  const [kept] = await conflictTarget.query<{ user_id: string; title: string }>(
    "SELECT user_id::text, encode(title_enc, 'hex') AS title FROM notes WHERE id = $1",
    [victim],
  );
  expect(kept).toEqual({ user_id: stranger, title: '01' });
  await conflictTarget.close();
});
