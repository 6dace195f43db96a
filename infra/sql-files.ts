// Loads the idempotent SQL files in sql/ (docs/conventions.md §7). Identifiers substituted into {{name}}
// placeholders come from mappings, the catalog or the validated worker config (the app schema, quoted by
// quoteIdent), never from workflow input, and are checked anyway.
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const SQL_DIR = fileURLToPath(new URL('../sql/', import.meta.url));
const cache = new Map<string, string>();
const IDENT = /^([a-z_][a-z0-9_]*\.)?[a-z_][a-z0-9_]*$|^"[^"]+"\."[^"]+"$|^[a-z_][a-z0-9_]*\."[^"]+"$|^"[^"]+"$/;

/**
 * An identifier for a {{placeholder}}, always double-quoted (a keyword or a capital letter stays one
 * name). Only for names the code or the validated worker config chose (lib/worker-config.ts APP_SCHEMA).
 */
export function quoteIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]{0,62}$/.test(name)) throw new Error(`${JSON.stringify(name)} is not an identifier`);
  return `"${name}"`;
}

/** `"schema"."table"`: an app or bridge table in the target's app schema (docs/security.md "Trust model"). */
export function qualified(schema: string, table: string): string {
  return `${quoteIdent(schema)}.${quoteIdent(table)}`;
}

/** `schema.table` as a run's lists name a table (ensureSchema's `created`, dropCreatedTables' input): not SQL. */
export function tableLabel(schema: string, table: string): string {
  return `${schema}.${table}`;
}

export function sqlFile(relative: string, vars: Record<string, string> = {}): string {
  let text = cache.get(relative);
  if (text === undefined) {
    text = readFileSync(`${SQL_DIR}${relative}`, 'utf8');
    cache.set(relative, text);
  }
  return text.replace(/\{\{(\w+)\}\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) throw new Error(`sql/${relative}: no value for {{${name}}}`);
    if (!IDENT.test(value))
      throw new Error(`sql/${relative}: {{${name}}} = ${JSON.stringify(value)} is not an identifier`);
    return value;
  });
}

/** The statements of a file, split at semicolons that end a line (files here hold no function bodies). */
export function sqlStatements(relative: string, vars: Record<string, string> = {}): string[] {
  return sqlFile(relative, vars)
    .split(/;\s*\n/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/** Every .sql file of a folder, in name order. */
export function sqlFolder(folder: string): string[] {
  return readdirSync(`${SQL_DIR}${folder}`)
    .filter((f) => f.endsWith('.sql'))
    .sort()
    .map((f) => `${folder}/${f}`);
}
