// In-process benchmark of a chunk's CPU work, without PostgreSQL or Temporal: transform and
// validate every row (activities/prepare-rows), encode it for the target (encrypting note title
// and body with a per-note HKDF key) and add it to the chunk checksum, what transferChunk does
// between reading the source and sending the insert — and digest each encoded row as written. The
// baseline runs the same rows through the previous pure-JS primitives (@noble HKDF, XChaCha20-Poly1305,
// SHA-256, SHA-1) and the previous row digest, kept for comparison only; both paths must produce the
// same checksums and digests and mutually decryptable envelopes.
//
//   npm run bench:transform -- [--notes 20000] [--rounds 3] [--only baseline|current] [--source file.sqlite]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomBytes } from 'node:crypto';
import Database from 'better-sqlite3';
import { generateDataset } from '../gen/generate';
import { previous } from './previous-chunk-path';
import { previousRowDigest } from './previous-row-digest';
import { DIGEST_COLUMNS, rowDigest, type ColumnKind } from '../activities/row-digest';
import { prepareRows, type RefLookup } from '../activities/prepare-rows';
import { canonicalJson, ChecksumAccumulator } from '../lib/checksum';
import { DEFAULT_CHUNK_ROWS } from '../lib/defaults';
import { deriveEntityKey, openString, sealString } from '../lib/envelope';
import { uuidV5 } from '../lib/ids';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import type { Sealer, TableMapping } from '../lib/mapping/types';

const baseline = previous;

interface Impl {
  name: 'baseline' | 'current';
  derive: (master: Uint8Array, id: string) => Uint8Array;
  seal: (key: Uint8Array, plaintext: string) => Buffer;
  open: (key: Uint8Array, envelope: Uint8Array) => string;
  checksum: (canonicals: unknown[]) => string;
  /** The digest of a target row as written (activities/row-digest.ts), taken for every encoded row. */
  digest: (kinds: readonly ColumnKind[], values: readonly unknown[]) => bigint;
}

const IMPLS: Impl[] = [
  {
    name: 'baseline',
    derive: baseline.deriveEntityKey,
    seal: baseline.seal,
    open: baseline.open,
    checksum(canonicals) {
      let sum = 0n;
      for (const c of canonicals) sum = (sum + baseline.rowHash(baseline.canonicalJson(c))) & ((1n << 64n) - 1n);
      return sum.toString(16).padStart(16, '0');
    },
    digest: previousRowDigest,
  },
  {
    name: 'current',
    derive: deriveEntityKey,
    seal: (key, text) => sealString(key, text),
    open: openString,
    checksum(canonicals) {
      const acc = new ChecksumAccumulator();
      for (const c of canonicals) acc.add(canonicalJson(c));
      return acc.hex();
    },
    digest: rowDigest,
  },
];

/** The worker's sealer (activities/deps.ts): a per-entity key cache in front of derive + seal. */
function sealerOf(impl: Impl, master: Uint8Array): Sealer {
  const keys = new Map<string, Uint8Array>();
  const keyFor = (id: string): Uint8Array => {
    let key = keys.get(id);
    if (!key) {
      key = impl.derive(master, id);
      if (keys.size > 10_000) keys.clear();
      keys.set(id, key);
    }
    return key;
  };
  return { seal: (id, text) => impl.seal(keyFor(id), text), open: (id, bytes) => impl.open(keyFor(id), bytes) };
}

// Every required reference resolves (the target already holds the parents): the lookup costs nothing.
const allFound: RefLookup = async (_table, refs) => new Set(refs.map((r) => r.targetId));

interface TableRows {
  mapping: TableMapping;
  chunks: Record<string, unknown>[][];
}

function loadRows(db: Database.Database, chunkRows: number): TableRows[] {
  return TABLE_ORDER.map((table) => {
    const mapping = MAPPINGS[table];
    const rows = db
      .prepare(`SELECT ${mapping.selectList} FROM ${mapping.sourceTable} ORDER BY ${mapping.keyColumn}`)
      .all() as Record<string, unknown>[];
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < rows.length; i += chunkRows) chunks.push(rows.slice(i, i + chunkRows));
    return { mapping, chunks };
  });
}

