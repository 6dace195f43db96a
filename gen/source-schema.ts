// The Duru Notes Drift (v12) SQLite schema, applied to a fresh file.
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';

export const SOURCE_SCHEMA_VERSION = 12;

const SCHEMA_URL = new URL('../sql/source/drift_v12.sql', import.meta.url);

export function sourceSchemaSql(): string {
  return readFileSync(SCHEMA_URL, 'utf8');
}

/** Creates (or opens) the file at `path`, applies the Drift v12 DDL and returns the open database. */
export function createSourceDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.exec(sourceSchemaSql());
  return db;
}
