// Turns source rows into what the target gets: transform + validate each row, resolve its
// optional parent, check its required references. Shared by the chunk transfer and by the
// validation's sample compare, so both judge a row the same way.
import type Database from 'better-sqlite3';
import type pg from 'pg';
import { MAX_ROW_BYTES } from '../lib/defaults';
import { mappingFor } from '../lib/mapping';
import { sizedView } from '../lib/mapping/bounds';
import type { RequiredRef, TableMapping, TransformContext, TransformedRow } from '../lib/mapping/types';
import { RowRejection } from '../lib/mapping/values';
import { QuarantineReason, RepairReason } from '../lib/reasons';
import { sqlFile } from '../infra/sql-files';

export interface Rejected {
  sourceId: string;
  targetId: string | null;
  reason: string;
  detail: string;
}

export interface Prepared {
  ok: (TransformedRow<Record<string, unknown>> & { repaired: string | null; pendingParent: string | null })[];
  rejected: Rejected[];
}

/** Where required references are looked up: the target (a real run) or the source (dry run). */
export type RefLookup = (
  table: 'notes' | 'folders',
  refs: { sourceId: string; targetId: string }[],
) => Promise<Set<string>>;

/** `schema`: the target's app schema, quoted (infra/sql-files.ts quoteIdent). */
export function targetRefLookup(client: pg.ClientBase, schema: string, userId: string): RefLookup {
  return async (table, refs) => {
    if (refs.length === 0) return new Set();
    const ids = refs.map((r) => r.targetId);
    const { rows } = await client.query<{ id: string; user_id: string }>(
      sqlFile('queries/select_owned_ids.sql', { schema, table, key: 'id' }),
      [ids],
    );
    return new Set(rows.filter((r) => r.user_id === userId).map((r) => r.id));
  };
}

const SOURCE_OF = { notes: 'local_notes', folders: 'local_folders' } as const;

/** Dry run: a reference resolves when the referenced source row exists and would migrate. */
export function sourceRefLookup(db: Database.Database, ctx: TransformContext): RefLookup {
  return async (table, refs) => {
    const mapping = mappingFor(SOURCE_OF[table]);
    const found = new Set<string>();
    for (const row of selectByKeys(db, mapping, [...new Set(refs.map((r) => r.sourceId))])) {
      try {
        found.add(mapping.transform(row, ctx).targetId);
      } catch {
        /* a row that would be quarantined does not resolve a reference */
      }
    }
    return found;
  };
}

/** Creates (idempotently) the temp view of the table's row sizes on this connection; returns its name. */
export function sizeRows(db: Database.Database, mapping: TableMapping): string {
  const { file, view } = sizedView(mapping);
  db.exec(sqlFile(file));
  return view;
}

/**
 * The rows of the keyset range (lo, hi]. Rows larger than MAX_ROW_BYTES are not read: they come
 * back as ROW_TOO_LARGE rejections (key and size only), so one huge row can neither exhaust the
 * worker's memory nor fail its chunk on every retry.
 */
export function readChunkRows(
  db: Database.Database,
  mapping: TableMapping,
  lo: string | null,
  hi: string,
  maxRowBytes = MAX_ROW_BYTES,
): { rows: Record<string, unknown>[]; oversized: Rejected[] } {
  const sized = sizeRows(db, mapping);
  const big = db.prepare(sqlFile('queries/source_oversized_rows.sql', { sized })).all({ lo, hi, max: maxRowBytes }) as {
    k: string;
    bytes: number;
  }[];
  const key = mapping.keyColumn;
  const rows = db
    .prepare(
      `SELECT ${mapping.selectList} FROM ${mapping.sourceTable} WHERE ${key} > coalesce(@lo, -9e999) AND ${key} <= @hi AND ${key} NOT IN (SELECT value FROM json_each(@skip)) ORDER BY ${key}`,
    )
    .all({ lo, hi, skip: JSON.stringify(big.map((b) => b.k)) }) as Record<string, unknown>[];
  const oversized = big.map((b) => ({
    sourceId: String(b.k),
    targetId: null,
    reason: QuarantineReason.ROW_TOO_LARGE,
    detail: `bytes=${b.bytes}`,
  }));
  return { rows, oversized };
}

