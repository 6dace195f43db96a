// A source file or backup SQLite cannot read at all (truncated, or not a database) fails the
// off-loop integrity_check as a check that found a problem, naming SQLite's code, instead of a
// crashed child whose stack trace became the error (the fault suite's backup-truncated case).
import { statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { sqliteIntegrityCheck } from '../../activities/backup';
import { generateDataset } from '../../gen/generate';
import { tempDir } from '../helpers/stack';

const dir = tempDir();

it('a file cut to half its size is a failed check (SQLITE_CORRUPT), not a crashed child', async () => {
  const path = join(dir, 'truncated.sqlite');
  generateDataset({ path, seed: 3, notes: 300 });
  expect(await sqliteIntegrityCheck(path)).toMatchObject({ ok: true, problems: 0, first: 'ok' });
  truncateSync(path, Math.floor(statSync(path).size / 2) - 100);
  const result = await sqliteIntegrityCheck(path);
  expect(result).toMatchObject({ ok: false, problems: 1, userVersion: -1 });
  expect(result.first).toMatch(/^SQLITE_CORRUPT: /);
});

it('a file that is not a database is a failed check (SQLITE_NOTADB)', async () => {
  const path = join(dir, 'garbage.sqlite');
  writeFileSync(path, Buffer.alloc(64 * 1024, 0xab));
  const result = await sqliteIntegrityCheck(path);
  expect(result).toMatchObject({ ok: false, problems: 1 });
  expect(result.first).toMatch(/^SQLITE_NOTADB: /);
});
