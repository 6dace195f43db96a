// Large-rows benchmark: the notes table of a source of ~300 KB notes moved chunk by chunk the way
// transferChunk does (plan → read → transform → encrypt → one unnest() insert per chunk into a real
// PostgreSQL), once with a row-bounded plan (the baseline: chunkRows only, as before byte bounds)
// and once with the byte-bounded plan, each in its own process so each peak RSS is its own.
//
//   node --import tsx bench/large-rows.ts [--notes 1000] [--body-bytes 300000] [--chunk-rows 1000]
//
// PostgreSQL: DATABASE_URL, or a throwaway local cluster. Measures the chunk pipeline only (no
// Temporal, no bridge or ledger rows): the part whose memory grows with a chunk's size.
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import type { ActivityDeps } from '../activities/deps';
import { prepareRows, readChunkRows } from '../activities/prepare-rows';
import { withSource, withSourceAsync } from '../activities/source';
import { copyAndInsert, ensureStage } from '../activities/stage-rows';
import { createTransferActivities, type ChunkBounds } from '../activities/transfer';
import { generateDataset } from '../gen/generate';
import { plantLargeRows } from '../gen/plant-large-rows';
import { startLocalPostgres, withDatabase, type LocalPostgres } from '../infra/postgres';
import { sqlStatements } from '../infra/sql-files';
import { DEFAULT_CHUNK_BYTES, DEFAULT_PLAN_BATCH } from '../lib/defaults';
import { deriveEntityKey, sealString } from '../lib/envelope';
import { mappingFor } from '../lib/mapping';
import type { Sealer } from '../lib/mapping/types';

const SELF = fileURLToPath(import.meta.url);
const VARIANTS = { 'row-bounded': Number.MAX_SAFE_INTEGER, 'byte-bounded': DEFAULT_CHUNK_BYTES } as const;
type Variant = keyof typeof VARIANTS;

interface ChildReport {
  variant: Variant;
  ok: boolean;
  error: string | null;
  chunks: number;
  written: number;
  quarantined: number;
  ms: number;
  startRssMiB: number;
  /** Peak RSS after the first chunk, after half of the chunks, and at the end: flat when they agree. */
  peakAfterFirstMiB: number;
  peakAtHalfMiB: number;
  peakRssMiB: number;
}

function statusMiB(field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : 0;
}

/** One variant, in this (child) process: plan, then read/transform/encrypt/insert each chunk in turn. */
async function runVariant(variant: Variant, source: string, url: string, chunkRows: number): Promise<ChildReport> {
  const startRssMiB = statusMiB('VmRSS');
  const mapping = mappingFor('local_notes');
  const master = new Uint8Array(randomBytes(32));
  const sealer: Sealer = {
    seal: (id, text) => sealString(deriveEntityKey(master, id), text),
    open: () => {
      throw new Error('not used by the benchmark');
    },
  };
  // planChunks touches the source only (through the capability check on its path); no pools or keyring.
  const { planChunks } = createTransferActivities({
    capabilities: { sourcePath: (path: string) => path },
  } as unknown as ActivityDeps);
  const userId = randomUUID();
  const ctx = { userId, asOfSeconds: Math.floor(Date.now() / 1000) };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const report: ChildReport = {
    variant,
    ok: true,
    error: null,
    chunks: 0,
    written: 0,
    quarantined: 0,
    ms: 0,
    startRssMiB,
    peakAfterFirstMiB: 0,
    peakAtHalfMiB: 0,
    peakRssMiB: 0,
  };
  const peaks: number[] = [];
  const started = Date.now();
  try {
    let after: string | null = null;
    for (let done = false; !done;) {
      const plan: { chunks: ChunkBounds[]; done: boolean } = await planChunks({
        source,
        table: 'local_notes',
        after,
        chunkRows,
        chunkBytes: VARIANTS[variant],
        maxChunks: DEFAULT_PLAN_BATCH,
      });
      for (const chunk of plan.chunks) {
        const { rows, oversized } = withSource(source, (db) => readChunkRows(db, mapping, chunk.lo, chunk.hi));
        const prepared = await withSourceAsync(source, (db) =>
          prepareRows(db, mapping, rows, ctx, async () => new Set()),
        );
        const encoded = prepared.ok.map((r) => mapping.encode(r.canonical, sealer));
        // The chunk path's write: COPY into the staging table, then one INSERT … SELECT (one transaction).
        await client.query('BEGIN');
        await ensureStage(client, mapping);
        await copyAndInsert(client, '"public"', mapping, encoded, userId);
        await client.query('COMMIT');
        report.chunks += 1;
        peaks.push(statusMiB('VmHWM'));
        report.written += prepared.ok.length;
        report.quarantined += oversized.length + prepared.rejected.length;
        after = chunk.hi;
      }
      done = plan.done;
    }
  } catch (err) {
    report.ok = false;
    report.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  } finally {
    await client.end().catch(() => undefined);
  }
  report.ms = Date.now() - started;
  report.peakRssMiB = statusMiB('VmHWM');
  report.peakAfterFirstMiB = peaks[0] ?? report.peakRssMiB;
  report.peakAtHalfMiB = peaks[Math.floor((peaks.length - 1) / 2)] ?? report.peakRssMiB;
  return report;
}

