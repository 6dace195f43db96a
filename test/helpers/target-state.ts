// An independent view of a target's state for rollback tests: its own SQL, not the product's
// fingerprint code, so a bug there cannot hide a bug in the rollback.
import { randomUUID } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestTarget } from './stack';

const TARGET_SQL = fileURLToPath(new URL('../../sql/target/', import.meta.url));

/** The app's tables, as they exist in a target before any migration (in the app schema `schema`). */
export async function createAppTables(target: TestTarget, schema = 'public'): Promise<void> {
  // One simple-protocol string runs as one implicit transaction: SET LOCAL covers the file's statements.
  for (const f of readdirSync(TARGET_SQL).sort()) {
    const sql = readFileSync(`${TARGET_SQL}${f}`, 'utf8').replaceAll('{{schema}}', `"${schema}"`);
    await target.query(`SET LOCAL search_path = "${schema}";\n${sql}`);
  }
}

/** Creates the app's tables and rows that exist before any migration: another user's, and one of the migrating user's own. */
export async function seedTarget(
  target: TestTarget,
  userId: string,
  schema = 'public',
): Promise<{ otherUser: string; ownNoteId: string }> {
  await createAppTables(target, schema);
  const otherUser = randomUUID();
  const ownNoteId = randomUUID();
  for (const [id, uid] of [
    [randomUUID(), otherUser],
    [randomUUID(), otherUser],
    [ownNoteId, userId],
  ] as const) {
    await target.query(
      `INSERT INTO "${schema}".notes (id, user_id, title_enc, props_enc, note_type, created_at, updated_at) VALUES ($1, $2, '\\x01', '\\x02', 'note', '2024-01-01', '2024-01-02')`,
      [id, uid],
    );
    await target.query(
      `INSERT INTO "${schema}".note_tasks (id, user_id, note_id, content, status, priority, created_at, updated_at) VALUES ($1, $2, $3, 'pre-existing', 'pending', 1, '2024-01-01', '2024-01-01')`,
      [randomUUID(), uid, id],
    );
  }
  await target.query(`CREATE INDEX pre_existing_idx ON "${schema}".notes (created_at)`);
  return { otherUser, ownNoteId };
}

/** Every table's rows of one schema (ordered text) hashed, plus that schema's index list with validity. */
export async function targetState(target: TestTarget, schema = 'public'): Promise<Record<string, string>> {
  const tables = await target.query<{ t: string }>(
    'SELECT tablename AS t FROM pg_tables WHERE schemaname = $1 ORDER BY 1',
    [schema],
  );
  const out: Record<string, string> = {};
  for (const { t } of tables) {
    const [r] = await target.query<{ n: number; h: string | null }>(
      `SELECT count(*)::int AS n, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h FROM "${schema}"."${t}" x`,
    );
    out[`table ${t}`] = `${r!.n}:${r!.h}`;
  }
  const indexes = await target.query<{ d: string; v: boolean }>(
    'SELECT pg_get_indexdef(i.indexrelid) AS d, i.indisvalid AS v FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 ORDER BY 1',
    [schema],
  );
  out.indexes = indexes.map((i) => `${i.d}${i.v ? '' : ' INVALID'}`).join('\n');
  return out;
}

export async function invalidIndexes(target: TestTarget): Promise<string[]> {
  return (
    await target.query<{ n: string }>(
      'SELECT c.relname AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid',
    )
  ).map((r) => r.n);
}
