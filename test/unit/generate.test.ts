import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateDataset, type GenerateSummary } from '../../gen/generate';
import { plantBadRows } from '../../gen/plant-bad-rows';
import { SOURCE_SCHEMA_VERSION } from '../../gen/source-schema';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const MIGRATED = ['local_notes', 'note_tasks', 'local_folders', 'note_folders'] as const;
const ORDER: Record<string, string> = { note_folders: 'note_id' };

let dir: string;
let n = 0;
const fresh = (): string => join(dir, `src-${n++}.db`);
const open = (p: string): Database.Database => new Database(p, { readonly: true });

function contentDigest(path: string): Record<string, string> {
  const db = open(path);
  try {
    const out: Record<string, string> = {};
    for (const t of MIGRATED) {
      const rows = db
        .prepare(`SELECT * FROM ${t} ORDER BY ${ORDER[t] ?? 'id'}`)
        .raw()
        .all();
      out[t] = bytesToHex(sha256(utf8ToBytes(JSON.stringify(rows))));
    }
    return out;
  } finally {
    db.close();
  }
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gen-test-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('generateDataset', () => {
  let path: string;
  let sum: GenerateSummary;
  let db: Database.Database;
  beforeAll(() => {
    path = fresh();
    sum = generateDataset({ path, seed: 7, notes: 1000 });
    db = open(path);
  });
  afterAll(() => db.close());
  const count = (sql: string): number => db.prepare(sql).pluck().get() as number;

  it('has the Drift v12 schema', () => {
    expect(SOURCE_SCHEMA_VERSION).toBe(12);
    expect(db.pragma('user_version', { simple: true })).toBe(12);
    expect(db.pragma('journal_mode', { simple: true })).toBe('delete');
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all();
    for (const t of [
      ...MIGRATED,
      'note_tags',
      'note_links',
      'note_reminders',
      'pending_ops',
      'saved_searches',
      'local_templates',
      'fts_notes',
    ]) {
      expect(tables).toContain(t);
    }
  });

  it('reports counts in proportion and matching the file', () => {
    expect(sum.notes).toBe(1000);
    expect(count('SELECT count(*) FROM local_notes')).toBe(sum.notes);
    expect(count('SELECT count(*) FROM note_tasks')).toBe(sum.tasks);
    expect(count('SELECT count(*) FROM local_folders')).toBe(sum.folders);
    expect(count('SELECT count(*) FROM note_folders')).toBe(sum.noteFolders);
    expect(sum.tasks).toBeGreaterThan(1500);
    expect(sum.tasks).toBeLessThan(2700);
    expect(sum.folders).toBe(40);
    expect(sum.noteFolders / sum.notes).toBeGreaterThan(0.6);
    expect(sum.noteFolders / sum.notes).toBeLessThan(0.8);
    expect(sum.emailNotes).toBeGreaterThan(20);
    expect(sum.nestedTasks / sum.tasks).toBeGreaterThan(0.12);
    expect(sum.nestedTasks / sum.tasks).toBeLessThan(0.3);
    expect(count('SELECT max(c) FROM (SELECT count(*) c FROM note_tasks GROUP BY note_id)')).toBeLessThanOrEqual(5);
    expect(count('SELECT count(*) FROM fts_notes')).toBe(count('SELECT count(*) FROM local_notes WHERE deleted = 0'));
    for (const t of ['note_tags', 'note_links', 'note_reminders', 'pending_ops', 'saved_searches', 'local_templates']) {
      expect(count(`SELECT count(*) FROM ${t}`)).toBeGreaterThan(0);
    }
  });

  it('has uuid ids except the system items, and soft-deleted rows', () => {
    const ids = db
      .prepare('SELECT id FROM local_notes UNION ALL SELECT id FROM note_tasks UNION ALL SELECT id FROM local_folders')
      .pluck()
      .all() as string[];
    const nonUuid = ids.filter((id) => !UUID.test(id));
    expect(nonUuid.length).toBe(sum.nonUuidIds);
    expect(nonUuid).toEqual(
      expect.arrayContaining(['system_daily_standup', 'system_meeting_notes', 'system_weekly_review', 'system_inbox']),
    );
    expect(count("SELECT count(*) FROM local_notes WHERE id LIKE 'system\\_%' ESCAPE '\\' AND note_type = 1")).toBe(3);
    expect(count('SELECT count(*) FROM local_notes WHERE deleted = 1')).toBe(sum.deletedNotes);
    expect(count('SELECT count(*) FROM note_tasks WHERE deleted = 1')).toBe(sum.deletedTasks);
    expect(sum.deletedNotes).toBeGreaterThan(20);
    expect(sum.deletedTasks).toBeGreaterThan(40);
  });

  it('stores valid enums, timestamps, hashes and JSON', () => {
    expect(count('SELECT count(*) FROM local_notes WHERE updated_at NOT BETWEEN 1609459200 AND 1748736000')).toBe(0);
    expect(count('SELECT count(*) FROM note_tasks WHERE status NOT IN (0,1,2) OR priority NOT BETWEEN 0 AND 3')).toBe(
      0,
    );
    expect(count('SELECT count(*) FROM note_tasks WHERE (status = 1) != (completed_at IS NOT NULL)')).toBe(0);
    expect(count('SELECT count(*) FROM note_tasks WHERE due_date IS NULL')).toBeGreaterThan(0);
    expect(count("SELECT count(*) FROM note_tasks WHERE labels IS NOT NULL AND json_type(labels) != 'array'")).toBe(0);
    expect(
      count(
        'SELECT count(*) FROM note_folders nf JOIN local_notes n ON n.id = nf.note_id WHERE nf.added_at < n.updated_at',
      ),
    ).toBe(0);
    expect(count('SELECT count(*) FROM note_folders WHERE folder_id NOT IN (SELECT id FROM local_folders)')).toBe(0);
    expect(
      count(
        'SELECT count(*) FROM local_notes WHERE encrypted_metadata IS NOT NULL AND json_valid(encrypted_metadata) = 0',
      ),
    ).toBe(0);
    const sample = db.prepare('SELECT content, content_hash FROM note_tasks LIMIT 50').all() as {
      content: string;
      content_hash: string;
    }[];
    for (const r of sample) expect(r.content_hash).toBe(bytesToHex(sha256(utf8ToBytes(r.content))));
    const positions = db
      .prepare(
        'SELECT group_concat(position) FROM (SELECT note_id, position FROM note_tasks ORDER BY note_id, position) GROUP BY note_id',
      )
      .pluck()
      .all() as string[];
    for (const p of positions) expect(p.split(',').map(Number)).toEqual(p.split(',').map((_, i) => i));
    const titles = (db.prepare('SELECT title FROM local_notes').pluck().all() as string[]).join('');
    for (const ch of ['📝', 'ı', 'İ', 'ß', '会议记录', 'مرحبا']) expect(titles).toContain(ch);
    const sizes = db
      .prepare('SELECT length(CAST(body AS BLOB)) FROM local_notes WHERE note_type = 0')
      .pluck()
      .all() as number[];
    expect(Math.min(...sizes)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(4096);
  });

  it('writes email notes with headers, html and attachments', () => {
    const rows = db
      .prepare(
        "SELECT body, encrypted_metadata m FROM local_notes WHERE json_extract(encrypted_metadata, '$.source') = 'email'",
      )
      .all() as { body: string; m: string }[];
    expect(rows.length).toBe(sum.emailNotes);
    for (const r of rows) {
      expect(r.body).toMatch(/^From: .+\nTo: .+\nSubject: .+\nReceived: .+\n/);
      const meta = JSON.parse(r.m) as { html: string; attachments: unknown[] };
      expect(meta.html).toMatch(/^<p>/);
      expect(Array.isArray(meta.attachments)).toBe(true);
    }
    expect(rows.some((r) => (JSON.parse(r.m) as { attachments: unknown[] }).attachments.length > 0)).toBe(true);
    expect(count('SELECT count(*) FROM local_notes WHERE encrypted_metadata IS NULL')).toBeGreaterThan(800);
  });

  it('nests tasks only under earlier tasks of the same note', () => {
    expect(count('SELECT count(*) FROM note_tasks WHERE parent_task_id IS NOT NULL')).toBe(sum.nestedTasks);
    expect(
      count(`SELECT count(*) FROM note_tasks c LEFT JOIN note_tasks p ON p.id = c.parent_task_id
      WHERE c.parent_task_id IS NOT NULL AND (p.id IS NULL OR p.note_id != c.note_id OR p.position >= c.position)`),
    ).toBe(0);
  });

  it('builds a consistent folder tree up to 4 deep', () => {
    const rows = db.prepare('SELECT id, name, parent_id, path FROM local_folders').all() as {
      id: string;
      name: string;
      parent_id: string | null;
      path: string;
    }[];
    const byId = new Map(rows.map((r) => [r.id, r]));
    let maxDepth = 0;
    for (const r of rows) {
      const depth = r.path.split('/').length - 1;
      maxDepth = Math.max(maxDepth, depth);
      expect(depth).toBeLessThanOrEqual(4);
      expect(r.path.endsWith(`/${r.name}`)).toBe(true);
      if (r.parent_id === null) expect(depth).toBe(1);
      else expect(r.path).toBe(`${byId.get(r.parent_id)?.path}/${r.name}`);
    }
    expect(maxDepth).toBeGreaterThanOrEqual(3);
    expect(new Set(rows.map((r) => r.path)).size).toBe(rows.length);
  });
});

describe('determinism, canary and safety', () => {
  it('gives identical content for the same seed and different content for another seed', () => {
    const digestOf = (seed: number): Record<string, string> =>
      contentDigest(generateDataset({ path: fresh(), seed, notes: 300 }).path);
    const a = digestOf(11);
    const b = digestOf(11);
    const c = digestOf(12);
    expect(b).toEqual(a);
    for (const t of MIGRATED) expect(c[t]).not.toBe(a[t]);
  });

  it('puts the canary in every title, body and task content', () => {
    const canary = 'CANARY-7f3a9c';
    const path = fresh();
    generateDataset({ path, seed: 3, notes: 200, canary });
    const db = open(path);
    try {
      const missing = (sql: string): number => db.prepare(sql).pluck().get(canary) as number;
      expect(missing('SELECT count(*) FROM local_notes WHERE instr(title, ?) = 0')).toBe(0);
      expect(missing('SELECT count(*) FROM local_notes WHERE instr(body, ?) = 0')).toBe(0);
      expect(missing('SELECT count(*) FROM note_tasks WHERE instr(content, ?) = 0')).toBe(0);
      expect(db.prepare('SELECT count(*) FROM note_tasks').pluck().get()).toBeGreaterThan(0);
    } finally {
      db.close();
    }
  });

  it('refuses to overwrite an existing file, naming the path', () => {
    const path = fresh();
    writeFileSync(path, 'keep me');
    expect(() => generateDataset({ path, seed: 1, notes: 10 })).toThrow(path);
  });
});

describe('plantBadRows', () => {
  it('plants one row per case and the rows are present', () => {
    const path = fresh();
    generateDataset({ path, seed: 5, notes: 100 });
    const planted = plantBadRows(path);
    const key = (r: { table: string; sourceId: string }): string => `${r.table}:${r.sourceId}`;
    expect(new Set(planted.map(key)).size).toBe(planted.length);
    const reasons = planted.map((r) => `${r.table}:${r.expect}:${r.reason}`);
    const tally = (s: string): number => reasons.filter((r) => r === s).length;
    expect(tally('local_notes:quarantined:INVALID_JSON')).toBe(1);
    expect(tally('local_notes:quarantined:UNSUPPORTED_TEXT')).toBe(1);
    expect(tally('local_notes:quarantined:INVALID_ENUM')).toBe(1);
    expect(tally('local_notes:quarantined:TIMESTAMP_OUT_OF_RANGE')).toBe(1);
    expect(tally('local_notes:quarantined:INVALID_UTF8')).toBe(1);
    expect(tally('local_notes:migrated:null')).toBe(2); // ISO-8601 timestamp + the host note
    expect(tally('note_tasks:quarantined:INVALID_ENUM')).toBe(1);
    expect(tally('note_tasks:quarantined:MISSING_REFERENCE')).toBe(2);
    expect(tally('note_tasks:quarantined:UNSUPPORTED_TEXT')).toBe(1);
    expect(tally('note_tasks:quarantined:INVALID_JSON')).toBe(2);
    expect(tally('note_tasks:repaired:PARENT_MISSING')).toBe(1);
    expect(tally('note_tasks:migrated:null')).toBe(2);
    expect(tally('local_folders:repaired:PARENT_MISSING')).toBe(1);
    expect(tally('note_folders:quarantined:MISSING_REFERENCE')).toBe(2);
    expect(planted).toHaveLength(19);

    const db = open(path);
    try {
      const pk: Record<string, string> = { note_folders: 'note_id' };
      for (const r of planted) {
        const row = db.prepare(`SELECT 1 FROM ${r.table} WHERE ${pk[r.table] ?? 'id'} = ?`).get(r.sourceId);
        expect(row, key(r)).toBeDefined();
      }
      expect(
        db
          .prepare("SELECT typeof(title) || ':' || hex(title) FROM local_notes WHERE id = 'bad_note_utf8'")
          .pluck()
          .get(),
      ).toBe('text:48FF65');
      expect(db.prepare("SELECT typeof(updated_at) FROM local_notes WHERE id = 'bad_note_iso_ts'").pluck().get()).toBe(
        'text',
      );
      expect(db.prepare("SELECT hex(content) FROM note_tasks WHERE id = 'bad_task_nul'").pluck().get()).toBe('610062');
      expect(
        db.prepare("SELECT encrypted_metadata FROM local_notes WHERE id = 'bad_note_json_nul'").pluck().get(),
      ).toBe('{"a":"x\\u0000y"}');
      expect(db.prepare("SELECT parent_task_id FROM note_tasks WHERE id = 'bad_task_cycle_a'").pluck().get()).toBe(
        'bad_task_cycle_b',
      );
      expect(db.prepare("SELECT parent_task_id FROM note_tasks WHERE id = 'bad_task_cycle_b'").pluck().get()).toBe(
        'bad_task_cycle_a',
      );
    } finally {
      db.close();
    }
  });
});