interface RunResult {
  rows: number;
  ms: number;
  /** CPU time of the whole process (all threads) during the run: steadier than wall time on a busy host. */
  cpuMs: number;
  checksums: string[];
  /** One encoded row per table (for the cross-decryption check). */
  samples: { mapping: TableMapping; encoded: unknown[]; canonical: Record<string, unknown> }[];
  /** Every row as written (digest column order): the input of digestBench. */
  written: { kinds: readonly ColumnKind[]; values: unknown[] }[];
}

async function runPath(
  impl: Impl,
  db: Database.Database,
  tables: TableRows[],
  userId: string,
  master: Uint8Array,
): Promise<RunResult> {
  const ctx = { userId, asOfSeconds: Math.floor(Date.now() / 1000) };
  const sealer = sealerOf(impl, master);
  const checksums: string[] = [];
  const samples: RunResult['samples'] = [];
  const written: RunResult['written'] = [];
  let rows = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  for (const { mapping, chunks } of tables) {
    for (const chunk of chunks) {
      const prepared = await prepareRows(db, mapping, chunk, ctx, allFound);
      const encoded = prepared.ok.map((r) => mapping.encode(r.canonical, sealer));
      const kinds = DIGEST_COLUMNS[mapping.targetTable];
      for (const e of encoded) {
        const values = [e[0], userId, ...e.slice(1)];
        impl.digest(kinds, values);
        written.push({ kinds, values });
      }
      checksums.push(impl.checksum(prepared.ok.map((r) => r.canonical)));
      rows += chunk.length;
      if (chunk === chunks[0] && encoded[0])
        samples.push({ mapping, encoded: encoded[0], canonical: prepared.ok[0]!.canonical });
    }
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  const used = process.cpuUsage(cpu);
  return { rows, ms, cpuMs: (used.user + used.system) / 1000, checksums, samples, written };
}

/** Both paths must agree: same checksums, and each one's note envelopes open with the other's code. */
function crossCheck(a: RunResult, b: RunResult, master: Uint8Array): void {
  if (a.checksums.join() !== b.checksums.join()) throw new Error('baseline and current chunk checksums differ');
  const [base, cur] = IMPLS;
  for (const [writer, reader, run] of [
    [base!, cur!, a],
    [cur!, base!, b],
  ] as const) {
    const note = run.samples.find((s) => s.mapping.targetTable === 'notes');
    if (!note) throw new Error('no note row to cross-check');
    const id = String(note.canonical.id);
    const sealer = sealerOf(reader, master);
    const title = sealer.open(id, note.encoded[1] as Buffer);
    const body = (JSON.parse(sealer.open(id, note.encoded[2] as Buffer)) as { body: string }).body;
    if (title !== note.canonical.title || body !== note.canonical.body) {
      throw new Error(`notes sealed by ${writer.name} do not open with ${reader.name}`);
    }
    // Both digest implementations agree on every table's sample row as written.
    for (const s of run.samples) {
      const values = [s.encoded[0], 'a0000000-0000-4000-8000-00000000000b', ...s.encoded.slice(1)];
      const kinds = DIGEST_COLUMNS[s.mapping.targetTable];
      if (writer.digest(kinds, values) !== reader.digest(kinds, values))
        throw new Error(`${s.mapping.targetTable}: baseline and current row digests differ`);
    }
  }
}

/** The row digest alone, over the same written rows: previous vs current, best of 3 interleaved rounds. */
function digestBench(written: RunResult['written']): { baseline: number; current: number } {
  const time = (f: Impl['digest']): { rate: number; sum: bigint } => {
    let sum = 0n;
    const t = process.hrtime.bigint();
    for (const w of written) sum += f(w.kinds, w.values);
    return { rate: written.length / (Number(process.hrtime.bigint() - t) / 1e9), sum };
  };
  let [baseline, current] = [0, 0];
  for (let round = 0; round < 3; round++) {
    const a = time(previousRowDigest);
    const b = time(rowDigest);
    if (a.sum !== b.sum) throw new Error('baseline and current row digests differ');
    [baseline, current] = [Math.max(baseline, a.rate), Math.max(current, b.rate)];
  }
  return { baseline, current };
}

function uuidBench(): { baseline: number; current: number } {
  const names = Array.from({ length: 20_000 }, (_, i) => `note_tasks:system_task_${i}`);
  const ns = uuidV5('4b1f6c2e-8d3a-4e5f-9a6b-7c8d9e0f1a2b');
  const time = (f: (n: string) => string): number => {
    const t = process.hrtime.bigint();
    for (const n of names) f(n);
    return names.length / (Number(process.hrtime.bigint() - t) / 1e9);
  };
  for (const n of names.slice(0, 50))
    if (uuidV5(n, ns) !== baseline.uuidV5(n, ns)) throw new Error(`uuidV5 differs for ${n}`);
  return { baseline: time((n) => baseline.uuidV5(n, ns)), current: time((n) => uuidV5(n, ns)) };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      notes: { type: 'string', default: '20000' },
      rounds: { type: 'string', default: '3' },
      only: { type: 'string' },
      source: { type: 'string' },
      'chunk-rows': { type: 'string', default: String(DEFAULT_CHUNK_ROWS) },
    },
  });
  const dir = mkdtempSync(join(tmpdir(), 'migrator-bench-transform-'));
  try {
    const source = values.source ?? join(dir, 'source.sqlite');
    if (!values.source) generateDataset({ path: source, seed: 7, notes: Number(values.notes) });
    const db = new Database(source, { readonly: true });
    const tables = loadRows(db, Number(values['chunk-rows']));
    const userId = '4b1f6c2e-8d3a-4e5f-9a6b-7c8d9e0f1a2b';
    const master = new Uint8Array(randomBytes(32));
    const impls = IMPLS.filter((i) => !values.only || i.name === values.only);
    const best = new Map<string, RunResult>();
    const bestCpu = new Map<string, number>();
    // Interleaved rounds, baseline first in each: a loaded machine slows both alike; keep each one's best.
    for (let round = 0; round < Number(values.rounds); round++) {
      for (const impl of impls) {
        const r = await runPath(impl, db, tables, userId, master);
        console.log(
          `round ${round + 1} ${impl.name.padEnd(8)} ${r.rows} rows in ${(r.ms / 1000).toFixed(2)} s = ${Math.round(r.rows / (r.ms / 1000))} rows/s` +
            ` (${Math.round(r.rows / (r.cpuMs / 1000))} rows per CPU-second)`,
        );
        if (!best.has(impl.name) || r.ms < best.get(impl.name)!.ms) best.set(impl.name, r);
        bestCpu.set(impl.name, Math.min(bestCpu.get(impl.name) ?? Infinity, r.cpuMs));
      }
    }
    db.close();
    const a = best.get('baseline');
    const b = best.get('current');
    if (a && b) {
      crossCheck(a, b, master);
      const rate = (rows: number, ms: number): number => Math.round(rows / (ms / 1000));
      const [ca, cb] = [bestCpu.get('baseline')!, bestCpu.get('current')!];
      console.log(
        `transform + encrypt + checksum (best of ${values.rounds}): baseline ${rate(a.rows, a.ms)} rows/s, current ${rate(b.rows, b.ms)} rows/s, ratio ${(a.ms / b.ms).toFixed(2)}x` +
          ` | per CPU-second: baseline ${rate(a.rows, ca)}, current ${rate(b.rows, cb)}, ratio ${(ca / cb).toFixed(2)}x`,
      );
      console.log('outputs agree: same chunk checksums; envelopes open across implementations');
      const d = digestBench(b.written);
      console.log(
        `row digest as written (all ${b.written.length} rows, same digests): baseline ${Math.round(d.baseline)} rows/s, current ${Math.round(d.current)} rows/s, ratio ${(d.current / d.baseline).toFixed(2)}x`,
      );
      const u = uuidBench();
      console.log(
        `uuidV5 (non-uuid source ids): baseline ${Math.round(u.baseline)}/s, current ${Math.round(u.current)}/s, ratio ${(u.current / u.baseline).toFixed(2)}x`,
      );
    }
  } finally {
    if (!values.source) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
