// Online-mode benchmark: N-note online migrations, `--runs` times, each with the load generator
// writing `--ops` writes/s into the source throughout (honouring the cut-over's file freeze hook).
// Per run it prints the write-freeze window, the cut-over attempts, the delta passes and whether the
// target equals the source at the freeze point: every row of the user decrypted from the target
// hashes like the source row the acknowledged writes say it was when the freeze ended (every write
// present with its final content, every deleted row absent). Then the median and max of the windows.
//   node --import tsx bench/online.ts --notes 100000 --runs 10 --ops 200 [--budget-ms 2000]
import { randomBytes, randomUUID } from 'node:crypto';
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import { generateDataset } from '../gen/generate';
import { readLoadLog, runLoad } from '../infra/load-generator';
import { startLocalPostgres, withDatabase, type LocalPostgres } from '../infra/postgres';
import { startDevServer } from '../infra/temporal-cli';
import { DEFAULT_CUTOVER_BUDGET_MS } from '../lib/defaults';
import { TABLE_ORDER } from '../lib/mapping';
import { abortUpdate, progressQuery, type MigrationResult } from '../workflows/definitions';
import { knownKeys, present, sealerOf, sourceState, stateAtFreeze, targetStateOf } from '../test/helpers/online-state';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(ROOT, 'bin', 'migrator.js');
const RESULTS = join(ROOT, 'var', 'bench', 'online-results.jsonl');
const DATABASE = 'bench_online';

