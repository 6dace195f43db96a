// Lifecycle test of the whole pipeline on the real dev server, PostgreSQL and SQLite files:
// migrate → assert every invariant → migrate again → assert nothing changed.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset } from '../../gen/generate';
import { deriveEntityKey, openString } from '../../lib/envelope';
import { targetId } from '../../lib/ids';
import { migrationWorkflowId } from '../../lib/input';
import { TABLE_ORDER } from '../../lib/mapping';
import type { MigrationResult } from '../../workflows/definitions';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from '../helpers/stack';

const NOTES = 2500;

describe('migrationWorkflow on a generated source', () => {
  let worker: TestWorker;
  let target: TestTarget;
  const userId = randomUUID();
  const dir = tempDir();
  const source = join(dir, 'notes.sqlite');
  const keyring = writeKeyring([userId]);
  let first: MigrationResult;

  beforeAll(async () => {
    generateDataset({ path: source, seed: 7, notes: NOTES });
    worker = await startTestWorker();
    target = await createTargetDatabase();
  });
  afterAll(async () => {
    await worker?.stop();
    await target?.close();
  });

  const run = (extra: Record<string, unknown> = {}) =>
    worker.client.workflow.execute('migrationWorkflow', {
      taskQueue: worker.taskQueue,
      workflowId: `${migrationWorkflowId({ target: target.ref, userId })}-${randomUUID()}`,
      args: [
        {
          source,
          userId,
          target: target.ref,
          keyring: keyring.ref,
          chunkRows: 400,
          parallelism: 2,
          chunksPerExecution: 4,
          ...extra,
        },
      ],
    }) as Promise<MigrationResult>;

  it('migrates every row exactly and proves it', async () => {
    first = await run();
    const src = new Database(source, { readonly: true });
    try {
      expect(first.status).toBe('completed');
      expect(first.validation).toMatchObject({ ok: true, failures: [] });
      for (const table of TABLE_ORDER) {
        const t = first.tables[table]!;
        const n = (src.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        expect(t.sourceRows, table).toBe(n);
        expect(t.migrated + t.quarantined, table).toBe(n);
        expect(t.quarantined, table).toBe(0);
        expect(t.inserted, table).toBe(t.migrated);
        expect(t.targetChecksum, table).toBe(t.checksum);
        expect(t.sampled, table).toBeGreaterThan(0);
      }
      // transferTable continued as new (4 chunks per execution on ~13 chunks of notes).
      expect((first.tables.local_notes as unknown as { executions: number }).executions).toBeGreaterThan(1);
      expect(first.backups.map((b) => b.kind).sort()).toEqual(['source-sqlite', 'target-pg_dump', 'target-pre-image']);
      expect(first.backups.every((b) => b.verified && /^[0-9a-f]{64}$/.test(b.sha256))).toBe(true);

      const [counts] = await target.query<Record<string, number>>(
        `SELECT (SELECT count(*) FROM notes)::int AS notes, (SELECT count(*) FROM note_tasks)::int AS tasks,
                (SELECT count(*) FROM folders)::int AS folders, (SELECT count(*) FROM note_folders)::int AS note_folders,
                (SELECT count(*) FROM notes WHERE deleted)::int AS deleted_notes, (SELECT count(*) FROM note_tasks WHERE parent_id IS NOT NULL)::int AS nested`,
      );
      const srcCount = (sql: string) => (src.prepare(sql).get() as { n: number }).n;
      expect(counts).toEqual({
        notes: srcCount('SELECT count(*) AS n FROM local_notes'),
        tasks: srcCount('SELECT count(*) AS n FROM note_tasks'),
        folders: srcCount('SELECT count(*) AS n FROM local_folders'),
        note_folders: srcCount('SELECT count(*) AS n FROM note_folders'),
        deleted_notes: srcCount('SELECT count(*) AS n FROM local_notes WHERE deleted = 1'),
        nested: srcCount('SELECT count(*) AS n FROM note_tasks WHERE parent_task_id IS NOT NULL'),
      });

      // Decrypt every note with the user's key: titles and bodies equal the source.
      const key = keyring.keys[userId]!;
      const rows = await target.query<{ id: string; title_enc: Buffer; props_enc: Buffer; user_id: string }>(
        'SELECT id, user_id, title_enc, props_enc FROM notes',
      );
      const byId = new Map(rows.map((r) => [r.id, r]));
      for (const note of src.prepare('SELECT id, title, body FROM local_notes').iterate() as Iterable<{
        id: string;
        title: string;
        body: string;
      }>) {
        const row = byId.get(targetId('local_notes', note.id, userId))!;
        const entityKey = deriveEntityKey(key, row.id);
        expect(openString(entityKey, row.title_enc)).toBe(note.title);
        expect(JSON.parse(openString(entityKey, row.props_enc))).toEqual({ body: note.body });
        expect(row.user_id).toBe(userId);
      }
      // Non-uuid ids became UUIDv5 of table:id.
      expect(byId.has(targetId('local_notes', 'system_daily_standup', userId))).toBe(true);
    } finally {
      src.close();
    }
    const log = await target.query<{ phase: string; status: string }>(
      'SELECT phase, status FROM migration.migration_log WHERE run_id = $1 ORDER BY id',
      [first.runId],
    );
    expect(log.at(-1)).toEqual({ phase: 'run', status: 'closed' });
    const invalid = await target.query('SELECT 1 FROM pg_index WHERE NOT indisvalid');
    expect(invalid).toHaveLength(0);
    const created = await target.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM migration_archive.schema_bridge_note_folders WHERE run_id = $1 AND created_row',
      [first.runId],
    );
    expect(created[0]!.n).toBe(first.tables.note_folders!.migrated);
    const hotBridge = await target.query<{ n: number }>('SELECT count(*)::int AS n FROM public.schema_bridge_notes');
    expect(hotBridge[0]!.n).toBe(0);
    const archived = await target.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM migration_archive.schema_bridge_notes WHERE run_id = $1',
      [first.runId],
    );
    expect(archived[0]!.n).toBe(first.tables.local_notes!.sourceRows);
  });

  it('a second run over the same source and target changes nothing', async () => {
    const fingerprint = () =>
      target.query(
        `SELECT 'notes' AS t, count(*)::int AS n, md5(string_agg(id::text || user_id::text || encode(title_enc, 'hex') || updated_at::text, ',' ORDER BY id)) AS h FROM notes
         UNION ALL SELECT 'tasks', count(*)::int, md5(string_agg(n::text, ',' ORDER BY id)) FROM note_tasks n
         UNION ALL SELECT 'folders', count(*)::int, md5(string_agg(f::text, ',' ORDER BY id)) FROM folders f
         UNION ALL SELECT 'note_folders', count(*)::int, md5(string_agg(x::text, ',' ORDER BY note_id)) FROM note_folders x`,
      );
    const before = await fingerprint();
    const second = await run();
    expect(second.validation.ok).toBe(true);
    for (const table of TABLE_ORDER) {
      expect(second.tables[table]!.inserted, table).toBe(0);
      expect(second.tables[table]!.checksum, table).toBe(first.tables[table]!.checksum);
    }
    expect(await fingerprint()).toEqual(before);
  });
});
