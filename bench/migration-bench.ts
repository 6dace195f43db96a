// End-to-end benchmark: a generated dataset migrated by a real worker process on a real dev server
// and PostgreSQL, next to a plain COPY of the same rows measured in the same run.
import { existsSync, readFileSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { Client, Connection } from '@temporalio/client';
import { generateDataset } from '../gen/generate';
import { startLocalPostgres, withDatabase, type LocalPostgres } from '../infra/postgres';
import { startDevServer } from '../infra/temporal-cli';
import type { MigrationResult } from '../workflows/definitions';
import { copyBaseline } from './copy-baseline';

const BIN = fileURLToPath(new URL('../bin/migrator.js', import.meta.url));

export interface BenchOptions {
  notes: number;
  chunkRows: number;
  parallelism: number;
  source?: string;
}

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export async function runBenchmark(opts: BenchOptions): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'migrator-bench-'));
  let pgServer: LocalPostgres | null = null;
  const pgUrl = process.env.DATABASE_URL ?? (pgServer = await startLocalPostgres()).url;
  const temporal = await startDevServer({ headless: true });
  try {
    const source = opts.source ?? join(dir, 'bench.sqlite');
    if (!opts.source || !existsSync(source)) {
      const t0 = Date.now();
      const s = generateDataset({ path: source, seed: 42, notes: opts.notes });
      console.log(`dataset: ${s.notes} notes, ${s.tasks} tasks, ${s.folders} folders, ${s.noteFolders} note_folders (generated in ${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
    const admin = new pg.Client({ connectionString: pgUrl });
    await admin.connect();
    for (const db of ['bench_target', 'bench_copy']) {
      await admin.query(`DROP DATABASE IF EXISTS ${db}`);
      await admin.query(`CREATE DATABASE ${db}`);
    }
    await admin.end();

    // Baseline first, in this process: plain COPY of the same rows.
    const copy = await copyBaseline(source, withDatabase(pgUrl, 'bench_copy'));
    console.log(`baseline COPY: ${copy.rows} rows in ${(copy.ms / 1000).toFixed(1)} s = ${Math.round(copy.rows / (copy.ms / 1000))} rows/s`);

    const userId = randomUUID();
    const keyring = join(dir, 'keyring.json');
    writeFileSync(keyring, JSON.stringify({ [userId]: randomBytes(32).toString('base64') }));
    const taskQueue = 'bench';
    // The bench worker's config grants the bench target, keyring and the source's directory only.
    const configFile = join(dir, 'worker.json');
    writeFileSync(
      configFile,
      JSON.stringify({ targets: { bench: { dsn: 'env:BENCH_TARGET', database: 'bench_target' } }, keyrings: { bench: `file:${keyring}` }, sourceDirs: [dirname(resolve(source))] }),
    );
    const worker = spawn(process.execPath, [BIN, 'worker', '--task-queue', taskQueue, '--backup-dir', join(dir, 'backups'), '--config', configFile], {
      env: { ...process.env, TEMPORAL_ADDRESS: temporal.address, BENCH_TARGET: withDatabase(pgUrl, 'bench_target'), MIGRATOR_LOG_LEVEL: 'WARN' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    let peakRss = 0;
    const sampler = setInterval(() => (peakRss = Math.max(peakRss, rssKb(worker.pid!, 'VmRSS'))), 250);
    const connection = await Connection.connect({ address: temporal.address });
    const client = new Client({ connection });
    const started = Date.now();
    const result = (await client.workflow.execute('migrationWorkflow', {
      taskQueue,
      workflowId: `bench-${userId}`,
      args: [{ source: resolve(source), userId, target: 'bench', keyring: 'bench', chunkRows: opts.chunkRows, parallelism: opts.parallelism }],
    })) as MigrationResult;
    const wallMs = Date.now() - started;
    peakRss = Math.max(peakRss, rssKb(worker.pid!, 'VmHWM'));
    clearInterval(sampler);
    worker.kill('SIGTERM');
    await connection.close();

    const rows = Object.values(result.tables).reduce((n, t) => n + t.migrated, 0);
    const transferMs = result.phaseDurationsMs.transfer ?? wallMs;
    const copyRate = copy.rows / (copy.ms / 1000);
    const e2eRate = rows / (wallMs / 1000);
    const transferRate = rows / (transferMs / 1000);
    console.log(`migration: ${rows} rows, validation ${result.validation.ok ? 'passed' : 'FAILED'}`);
    console.log(`  phases: ${Object.entries(result.phaseDurationsMs).map(([p, ms]) => `${p} ${(ms / 1000).toFixed(1)} s`).join(', ')}`);
    console.log(`  end to end: ${(wallMs / 1000).toFixed(1)} s = ${Math.round(e2eRate)} rows/s (${(e2eRate / copyRate).toFixed(3)}x plain COPY)`);
    console.log(`  transfer phase: ${(transferMs / 1000).toFixed(1)} s = ${Math.round(transferRate)} rows/s (${(transferRate / copyRate).toFixed(3)}x plain COPY)`);
    console.log(`  peak worker RSS: ${(peakRss / 1024).toFixed(0)} MiB (chunk ${opts.chunkRows} rows, parallelism ${opts.parallelism})`);
  } finally {
    await temporal.stop();
    pgServer?.stop();
  }
}
