// What must hold after every fault case, checked independently of the product's own validation:
// the checks read the source file and the target themselves and reuse only pure functions (the
// mappings' transform/decode, the canonical JSON and row hash, the envelope's key derivation).
//   - source rows = migrated + quarantined, per table (completed runs)
//   - the multiset of canonical row hashes of the source's migrating rows equals the target's
//   - one ledger row per chunk; the chunks of a table read each source row once
//   - no duplicate target rows; every foreign key valid (no dangling reference, every constraint validated)
//   - an explicit final status; completed and validated, or the target equal to its pre-run state
//     (this user's rows, the run's indexes, lease released), and no INVALID index either way
//   - the source file unchanged (integrity_check ok, sha256 equal)
//   - no canary in any history or worker log
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Database from 'better-sqlite3';
import pg from 'pg';
import { canonicalJson, rowHash } from '../../lib/checksum';
import { deriveEntityKey, openString } from '../../lib/envelope';
import { mappingFor, TABLE_ORDER } from '../../lib/mapping';
import type { Sealer } from '../../lib/mapping/types';
import { prepareRows, sourceRefLookup } from '../../activities/prepare-rows';

export interface SourceState {
  sha256: string;
  rows: Record<string, number>;
}

export interface TargetSnapshot {
  userRows: Record<string, number>;
  indexes: string[];
}

export interface InvariantInput {
  source: string;
  sourceBefore: SourceState;
  targetUrl: string;
  targetBefore: TargetSnapshot;
  userId: string;
  keyringPath: string;
  asOfSeconds: number;
  /** 'completed', the failure type the run ended with, or 'no-end' when it did not end in time. */
  status: string;
  /** The run that completed (its ledger and quarantine rows), when one did. */
  completedRunId: string | null;
  /** Everything the histories and the worker logs hold, as text. */
  historiesAndLogs: string;
  canary: string;
}

export interface InvariantReport {
  violations: string[];
  chunks: number;
  rowsLost: number;
  duplicates: number;
}

const APP_TABLES = ['notes', 'note_tasks', 'folders', 'note_folders'] as const;

