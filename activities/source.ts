// The source SQLite file, always opened read-only. Before better-sqlite3 opens it, the file must
// exist, be a readable regular file and start with SQLite's 16-byte header: SQLite itself would
// open an empty file as an empty database and only fail a random or text file at its first query
// with a generic (retryable) error. A file that is not SQLite fails here once, as SourceInvalid.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SourceError } from '../lib/errors';

/** The first 16 bytes of every SQLite 3 database file (https://www.sqlite.org/fileformat.html §1.3). */
const SQLITE_HEADER = Buffer.from('SQLite format 3\0', 'latin1');

/** Throws a SourceError naming what is wrong with `path` unless it looks like a SQLite 3 database file. */
export function checkSourceFile(path: string): void {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile())
      throw new SourceError(
        'NOT_A_FILE',
        `source ${path} is not a regular file (a directory or device?): give the path of the SQLite file`,
      );
    size = st.size;
  } catch (err) {
    if (err instanceof SourceError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new SourceError('NOT_FOUND', `source ${path} does not exist (as seen by the worker)`);
    throw new SourceError('UNREADABLE', `source ${path} cannot be read by the worker (${code ?? String(err)})`);
  }
  if (size === 0) throw new SourceError('EMPTY', `source ${path} is empty (0 bytes), not a SQLite database`);
  const head = Buffer.alloc(SQLITE_HEADER.length);
  let read: number;
  try {
    const fd = openSync(path, 'r');
    try {
      read = readSync(fd, head, 0, head.length, 0);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new SourceError(
      'UNREADABLE',
      `source ${path} cannot be read by the worker (${(err as NodeJS.ErrnoException).code ?? String(err)})`,
    );
  }
  if (read < SQLITE_HEADER.length || !head.equals(SQLITE_HEADER)) {
    throw new SourceError(
      'NOT_SQLITE',
      `source ${path} is not a SQLite database: its first 16 bytes are not the header "SQLite format 3\\0" (${size} bytes)`,
    );
  }
}

export function openSource(path: string): Database.Database {
  checkSourceFile(path);
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    // Reads page 1: a file with a valid header and a broken rest fails here, typed, not at some later query.
    db.pragma('schema_version', { simple: true });
  } catch (err) {
    db.close();
    const code = (err as { code?: string }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT')
      throw new SourceError(
        'INTEGRITY',
        `source ${path} has a SQLite header but is corrupt (${code}): restore it from a backup`,
      );
    throw err;
  }
  db.defaultSafeIntegers(false);
  return db;
}

export function withSource<T>(path: string, fn: (db: Database.Database) => T): T {
  const db = openSource(path);
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export async function withSourceAsync<T>(path: string, fn: (db: Database.Database) => Promise<T>): Promise<T> {
  const db = openSource(path);
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}