export async function runLargeRowsBench(opts: { notes: number; bodyBytes: number; chunkRows: number }): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'migrator-large-'));
  let server: LocalPostgres | null = null;
  const url = process.env.DATABASE_URL ?? (server = await startLocalPostgres()).url;
  try {
    const source = join(dir, 'large.sqlite');
    const t0 = Date.now();
    generateDataset({ path: source, seed: 42, notes: 0 });
    plantLargeRows(source, { largeNotes: opts.notes, bodyBytes: opts.bodyBytes });
    console.log(
      `dataset: ${opts.notes} notes of ~${Math.round(opts.bodyBytes / 1000)} KB generated in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
    );
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    try {
      // Baseline first: the row-bounded plan, then the byte-bounded plan, on the same source.
      for (const variant of Object.keys(VARIANTS) as Variant[]) {
        const database = `bench_large_${variant.replace('-', '_')}`;
        await admin.query(`DROP DATABASE IF EXISTS ${database}`);
        await admin.query(`CREATE DATABASE ${database}`);
        const target = new pg.Client({ connectionString: withDatabase(url, database) });
        await target.connect();
        for (const statement of sqlStatements('target/001_notes_schema.sql', { schema: '"public"' }))
          await target.query(statement);
        await target.end();
        const child = spawnSync(
          process.execPath,
          [
            '--import',
            'tsx',
            SELF,
            '--child',
            variant,
            '--source',
            source,
            '--url',
            withDatabase(url, database),
            '--chunk-rows',
            String(opts.chunkRows),
          ],
          { encoding: 'utf8', maxBuffer: 1 << 20 },
        );
        const line = child.stdout.trim().split('\n').pop() ?? '';
        if (child.status !== 0 || !line.startsWith('{')) {
          console.log(
            `${variant}: the process died (exit ${child.status}, signal ${child.signal}): ${child.stderr.trim().split('\n').slice(-3).join(' | ')}`,
          );
          continue;
        }
        const r = JSON.parse(line) as ChildReport;
        const budget =
          variant === 'row-bounded'
            ? `chunkRows ${opts.chunkRows} only`
            : `chunkRows ${opts.chunkRows} + chunkBytes ${VARIANTS[variant] / 1024 / 1024} MiB`;
        const outcome = r.ok ? `${r.written} notes written` : `FAILED (${r.error}) with ${r.written} notes written`;
        console.log(
          `${variant} (${budget}): ${outcome} in ${r.chunks} chunks, ${(r.ms / 1000).toFixed(1)} s; peak RSS ${r.peakRssMiB} MiB (${r.startRssMiB} MiB at start, ${r.peakAfterFirstMiB} MiB after the first chunk, ${r.peakAtHalfMiB} MiB at half)`,
        );
      }
    } finally {
      await admin.end();
    }
  } finally {
    server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && resolve(process.argv[1]) === SELF) {
  const { values } = parseArgs({
    options: {
      notes: { type: 'string', default: '1000' },
      'body-bytes': { type: 'string', default: '300000' },
      'chunk-rows': { type: 'string', default: '1000' },
      child: { type: 'string' },
      source: { type: 'string' },
      url: { type: 'string' },
    },
  });
  if (values.child) {
    const report = await runVariant(values.child as Variant, values.source!, values.url!, Number(values['chunk-rows']));
    console.log(JSON.stringify(report));
  } else {
    await runLargeRowsBench({
      notes: Number(values.notes),
      bodyBytes: Number(values['body-bytes']),
      chunkRows: Number(values['chunk-rows']),
    });
  }
}