export function sourceState(path: string): SourceState {
  const sha256 = createHash('sha256').update(readFileSync(path)).digest('hex');
  const db = new Database(path, { readonly: true });
  try {
    const rows = Object.fromEntries(
      TABLE_ORDER.map((t) => [t, (db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n]),
    );
    return { sha256, rows };
  } finally {
    db.close();
  }
}

async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

async function exists(c: pg.Client, name: string): Promise<boolean> {
  return (await c.query<{ r: string | null }>('SELECT to_regclass($1) AS r', [name])).rows[0]!.r !== null;
}

export async function targetSnapshot(url: string, userId: string): Promise<TargetSnapshot> {
  return withClient(url, async (c) => {
    const userRows: Record<string, number> = {};
    for (const t of APP_TABLES) {
      userRows[t] = (await exists(c, `public.${t}`))
        ? Number((await c.query(`SELECT count(*)::int AS n FROM public.${t} WHERE user_id = $1`, [userId])).rows[0].n)
        : 0;
    }
    const indexes = (
      await c.query<{ n: string }>(`SELECT indexname AS n FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`)
    ).rows.map((r) => r.n);
    return { userRows, indexes };
  });
}

function sealerFrom(keyringPath: string, userId: string): Sealer {
  const master = new Uint8Array(
    Buffer.from((JSON.parse(readFileSync(keyringPath, 'utf8')) as Record<string, string>)[userId]!, 'base64'),
  );
  return {
    seal: () => {
      throw new Error('the invariants never encrypt');
    },
    open: (id, bytes) => openString(deriveEntityKey(master, id), bytes),
  };
}

/** Row hash → count. */
type Multiset = Map<bigint, number>;
const add = (m: Multiset, h: bigint) => m.set(h, (m.get(h) ?? 0) + 1);

/** The source's migrating rows of `table` as canonical row hashes (quarantined ids left out). */
async function sourceMultiset(
  path: string,
  table: string,
  userId: string,
  asOfSeconds: number,
  quarantined: Set<string>,
): Promise<Multiset> {
  const mapping = mappingFor(table);
  const db = new Database(path, { readonly: true });
  const out: Multiset = new Map();
  try {
    const ctx = { userId, asOfSeconds };
    const rows = db
      .prepare(`SELECT ${mapping.selectList} FROM ${mapping.sourceTable} ORDER BY ${mapping.keyColumn}`)
      .all() as Record<string, unknown>[];
    for (let i = 0; i < rows.length; i += 1000) {
      const prepared = await prepareRows(db, mapping, rows.slice(i, i + 1000), ctx, sourceRefLookup(db, ctx));
      for (const r of prepared.ok) if (!quarantined.has(r.sourceId)) add(out, rowHash(canonicalJson(r.canonical)));
    }
  } finally {
    db.close();
  }
  return out;
}

export async function checkInvariants(input: InvariantInput): Promise<InvariantReport> {
  const v: string[] = [];
  let rowsLost = 0;
  let duplicates = 0;
  let chunks = 0;

  // Source unchanged.
  const after = sourceState(input.source);
  if (after.sha256 !== input.sourceBefore.sha256) v.push('source file changed (sha256)');
  const integrity = (() => {
    const db = new Database(input.source, { readonly: true });
    try {
      return String(db.pragma('integrity_check', { simple: true }));
    } finally {
      db.close();
    }
  })();
  if (integrity !== 'ok') v.push(`source integrity_check: ${integrity}`);

  // No canary anywhere.
  if (input.historiesAndLogs.includes(input.canary) || input.historiesAndLogs.includes('CANARY-'))
    v.push('canary found in a history or a worker log');

  const explicit = input.status !== 'no-end';
  if (!explicit) v.push('the run did not end in an explicit status');

  await withClient(input.targetUrl, async (c) => {
    const invalid = (
      await c.query<{ n: string }>(
        `SELECT c.relname AS n FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE NOT i.indisvalid`,
      )
    ).rows.map((r) => r.n);
    if (invalid.length) v.push(`INVALID index(es): ${invalid.join(', ')}`);
    const unvalidated = (
      await c.query<{ n: string }>(`SELECT conname AS n FROM pg_constraint WHERE contype = 'f' AND NOT convalidated`)
    ).rows.map((r) => r.n);
    if (unvalidated.length) v.push(`foreign keys not validated: ${unvalidated.join(', ')}`);

    // Duplicates: target keys and ledger chunks (over every run of the user).
    for (const t of APP_TABLES) {
      if (!(await exists(c, `public.${t}`))) continue;
      const key = t === 'note_folders' ? 'note_id' : 'id';
      const d = Number(
        (
          await c.query(`SELECT count(*) - count(DISTINCT ${key}) AS d FROM public.${t} WHERE user_id = $1`, [
            input.userId,
          ])
        ).rows[0].d,
      );
      if (d) v.push(`${t}: ${d} duplicate target rows`);
      duplicates += d;
    }
    if (await exists(c, 'migration.chunk_ledger')) {
      const l = (
        await c.query(
          `SELECT count(*)::int AS n, count(DISTINCT (run_id, source_table, chunk_lo))::int AS d FROM migration.chunk_ledger WHERE user_id = $1`,
          [input.userId],
        )
      ).rows[0];
      if (l.n !== l.d) v.push(`ledger: ${l.n - l.d} duplicate chunk rows`);
      duplicates += l.n - l.d;
    }

    // Dangling references, by the target's own rows.
    if (await exists(c, 'public.note_folders')) {
      const dangling = (
        await c.query(
          `SELECT (SELECT count(*) FROM note_tasks t WHERE t.user_id = $1 AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.id = t.note_id AND n.user_id = t.user_id))
                + (SELECT count(*) FROM note_tasks t WHERE t.user_id = $1 AND t.parent_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM note_tasks p WHERE p.id = t.parent_id))
                + (SELECT count(*) FROM note_folders f WHERE f.user_id = $1 AND NOT EXISTS (SELECT 1 FROM notes n WHERE n.id = f.note_id AND n.user_id = f.user_id))
                + (SELECT count(*) FROM note_folders f WHERE f.user_id = $1 AND NOT EXISTS (SELECT 1 FROM folders d WHERE d.id = f.folder_id AND d.user_id = f.user_id)) AS n`,
          [input.userId],
        )
      ).rows[0].n;
      if (Number(dangling)) v.push(`${dangling} dangling references`);
    }

    if (input.status === 'completed') {
      const runId = input.completedRunId!;
      const sealer = sealerFrom(input.keyringPath, input.userId);
      for (const table of TABLE_ORDER) {
        const mapping = mappingFor(table);
        const quarantined = new Set(
          (
            await c.query<{ id: string }>(
              `SELECT source_id AS id FROM migration.migration_quarantine WHERE run_id = $1 AND user_id = $2 AND source_table = $3`,
              [runId, input.userId, table],
            )
          ).rows.map((r) => r.id),
        );
        const target: Multiset = new Map();
        let undecodable = 0;
        const { rows } = await c.query(`SELECT * FROM public.${mapping.targetTable} WHERE user_id = $1`, [
          input.userId,
        ]);
        for (const row of rows as Record<string, unknown>[]) {
          try {
            add(target, rowHash(canonicalJson(mapping.decode(row, sealer))));
          } catch {
            undecodable++;
          }
        }
        if (undecodable) v.push(`${table}: ${undecodable} target rows do not decrypt`);
        const sourceRows = input.sourceBefore.rows[table]!;
        if (sourceRows !== rows.length + quarantined.size)
          v.push(`${table}: source ${sourceRows} != migrated ${rows.length} + quarantined ${quarantined.size}`);
        const source = await sourceMultiset(input.source, table, input.userId, input.asOfSeconds, quarantined);
        let lost = 0;
        let extra = 0;
        for (const [h, n] of source) lost += Math.max(0, n - (target.get(h) ?? 0));
        for (const [h, n] of target) extra += Math.max(0, n - (source.get(h) ?? 0));
        if (lost) v.push(`${table}: ${lost} source rows missing or different in the target`);
        if (extra) v.push(`${table}: ${extra} target rows match no source row`);
        rowsLost += lost;
        duplicates += extra;
        const ledger = (
          await c.query(
            `SELECT count(*)::int AS chunks, coalesce(sum(rows_read), 0)::int AS read FROM migration.chunk_ledger WHERE run_id = $1 AND user_id = $2 AND source_table = $3`,
            [runId, input.userId, table],
          )
        ).rows[0];
        chunks += ledger.chunks;
        if (ledger.read !== sourceRows)
          v.push(`${table}: ledger chunks read ${ledger.read} rows, the source has ${sourceRows}`);
      }
    } else if (explicit) {
      // Not completed: the target must be as before the run, for this user, with nothing of the run left.
      const now = await targetSnapshot(input.targetUrl, input.userId);
      for (const t of APP_TABLES)
        if (now.userRows[t] !== input.targetBefore.userRows[t])
          v.push(`${t}: ${now.userRows[t]} rows of the user, ${input.targetBefore.userRows[t]} before the run`);
      const added = now.indexes.filter((i) => !input.targetBefore.indexes.includes(i));
      const gone = input.targetBefore.indexes.filter((i) => !now.indexes.includes(i));
      if (added.length || gone.length)
        v.push(`indexes differ from before the run: +[${added.join(', ')}] -[${gone.join(', ')}]`);
      if (await exists(c, 'migration.run_leases')) {
        const held = Number(
          (
            await c.query(`SELECT count(*)::int AS n FROM migration.run_leases WHERE user_id = $1 AND state = 'held'`, [
              input.userId,
            ])
          ).rows[0].n,
        );
        if (held) v.push('a run lease is still held');
      }
      if (await exists(c, 'migration.chunk_ledger')) {
        chunks = Number(
          (await c.query(`SELECT count(*)::int AS n FROM migration.chunk_ledger WHERE user_id = $1`, [input.userId]))
            .rows[0].n,
        );
      }
    }
  });
  return { violations: v, chunks, rowsLost, duplicates };
}

/** Every string of a history (payload bytes as UTF-8 text), for the canary scan. */
export function historyText(value: unknown): string {
  const parts: string[] = [];
  const walk = (x: unknown): void => {
    if (typeof x === 'string') parts.push(x);
    else if (x instanceof Uint8Array) parts.push(Buffer.from(x).toString('utf8'));
    else if (Array.isArray(x)) x.forEach(walk);
    else if (x && typeof x === 'object') Object.values(x).forEach(walk);
  };
  walk(value);
  return parts.join('\n');
}