const { values } = parseArgs({
  options: {
    notes: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '10' },
    ops: { type: 'string', default: '200' },
    'budget-ms': { type: 'string', default: String(DEFAULT_CUTOVER_BUDGET_MS) },
  },
});
const positive = (name: string, v: string | undefined): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got "${v}"`);
  return n;
};
const notes = positive('notes', values.notes);
const runs = positive('runs', values.runs);
const ops = positive('ops', values.ops);
const budgetMs = positive('budget-ms', values['budget-ms']);
const log = (line: string) => console.log(line);

function dataset(): string {
  const path = join(ROOT, 'var', 'bench', `notes-${notes}-seed42.sqlite`);
  if (!existsSync(path)) {
    mkdirSync(dirname(path), { recursive: true });
    const partial = `${path}.partial-${process.pid}`;
    log(`dataset: generating ${notes.toLocaleString('en-US')} notes into ${path}`);
    generateDataset({ path: partial, seed: 42, notes });
    renameSync(partial, path);
  }
  return path;
}

async function recreateDatabase(url: string): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
}

function startWorker(dir: string, config: string, address: string, targetUrl: string): Promise<ChildProcess> {
  const worker = spawn(
    process.execPath,
    [BIN, 'worker', '--task-queue', 'bench-online', '--backup-dir', join(dir, 'backups'), '--config', config],
    {
      env: {
        ...process.env,
        TEMPORAL_ADDRESS: address,
        TEMPORAL_NAMESPACE: 'default',
        BENCH_TARGET: targetUrl,
        MIGRATOR_LOG_LEVEL: 'WARN',
      },
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  // Ready once it polls (its workflow bundle built), so startup is not part of a run.
  return new Promise((resolve, reject) => {
    let err = '';
    const onData = (d: Buffer): void => {
      err += d.toString();
      if (err.includes('polling task queue')) {
        worker.stderr!.off('data', onData);
        worker.stderr!.pipe(process.stderr);
        resolve(worker);
      }
    };
    worker.stderr!.on('data', onData);
    worker.once('exit', (code) => reject(new Error(`bench worker exited with ${code} before polling:\n${err}`)));
  });
}

interface RunFigures {
  run: number;
  ok: boolean;
  freezeMs: number;
  attempts: string[];
  passes: number;
  changesApplied: number;
  writes: number;
  flagWaitMs: number;
  equalAtFreeze: boolean;
  mismatches: string[];
  ms: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

async function main(): Promise<void> {
  const data = dataset();
  const dir = mkdtempSync(join(tmpdir(), 'migrator-bench-online-'));
  const users = Array.from({ length: runs }, () => randomUUID());
  const keys = Object.fromEntries(users.map((u) => [u, randomBytes(32)]));
  const keyring = join(dir, 'keyring.json');
  writeFileSync(keyring, JSON.stringify(Object.fromEntries(users.map((u) => [u, keys[u]!.toString('base64')]))));
  const flag = join(dir, 'write-freeze.json');
  const config = join(dir, 'worker.json');
  writeFileSync(
    config,
    JSON.stringify({
      targets: { bench: { dsn: 'env:BENCH_TARGET', database: DATABASE } },
      keyrings: { bench: `file:${keyring}` },
      sourceDirs: [dir],
      // Datasets are generated once and reused under a fresh user id each run: no user marker to match.
      allowUnmarkedSources: true,
      freezeHooks: { 'bench-flag': { kind: 'file', path: flag } },
    }),
  );
  let pgServer: LocalPostgres | null = null;
  const pgUrl = process.env.DATABASE_URL ?? (pgServer = await startLocalPostgres()).url;
  const targetUrl = withDatabase(pgUrl, DATABASE);
  const temporal = await startDevServer({ headless: true });
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  const figures: RunFigures[] = [];
  try {
    for (let i = 0; i < runs; i++) {
      const userId = users[i]!;
      const source = join(dir, `run-${i + 1}.sqlite`);
      copyFileSync(data, source);
      await recreateDatabase(pgUrl);
      const worker = await startWorker(dir, config, temporal.address, targetUrl);
      const target = new pg.Pool({ connectionString: targetUrl, max: 2 });
      const initial = sourceState(source);
      const loadLog = join(dir, `run-${i + 1}.load.jsonl`);
      const stop = new AbortController();
      const load = runLoad({
        source,
        rate: ops,
        durationMs: 3_600_000,
        log: loadLog,
        freezeFlag: flag,
        seed: i + 1,
        signal: stop.signal,
      });
      const started = Date.now();
      let result: MigrationResult | null = null;
      let failure = '';
      try {
        const handle = await client.workflow.start('migrationWorkflow', {
          taskQueue: 'bench-online',
          workflowId: `bench-online-${userId}`,
          args: [
            {
              source,
              userId,
              target: 'bench',
              keyring: 'bench',
              online: { enabled: true, cutover: { freezeHook: 'bench-flag', budgetMs } },
            },
          ],
        });
        // Progress on stderr every 15 s; a cut-over held after its attempts would wait for an operator
        // for ever: the bench aborts it (the run is reported as failed, with why).
        const watch = setInterval(() => {
          void handle
            .query(progressQuery)
            .then(async (p) => {
              const rows = Object.values(p.tables).reduce((n, t) => n + (t.read ?? 0), 0);
              process.stderr.write(
                `[run ${i + 1}] ${Math.round((Date.now() - started) / 1000)} s: ${p.phase}, ${rows} rows read` +
                  (p.cutover?.held ? `, cut-over held: ${p.cutover.held}` : '') +
                  '\n',
              );
              if (p.cutover?.held)
                await handle.executeUpdate(abortUpdate, { args: [`bench: cut-over held (${p.cutover.held})`] });
            })
            .catch(() => undefined);
        }, 15_000);
        try {
          result = (await handle.result()) as MigrationResult;
        } finally {
          clearInterval(watch);
        }
        await new Promise((r) => setTimeout(r, 500)); // writes after the freeze: they must not be in the target
      } catch (err) {
        failure = (err as Error & { cause?: { message?: string } }).cause?.message ?? String(err);
      } finally {
        stop.abort();
        worker.kill('SIGTERM');
      }
      const summary = await load;
      const ms = Date.now() - started;
      const online = result?.online;
      const f: RunFigures = {
        run: i + 1,
        ok: !!result?.validation.ok,
        freezeMs: online?.freezeMs ?? NaN,
        attempts: (online?.attempts ?? []).map(
          (a) =>
            `${a.outcome} ${a.windowMs.toFixed(0)} ms [${a.pending} pending, ${a.changes} applied, ${a.tailRows} tail rows]`,
        ),
        passes: online?.passes ?? 0,
        changesApplied: online?.changesApplied ?? 0,
        writes: summary.acknowledged,
        flagWaitMs: summary.flagWaitMs,
        equalAtFreeze: false,
        mismatches: failure ? [failure.slice(0, 300)] : [],
        ms,
      };
      if (online?.freezeEndedAtMs) {
        const writes = readLoadLog(loadLog);
        const expected = stateAtFreeze(initial, writes, online.freezeEndedAtMs);
        const query = async (sql: string, params: unknown[]) => (await target.query(sql, params)).rows;
        const actual = await targetStateOf(
          { query } as never,
          userId,
          sealerOf({ [userId]: new Uint8Array(keys[userId]!) }, userId),
          knownKeys(initial, writes),
        );
        for (const t of TABLE_ORDER) {
          const a = present(actual[t]!);
          const e = present(expected[t]!);
          const differing =
            [...e].filter(([k, v]) => a.get(k) !== v).length + [...a.keys()].filter((k) => !e.has(k)).length;
          if (differing)
            f.mismatches.push(`${t}: ${differing} keys differ (${a.size} in the target, ${e.size} at the freeze)`);
        }
        f.equalAtFreeze = f.mismatches.length === 0;
      }
      await target.end();
      figures.push(f);
      log(
        `run ${f.run}/${runs}: ${f.ok ? 'completed' : 'FAILED'} in ${(ms / 1000).toFixed(1)} s; write freeze ${f.freezeMs.toFixed(0)} ms ` +
          `(attempts: ${f.attempts.join(', ') || '-'}); ${f.passes} delta passes, ${f.changesApplied} changes; ` +
          `${f.writes} writes acknowledged (${f.flagWaitMs} ms held by the flag); target = source at the freeze: ${f.equalAtFreeze ? 'yes' : `NO (${f.mismatches.join('; ')})`}`,
      );
      rmSync(source, { force: true });
    }
  } finally {
    await connection.close();
    await temporal.stop();
    pgServer?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const windows = figures.filter((f) => Number.isFinite(f.freezeMs)).map((f) => f.freezeMs);
  const summary = {
    at: new Date().toISOString(),
    notes,
    runs,
    ops,
    budgetMs,
    loadAvg1: loadavg()[0],
    completed: figures.filter((f) => f.ok).length,
    equalAtFreeze: figures.filter((f) => f.equalAtFreeze).length,
    freezeMedianMs: windows.length ? Math.round(median(windows)) : null,
    freezeMaxMs: windows.length ? Math.round(Math.max(...windows)) : null,
    deltaPassesMedian: figures.length ? median(figures.map((f) => f.passes)) : null,
    runsDetail: figures,
  };
  log(
    `\nwrite freeze over ${windows.length} runs: median ${summary.freezeMedianMs} ms, max ${summary.freezeMaxMs} ms (budget ${budgetMs} ms); ` +
      `${summary.completed}/${runs} completed, ${summary.equalAtFreeze}/${runs} with the target equal to the source at the freeze; ` +
      `delta passes median ${summary.deltaPassesMedian}; load average ${summary.loadAvg1?.toFixed(1)}`,
  );
  mkdirSync(dirname(RESULTS), { recursive: true });
  appendFileSync(RESULTS, `${JSON.stringify(summary)}\n`);
  log(`appended to ${RESULTS}`);
  process.exitCode = summary.equalAtFreeze === runs ? 0 : 1;
}

await main();
