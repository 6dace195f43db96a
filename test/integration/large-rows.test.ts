// Bounded resources per chunk on a real run: notes of ~300 KB migrate in byte-bounded chunks, one row
// over MAX_ROW_BYTES is quarantined as ROW_TOO_LARGE without failing its chunk, a 6,000-deep JSON
// value is quarantined as INVALID_JSON, and the run completes with validation passing.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { DEEP_JSON_NOTE_ID, OVERSIZED_NOTE_ID, plantLargeRows, TASK_ON_OVERSIZED_ID } from '../../gen/plant-large-rows';
import type { PlantedRow } from '../../gen/plant-bad-rows';
import { MAX_ROW_BYTES } from '../../lib/defaults';
import { deriveEntityKey, openString } from '../../lib/envelope';
import { targetId } from '../../lib/ids';
import { sqlFile } from '../../infra/sql-files';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';

const LARGE_NOTES = 120;
const BODY_BYTES = 300_000;
const CHUNK_BYTES = 4 * 1024 * 1024;

let worker: TestWorker;
let target: TestTarget;
const userId = randomUUID();
const source = join(tempDir(), 'large.sqlite');
const keyring = writeKeyring([userId]);
let planted: PlantedRow[];

beforeAll(async () => {
  generateDataset({ path: source, seed: 5, notes: 40 });
  planted = plantLargeRows(source, {
    largeNotes: LARGE_NOTES,
    bodyBytes: BODY_BYTES,
    oversized: true,
    deepJsonDepth: 6_000,
  });
  worker = await startTestWorker();
  target = await createTargetDatabase();
}, 120_000);
afterAll(async () => {
  await worker?.stop();
  await target?.close();
});

// chunkRows alone would put all ~160 notes in one chunk; the byte budget splits them.
const run = async (extra: Record<string, unknown> = {}): Promise<MigrationResult> =>
  (await worker.client.workflow.execute('migrationWorkflow', {
    taskQueue: worker.taskQueue,
    workflowId: `large-${randomUUID()}`,
    args: [
      {
        source,
        userId,
        target: target.ref,
        keyring: keyring.ref,
        chunkRows: 1000,
        chunkBytes: CHUNK_BYTES,
        quarantineThreshold: 0.05,
        ...extra,
      },
    ],
  })) as MigrationResult;

it('a dry run predicts the same quarantine, including the task of the oversized note', async () => {
  const dry = await run({ dryRun: true });
  expect(dry.status).toBe('dry-run');
  expect(dry.tables.local_notes).toMatchObject({ quarantined: 2 });
  expect(dry.tables.note_tasks).toMatchObject({ quarantined: 1 });
}, 300_000);

it('migrates large notes in byte-bounded chunks and quarantines the oversized and the too-deep row', async () => {
  const result = await run();
  expect(result.status).toBe('completed');
  expect(result.validation).toMatchObject({ ok: true, failures: [] });

  const quarantined = await target.query<{
    source_table: string;
    source_id: string;
    reason_code: string;
    detail: string;
  }>(
    'SELECT source_table, source_id, reason_code, detail FROM migration.migration_quarantine WHERE run_id = $1 ORDER BY source_id',
    [result.runId],
  );
  expect(quarantined.map((q) => [q.source_table, q.source_id, q.reason_code])).toEqual([
    ['local_notes', DEEP_JSON_NOTE_ID, 'INVALID_JSON'],
    ['local_notes', OVERSIZED_NOTE_ID, 'ROW_TOO_LARGE'],
    ['note_tasks', TASK_ON_OVERSIZED_ID, 'MISSING_REFERENCE'],
  ]);
  // The detail names the column or the size, never content.
  const oversized = quarantined.find((q) => q.source_id === OVERSIZED_NOTE_ID)!;
  expect(Number(/^bytes=(\d+)$/.exec(oversized.detail)?.[1])).toBeGreaterThan(MAX_ROW_BYTES);
  expect(quarantined.find((q) => q.source_id === DEEP_JSON_NOTE_ID)!.detail).toBe('column=encrypted_metadata');

  const src = new Database(source, { readonly: true });
  try {
    const notes = (src.prepare('SELECT count(*) AS n FROM local_notes').get() as { n: number }).n;
    expect(result.tables.local_notes).toMatchObject({ read: notes, migrated: notes - 2, quarantined: 2 });

    // Every local_notes chunk holds at most CHUNK_BYTES of source, or is one row on its own.
    {
      src.exec(sqlFile('queries/source_sized_local_notes.sql'));
      const sizeOf = src.prepare(
        'SELECT count(*) AS n, coalesce(sum(bytes), 0) AS bytes FROM source_sized_local_notes WHERE k > ? AND k <= ?',
      );
      const chunks = await target.query<{ chunk_lo: string; chunk_hi: string; rows_read: number }>(
        "SELECT chunk_lo, chunk_hi, rows_read FROM migration.chunk_ledger WHERE run_id = $1 AND source_table = 'local_notes' ORDER BY chunk_hi",
        [result.runId],
      );
      const totalBytes = (src.prepare('SELECT sum(bytes) AS b FROM source_sized_local_notes').get() as { b: number }).b;
      expect(chunks.length).toBeGreaterThanOrEqual(Math.ceil(totalBytes / CHUNK_BYTES));
      expect(chunks.reduce((n, c) => n + c.rows_read, 0)).toBe(notes);
      for (const c of chunks) {
        const s = sizeOf.get(c.chunk_lo.replace(/^>/, ''), c.chunk_hi) as { n: number; bytes: number };
        expect(s.n).toBe(c.rows_read);
        if (s.n > 1) expect(s.bytes, `chunk (${c.chunk_lo}, ${c.chunk_hi}]`).toBeLessThanOrEqual(CHUNK_BYTES);
      }
      const alone = chunks.find((c) => c.chunk_hi === OVERSIZED_NOTE_ID);
      expect(alone?.rows_read).toBe(1);
    }

    // The large notes arrived whole: decrypt a few and compare with the source.
    const key = keyring.keys[userId]!;
    for (const p of planted.filter((r) => r.expect === 'migrated').slice(0, 5)) {
      const note = src.prepare('SELECT title, body FROM local_notes WHERE id = ?').get(p.sourceId) as {
        title: string;
        body: string;
      };
      const id = targetId('local_notes', p.sourceId, userId);
      const [row] = await target.query<{ title_enc: Buffer; props_enc: Buffer }>(
        'SELECT title_enc, props_enc FROM notes WHERE id = $1',
        [id],
      );
      const entityKey = deriveEntityKey(key, id);
      expect(openString(entityKey, row!.title_enc)).toBe(note.title);
      expect(JSON.parse(openString(entityKey, row!.props_enc))).toEqual({ body: note.body });
      expect(Buffer.byteLength(note.body)).toBeGreaterThanOrEqual(BODY_BYTES);
    }
    const rejected = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM notes WHERE id = ANY($1)', [
      [OVERSIZED_NOTE_ID, DEEP_JSON_NOTE_ID].map((s) => targetId('local_notes', s, userId)),
    ]);
    expect(rejected[0]!.n).toBe(0);
  } finally {
    src.close();
  }
}, 300_000);
