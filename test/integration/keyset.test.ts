// Keyset planning over a real SQLite file: bounds cover every key exactly once, and a key that is
// not valid UTF-8 (it sorts by bytes, but comes back as U+FFFD) fails clearly instead of looping.
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, expect, it } from 'vitest';
import { createDeps } from '../../activities/deps';
import { createTransferActivities, type ChunkBounds } from '../../activities/transfer';
import { generateDataset } from '../../gen/generate';
import { tempDir, testWorkerConfig } from '../helpers/stack';

const deps = createDeps({ backupDir: tempDir(), config: testWorkerConfig });
const { planChunks } = createTransferActivities(deps);
afterAll(() => deps.close());

it('plans chunks that cover every source key exactly once', async () => {
  const source = join(tempDir(), 'keys.sqlite');
  generateDataset({ path: source, seed: 41, notes: 257 });
  const bounds: ChunkBounds[] = [];
  let after: string | null = null;
  for (;;) {
    const plan = await planChunks({ source, table: 'local_notes', after, chunkRows: 10, maxChunks: 7 });
    bounds.push(...plan.chunks);
    after = plan.chunks.at(-1)?.hi ?? after;
    if (plan.done) break;
  }
  const db = new Database(source, { readonly: true });
  const keys = (db.prepare('SELECT id FROM local_notes ORDER BY id').all() as { id: string }[]).map((r) => r.id);
  db.close();
  expect(bounds).toHaveLength(Math.ceil(keys.length / 10));
  expect(bounds[0]!.lo).toBeNull();
  bounds.forEach((b, i) => i > 0 && expect(b.lo).toBe(bounds[i - 1]!.hi));
  expect(bounds.at(-1)!.hi).toBe(keys.at(-1));
});

it('fails with a clear error on a key that is not valid UTF-8 instead of looping', async () => {
  const source = join(tempDir(), 'badkey.sqlite');
  generateDataset({ path: source, seed: 43, notes: 5 });
  const db = new Database(source);
  db.pragma('foreign_keys = OFF');
  db.prepare(
    "INSERT INTO local_notes (id, title, body, updated_at) VALUES (CAST(x'ff41' AS TEXT), 't', 'b', 1700000000)",
  ).run();
  db.close();
  const plan = async () => {
    let after: string | null = null;
    for (let i = 0; i < 100; i++) {
      const p = await planChunks({ source, table: 'local_notes', after, chunkRows: 1, maxChunks: 3 });
      if (p.done) return 'done';
      after = p.chunks.at(-1)!.hi;
    }
    return 'looping';
  };
  await expect(plan()).rejects.toThrow(/do not sort consistently .*not valid UTF-8/);
});
