// Per run, a pre-image of exactly what the run can change (docs/design.md "Backups"): this user's
// rows of the mapped target tables and of their bridge tables (app schema and migration_archive), one
// COPY text file per table, all read in one REPEATABLE READ snapshot, plus a manifest naming each
// file with its row count, sha256 and the rows' fingerprint. Small (one user's rows), fast, and
// restorable on its own (restorePreImage, `migrator backups restore-pre-image`).
//
// Verified by re-reading, not by a restore: each file's line count must equal the snapshot's
// count(*) of the user's rows and its sha256 the one computed while writing. Written into
// `pre-image.attempt-<n>.partial/` (0700, files 0600) and renamed into place once verified.
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  createReadStream,
  createWriteStream,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import pg from 'pg';
import { from as copyFrom, to as copyTo } from 'pg-copy-streams';
import { PRE_IMAGE_SPACE_FACTOR } from '../lib/defaults';
import { BackupError } from '../lib/errors';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { sqlFile, tableLabel } from '../infra/sql-files';
import { ensureFreeSpace, ignoreClientError, runBackupDir, type BackupRecord } from './backup';
import type { ActivityDeps } from './deps';
import { attemptNumber, beat, throwIfCancelled } from './heartbeat';

export interface PreImageTable {
  /** Schema-qualified table name. */
  table: string;
  /** The table existed when the pre-image was taken (absent: the user had no rows in it). */
  present: boolean;
  /** Its columns then, in order: what each COPY line holds. */
  columns: string[];
  rows: number;
  /** The COPY text file, relative to the manifest's directory (absent tables: none). */
  file: string | null;
  bytes: number;
  sha256: string | null;
  /** table_fingerprint_user.sql of the user's rows then: what a restore must produce again. */
  checksum: string;
}

export interface PreImageManifest {
  version: 1;
  runId: string;
  userId: string;
  database: string;
  takenAt: string;
  /** In foreign-key order: a restore inserts in this order and deletes in the reverse. */
  tables: PreImageTable[];
}

