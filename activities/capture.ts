// Online mode, the source side: install and remove the change capture (a log table and AFTER
// INSERT/UPDATE/DELETE triggers on every mapped table, sql/source/capture_*.sql). This is the only
// change the migrator ever makes to a source file, and only in online mode; removing it leaves
// sqlite_master as it was before the install (the digest below excludes the capture's own objects,
// so it is equal before the install and after the removal unless the app itself changed its schema).
import { createHash } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { CAPTURED_TABLES } from '../lib/capture';
import { SOURCE_WRITE_BUSY_TIMEOUT_MS } from '../lib/defaults';
import { sqlFile } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { checkSourceFile } from './source';

/** A writable connection to the source: its writers wait for ours (and we for theirs) up to the busy timeout. */
export function openSourceWritable(path: string): Database.Database {
  checkSourceFile(path);
  const db = new Database(path, { fileMustExist: true, timeout: SOURCE_WRITE_BUSY_TIMEOUT_MS });
  db.defaultSafeIntegers(false);
  return db;
}

/** The copy of the source the cut-over took under the write lock (the source at the freeze point):
 * validation samples it; removing the capture removes it. In the worker's backup directory. */
export function freezeCopyPath(deps: Pick<ActivityDeps, 'backupDir'>, runId: string): string {
  return join(deps.backupDir, `.cutover-${runId.replace(/[^A-Za-z0-9-]/g, '_')}.sqlite`);
}

const isCaptureObject = (name: string) => name === '_migrator_changes' || name.startsWith('_migrator_');

/** sha256 of the source's sqlite_master rows, the capture's own objects left out. */
export function schemaDigest(db: Database.Database): string {
  const rows = db.prepare(sqlFile('source/schema_digest.sql')).all() as {
    type: string;
    name: string;
    tbl_name: string;
    sql: string;
  }[];
  const hash = createHash('sha256');
  for (const r of rows.filter((row) => !isCaptureObject(row.name)))
    hash.update(`${r.type}\0${r.name}\0${r.tbl_name}\0${r.sql}\n`);
  return hash.digest('hex');
}

/** The capture's objects still present (names only). */
export function captureObjects(db: Database.Database): string[] {
  return (db.prepare(sqlFile('source/capture_objects.sql')).all() as { type: string; name: string }[]).map(
    (o) => `${o.type} ${o.name}`,
  );
}

export interface CaptureInstalled {
  /** The log's highest sequence when the capture was in place: the bulk copy starts after it. */
  startSeq: number;
  /** The source's schema before the install (capture objects excluded). */
  schemaDigest: string;
  objects: number;
}

export function createCaptureActivities(deps: ActivityDeps) {
  return {
    /** Installs the change log and triggers (idempotent: a retry finds them in place). */
    async installCapture(input: { runId: string; source: string }): Promise<CaptureInstalled> {
      const db = openSourceWritable(deps.capabilities.sourcePath(input.source, 'source'));
      try {
        const digest = schemaDigest(db);
        // One write transaction: the app sees either no capture or all of it.
        db.exec('BEGIN IMMEDIATE');
        try {
          db.exec(sqlFile('source/capture_log.sql'));
          for (const c of CAPTURED_TABLES) db.exec(sqlFile('source/capture_triggers.sql', c));
          const { s } = db.prepare('SELECT coalesce(max(seq), 0) AS s FROM _migrator_changes').get() as { s: number };
          db.exec('COMMIT');
          return { startSeq: s, schemaDigest: digest, objects: captureObjects(db).length };
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      } finally {
        db.close();
      }
    },

    /** Removes the triggers, then the log (idempotent); reports the schema digest afterwards and what is left. */
    async removeCapture(input: {
      runId: string;
      source: string;
    }): Promise<{ schemaDigest: string; remaining: string[] }> {
      const db = openSourceWritable(deps.capabilities.sourcePath(input.source, 'source'));
      try {
        db.exec('BEGIN IMMEDIATE');
        try {
          for (const c of CAPTURED_TABLES) db.exec(sqlFile('source/capture_remove.sql', c));
          db.exec(sqlFile('source/capture_drop_log.sql'));
          db.exec('COMMIT');
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
        return { schemaDigest: schemaDigest(db), remaining: captureObjects(db) };
      } finally {
        db.close();
        rmSync(freezeCopyPath(deps, input.runId), { force: true });
      }
    },
  };
}