/** Source rows by key (parents, dry-run references). A row over MAX_ROW_BYTES is left out, as if
 * missing: it is quarantined (ROW_TOO_LARGE), so it neither resolves a reference nor is read. */
export function selectByKeys(db: Database.Database, mapping: TableMapping, keys: string[]): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const statement = db.prepare(
    `SELECT ${mapping.selectList} FROM ${mapping.sourceTable} WHERE ${mapping.keyColumn} = ?`,
  );
  const size = db.prepare(sqlFile('queries/source_row_bytes.sql', { sized: sizeRows(db, mapping) }));
  for (const key of keys) {
    const bytes = (size.get({ key }) as { bytes: number } | undefined)?.bytes;
    if (bytes === undefined || bytes > MAX_ROW_BYTES) continue;
    const row = statement.get(key) as Record<string, unknown> | undefined;
    if (row) out.push(row);
  }
  return out;
}

function transformAll(mapping: TableMapping, rows: Record<string, unknown>[], ctx: TransformContext) {
  const ok: TransformedRow<Record<string, unknown>>[] = [];
  const rejected: Rejected[] = [];
  for (const row of rows) {
    try {
      ok.push(mapping.transform(row, ctx));
    } catch (err) {
      if (!(err instanceof RowRejection)) throw err;
      rejected.push({
        sourceId: String(row[mapping.keyColumn]),
        targetId: null,
        reason: err.reason,
        detail: `column=${err.column}`,
      });
    }
  }
  return { ok, rejected };
}

async function checkRefs(rows: TransformedRow<Record<string, unknown>>[], lookup: RefLookup) {
  const wanted = { notes: new Map<string, RequiredRef>(), folders: new Map<string, RequiredRef>() };
  for (const r of rows) for (const ref of r.requiredRefs) wanted[ref.table].set(ref.targetId, ref);
  const found = {
    notes: await lookup('notes', [...wanted.notes.values()]),
    folders: await lookup('folders', [...wanted.folders.values()]),
  };
  const ok: typeof rows = [];
  const rejected: Rejected[] = [];
  for (const r of rows) {
    const missing = r.requiredRefs.find((ref) => !found[ref.table].has(ref.targetId));
    if (missing)
      rejected.push({
        sourceId: r.sourceId,
        targetId: r.targetId,
        reason: QuarantineReason.MISSING_REFERENCE,
        detail: `column=${missing.column}`,
      });
    else ok.push(r);
  }
  return { ok, rejected };
}

export async function prepareRows(
  db: Database.Database,
  mapping: TableMapping,
  rows: Record<string, unknown>[],
  ctx: TransformContext,
  lookup: RefLookup,
): Promise<Prepared> {
  const transformed = transformAll(mapping, rows, ctx);
  const referenced = await checkRefs(transformed.ok, lookup);
  // Optional parents: valid when the parent source row exists and would itself migrate.
  const parentKeys = [...new Set(referenced.ok.flatMap((r) => (r.parent ? [r.parent.sourceId] : [])))];
  const validParents = new Set<string>();
  if (parentKeys.length) {
    const parents = transformAll(mapping, selectByKeys(db, mapping, parentKeys), ctx);
    for (const p of (await checkRefs(parents.ok, lookup)).ok) validParents.add(p.targetId);
  }
  const ok = referenced.ok.map((r) => {
    if (!r.parent || !mapping.withParent) return { ...r, repaired: null, pendingParent: null };
    const valid = validParents.has(r.parent.targetId);
    return {
      ...r,
      canonical: mapping.withParent(r.canonical, valid ? r.parent.targetId : null),
      repaired: valid ? null : RepairReason.PARENT_MISSING,
      pendingParent: valid ? r.parent.targetId : null,
    };
  });
  return { ok, rejected: [...transformed.rejected, ...referenced.rejected] };
}