/** What a run can change for its user: the mapped tables, then their bridge tables (live and archived). */
export function preImageTables(schema: string): string[] {
  // `schema.table` unquoted is the same table as quoted: app schema names are lowercase identifiers (lib/worker-config.ts).
  return [
    ...TABLE_ORDER.map((t) => tableLabel(schema, MAPPINGS[t].targetTable)),
    ...TABLE_ORDER.map((t) => tableLabel(schema, MAPPINGS[t].bridgeTable)),
    ...TABLE_ORDER.map((t) => `migration_archive.${MAPPINGS[t].bridgeTable}`),
  ];
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** sha256 and line count (= COPY text rows) of a file, streamed. */
async function readBack(path: string): Promise<{ sha256: string; lines: number }> {
  const hash = createHash('sha256');
  let lines = 0;
  for await (const chunk of createReadStream(path)) {
    const buf = chunk as Buffer;
    hash.update(buf);
    for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
  }
  return { sha256: hash.digest('hex'), lines };
}

function fsyncPath(path: string): void {
  const fd = openSync(path, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Scopes the session's COPY queries to one user (a parameter, never a literal in the SQL text). */
async function scopeToUser(client: pg.ClientBase, userId: string): Promise<void> {
  await client.query(sqlFile('queries/pre_image_scope.sql'), [userId]);
}

async function takePreImage(
  deps: ActivityDeps,
  input: { runId: string; target: string; userId: string; fullBackupId?: string },
): Promise<BackupRecord> {
  if (!UUID.test(input.userId)) throw new BackupError(`pre-image: userId is not a uuid`);
  const userId = input.userId.toLowerCase();
  const attempt = attemptNumber();
  const runDir = runBackupDir(deps.backupDir, input.runId);
  const finalDir = join(runDir, 'pre-image');
  const partialDir = join(runDir, `pre-image.attempt-${attempt}.partial`);
  // Earlier attempts' partial directories go (a later attempt's is never touched).
  for (const name of readdirSync(runDir)) {
    const m = /^pre-image\.attempt-(\d+)\.partial$/.exec(name);
    if (m && Number(m[1]) <= attempt) rmSync(join(runDir, name), { recursive: true, force: true });
  }
  const client = new pg.Client({ connectionString: deps.dsn(input.target), application_name: 'migrator-pre-image' });
  client.on('error', ignoreClientError);
  await client.connect();
  let committed = false;
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    await scopeToUser(client, userId);
    const takenAt = (await client.query<{ at: Date }>('SELECT now() AS at')).rows[0]!.at.toISOString();
    const tables: PreImageTable[] = [];
    const counted: { table: string; columns: string[]; rows: number; bytes: number }[] = [];
    for (const table of preImageTables(deps.schema(input.target))) {
      const present = (await client.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [table])).rows[0]!
        .present;
      if (!present) continue;
      // The name resolves in the current catalog, the columns are read in this transaction's snapshot:
      // a table another run created after the snapshot (a rollout's children set up the schema side by
      // side) has no columns here and no rows of this user, so it was not there for this pre-image.
      const columns = (
        await client.query<{ name: string }>(sqlFile('queries/pre_image_columns.sql'), [table])
      ).rows.map((r) => r.name);
      if (columns.length === 0) continue;
      const { rows } = await client.query<{ rows: number; bytes: number }>(
        sqlFile('queries/pre_image_count.sql', { table }),
        [userId],
      );
      counted.push({ table, columns, rows: Number(rows[0]!.rows), bytes: Number(rows[0]!.bytes) });
    }
    const estimate = counted.reduce((n, t) => n + t.bytes, 0) * PRE_IMAGE_SPACE_FACTOR;
    await ensureFreeSpace(runDir, estimate, `the pre-image of user ${userId}`);
    mkdirSync(partialDir, { mode: 0o700 });
    chmodSync(partialDir, 0o700);
    for (const [i, table] of preImageTables(deps.schema(input.target)).entries()) {
      throwIfCancelled();
      beat({ step: 'pre-image', table });
      const count = counted.find((c) => c.table === table);
      if (!count) {
        tables.push({ table, present: false, columns: [], rows: 0, file: null, bytes: 0, sha256: null, checksum: '0' });
        continue;
      }
      const { columns } = count;
      const checksum = (
        await client.query<{ checksum: string }>(sqlFile('queries/table_fingerprint_user.sql', { table }), [userId])
      ).rows[0]!.checksum;
      const file = `${String(i).padStart(2, '0')}_${table}.copy`;
      const path = join(partialDir, file);
      const out = createWriteStream(path, { mode: 0o600, flags: 'wx' });
      const hash = createHash('sha256');
      const source = client.query(copyTo(sqlFile('queries/pre_image_copy_out.sql', { table })));
      source.on('data', (chunk: Buffer) => hash.update(chunk));
      await pipeline(source, out);
      chmodSync(path, 0o600);
      fsyncPath(path);
      const written = hash.digest('hex');
      // Verified by re-reading what is on disk: every row there, nothing else, bytes unchanged.
      const back = await readBack(path);
      if (back.lines !== count.rows || back.sha256 !== written)
        throw new BackupError(
          `pre-image of ${table} did not verify: ${back.lines} rows read back, ${count.rows} in the snapshot${back.sha256 === written ? '' : ', sha256 differs'}`,
        );
      tables.push({
        table,
        present: true,
        columns,
        rows: count.rows,
        file,
        bytes: statSync(path).size,
        sha256: written,
        checksum,
      });
    }
    await client.query('COMMIT');
    committed = true;
    const manifest: PreImageManifest = {
      version: 1,
      runId: input.runId,
      userId,
      database: client.database ?? '',
      takenAt,
      tables,
    };
    const manifestPath = join(partialDir, 'manifest.json');
    writeFileSync(manifestPath, `${JSON.stringify(manifest, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
    fsyncPath(manifestPath);
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(partialDir, finalDir);
    fsyncPath(runDir);
    const location = join(finalDir, 'manifest.json');
    const sha256 = createHash('sha256').update(readFileSync(location)).digest('hex');
    return {
      backupId: `${input.runId}:pre-image`,
      kind: 'target-pre-image',
      location,
      bytes: tables.reduce((n, t) => n + t.bytes, statSync(location).size),
      sha256,
      verified: true,
      verification: {
        method: 're-read',
        tables: tables.filter((t) => t.present).length,
        rows: tables.reduce((n, t) => n + t.rows, 0),
        database: manifest.database,
        ...(input.fullBackupId ? { fullBackupId: input.fullBackupId } : {}),
        attempt,
      },
    };
  } catch (err) {
    rmSync(partialDir, { recursive: true, force: true });
    throw err;
  } finally {
    if (!committed) await client.query('ROLLBACK').catch(() => undefined);
    await client.end().catch(() => undefined);
  }
}

/** Reads a pre-image's manifest, checking it and every file against their recorded sha256. */
export async function loadPreImage(manifestPath: string, sha256: string): Promise<PreImageManifest> {
  const text = readFileSync(manifestPath);
  if (createHash('sha256').update(text).digest('hex') !== sha256)
    throw new BackupError(`pre-image manifest ${manifestPath} does not match its recorded sha256: refusing`);
  const manifest = JSON.parse(text.toString('utf8')) as PreImageManifest;
  for (const t of manifest.tables) {
    if (!t.file) continue;
    const back = await readBack(join(dirname(manifestPath), t.file));
    if (back.sha256 !== t.sha256 || back.lines !== t.rows)
      throw new BackupError(`pre-image file ${t.file} does not match its manifest: refusing`);
  }
  return manifest;
}

export interface PreImageRestore {
  /** Per table: rows of the user deleted, rows restored from the pre-image. */
  tables: { table: string; deleted: number; restored: number }[];
}

/**
 * Puts the user's rows of the pre-image's tables back as they were, in one transaction: deletes
 * the user's rows of each table (reverse foreign-key order), COPYs the pre-image's rows in
 * (forward order), then checks each table's fingerprint of the user's rows equals the recorded
 * one, or rolls everything back. Touches rows WHERE user_id = the pre-image's user only, in the
 * manifest's tables only. Refuses while a run of the user holds its lease, when a table's columns
 * changed, and when a foreign key from a table outside the pre-image would cascade the delete.
 */
export async function restorePreImage(client: pg.ClientBase, manifestPath: string, sha256: string) {
  const manifest = await loadPreImage(manifestPath, sha256);
  const { userId } = manifest;
  const inImage = new Set(manifest.tables.map((t) => t.table));
  await client.query('BEGIN');
  try {
    await scopeToUser(client, userId);
    const held = await client.query(sqlFile('queries/pre_image_lease_held.sql'), [userId]);
    if (held.rows.length)
      throw new BackupError(`a run of user ${userId} holds its lease: refusing to restore under it`);
    const present: PreImageTable[] = [];
    for (const t of manifest.tables) {
      const exists = (await client.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [t.table])).rows[0]!
        .present;
      if (!exists) {
        if (t.rows > 0) throw new BackupError(`table ${t.table} of the pre-image no longer exists: refusing`);
        continue;
      }
      if (t.present) {
        const columns = (
          await client.query<{ name: string }>(sqlFile('queries/pre_image_columns.sql'), [t.table])
        ).rows.map((r) => r.name);
        if (columns.join(',') !== t.columns.join(','))
          throw new BackupError(`table ${t.table} has other columns than when the pre-image was taken: refusing`);
      }
      const fks = await client.query<{ schema: string; table: string; on_delete: string }>(
        sqlFile('queries/referencing_foreign_keys.sql'),
        [t.table],
      );
      const cascading = fks.rows.filter(
        (f) => ['c', 'n', 'd'].includes(f.on_delete) && !inImage.has(`${f.schema}.${f.table}`),
      );
      if (cascading.length)
        throw new BackupError(
          `deleting from ${t.table} would cascade into ${cascading.map((f) => `${f.schema}.${f.table}`).join(', ')}, outside the pre-image: refusing`,
        );
      present.push(t);
    }
    const out: PreImageRestore['tables'] = present.map((t) => ({ table: t.table, deleted: 0, restored: 0 }));
    for (const [i, t] of [...present.entries()].reverse()) {
      out[i]!.deleted = (await client.query(sqlFile('queries/pre_image_delete.sql', { table: t.table }))).rowCount ?? 0;
    }
    for (const [i, t] of present.entries()) {
      if (!t.file || t.rows === 0) continue;
      const sink = client.query(copyFrom(sqlFile('queries/pre_image_copy_in.sql', { table: t.table })));
      const input = createReadStream(join(dirname(manifestPath), t.file));
      await pipeline(input, sink);
      out[i]!.restored = t.rows;
    }
    for (const t of present) {
      const fp = (
        await client.query<{ rows: number; checksum: string }>(
          sqlFile('queries/table_fingerprint_user.sql', { table: t.table }),
          [userId],
        )
      ).rows[0]!;
      if (Number(fp.rows) !== t.rows || fp.checksum !== t.checksum)
        throw new BackupError(`after the restore ${t.table} does not equal the pre-image: rolled back`);
    }
    await client.query('COMMIT');
    return { userId, runId: manifest.runId, tables: out };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

export function createPreImageActivities(deps: ActivityDeps) {
  return {
    /** The pre-image of this run's user (see the file comment); retried attempts rewrite it whole. */
    async backupPreImage(input: {
      runId: string;
      target: string;
      userId: string;
      /** The full backup of the window the run relies on (recorded with the pre-image for retention). */
      fullBackupId?: string;
    }): Promise<BackupRecord> {
      return takePreImage(deps, input);
    },
  };
}
