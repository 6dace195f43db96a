// The source SQLite file, always opened read-only.
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { SourceError } from '../lib/errors';

export function openSource(path: string): Database.Database {
  if (!existsSync(path)) throw new SourceError('NOT_FOUND', `source ${path} does not exist (as seen by the worker)`);
  const db = new Database(path, { readonly: true, fileMustExist: true });
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
