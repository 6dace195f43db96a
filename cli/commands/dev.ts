// `migrator dev`: the main job. Starts (or reuses) a local PostgreSQL and Temporal dev server with
// its Web UI, generates a demo dataset, runs a worker, migrates, prints the report and where to look.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTelemetryFilterString, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import pg from 'pg';
import { createDeps } from '../../activities/deps';
import { parseWorkerConfig } from '../../lib/worker-config';
import { generateDataset } from '../../gen/generate';
import { DEFAULT_TASK_QUEUE } from '../../lib/defaults';
import { withDatabase } from '../../infra/postgres';
import { FileLogger, parseLogLevel } from '../../workers/file-logger';
import { createMigrationWorker } from '../../workers/worker';
import { positiveInt } from '../args';
import { connectClient, connectWorker } from '../connection';
import { failureMessage } from '../failures';
import { ensureLocalStack, STACK_DIR, stopLocalStack } from '../local-stack';
import { formatReport, startMigration, waitWithProgress } from '../start-migration';

/** The demo's user; its key is generated once into var/dev/keyring.json. */
export const DEMO_USER_ID = 'de300000-0000-4000-8000-00000000d3e0';
/** The names the demo's worker config declares (workflow input carries only these). */
const DEMO_TARGET = 'notes-demo';
const DEMO_KEYRING = 'demo';
/** One target database per dataset: another --notes/--seed generates other rows under the same
 * ids, which a target holding the previous dataset would (rightly) fail to validate. */
const demoDatabase = (notes: number, seed: number) =>
  notes === 10_000 && seed === 1 ? 'notes_demo' : `notes_demo_${notes}_s${seed}`;
/** --online: the write-freeze hook the demo's worker config declares (a flag file the load honours). */
const DEMO_FREEZE_HOOK = 'demo-flag';
/** --online: the app's write rate during the demo. */
const DEMO_ONLINE_RATE = 150;
const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));

/** --online: `migrator load` in its own process (the app), writing to the source and honouring the flag. */
function startLoad(source: string, flag: string, log: string): { child: ChildProcess; summary: Promise<string> } {
  rmSync(log, { force: true });
  const child = spawn(
    process.execPath,
    [
      BIN,
      'load',
      '--source',
      source,
      '--rate',
      String(DEMO_ONLINE_RATE),
      '--duration',
      '60m',
      '--log',
      log,
      '--freeze-flag',
      flag,
      '--json',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  const summary = new Promise<string>((res) => child.once('exit', () => res(out)));
  return { child, summary };
}

/** The load's summary line for the demo's output. */
function loadLine(json: string): string {
  try {
    const s = JSON.parse(json) as {
      acknowledged: number;
      elapsedMs: number;
      flagWaitMs: number;
      maxLockWaitMs: number;
    };
    return `app load: ${s.acknowledged} writes acknowledged in ${(s.elapsedMs / 1000).toFixed(1)} s while the migration ran; ${s.flagWaitMs} ms held by the freeze flag, longest lock wait ${s.maxLockWaitMs} ms`;
  } catch {
    return `app load: no summary (${json.trim().slice(0, 200)})`;
  }
}

export function registerDev(program: Command): void {
  program
    .command('dev')
    .alias('demo')
    .description(
      'the demo: local PostgreSQL + Temporal dev server (Web UI), a generated dataset, a worker, one migration, the report',
    )
    .option('--notes <n>', 'notes in the generated demo dataset', positiveInt('--notes'), 10_000)
    .option('--seed <n>', 'dataset seed', positiveInt('--seed'), 1)
    .option(
      '--online',
      `online mode: the app (\`migrator load\`, ${DEMO_ONLINE_RATE} writes/s) writes to the source throughout; prints the write-freeze window`,
    )
    .option('--stop', 'stop the local PostgreSQL and Temporal servers the demo started, and exit')
    .action(async (opts: { notes: number; seed: number; stop?: boolean; online?: boolean }) => {
      if (opts.stop) {
        for (const line of await stopLocalStack()) console.log(line);
        return;
      }
      // The worker's structured logs (one INFO per committed chunk…) go to a file; the console
      // gets WARN and above only, so the demo's output stays a page long.
      const logFile = join(STACK_DIR, 'worker.log');
      Runtime.install({
        logger: new FileLogger(logFile, {
          fileLevel: parseLogLevel('MIGRATOR_LOG_LEVEL', process.env.MIGRATOR_LOG_LEVEL, 'INFO'),
        }),
        telemetryOptions: {
          logging: { filter: makeTelemetryFilterString({ core: 'INFO', other: 'WARN' }), forward: {} },
        },
      });
      const stack = await ensureLocalStack();
      for (const line of stack.notes) console.log(line);
      console.log(`worker logs: ${logFile} (console: warnings and errors only)`);

      const admin = new pg.Client({ connectionString: stack.pgUrl });
      await admin.connect();
      // digits only besides the prefix: safe to interpolate. --online writes change the source, so its
      // target starts empty every time (a target holding an earlier online run's rows would differ).
      const database = `${demoDatabase(opts.notes, opts.seed)}${opts.online ? '_online' : ''}`;
      if (opts.online) await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
      const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
      if (!exists.rowCount) await admin.query(`CREATE DATABASE ${database}`);
      await admin.end();
      process.env.DEMO_TARGET_URL = withDatabase(stack.pgUrl, database);

      // "-marked": files of earlier versions lack the user marker the run now checks, and are not reused.
      const dataset = join(STACK_DIR, `demo-notes${opts.notes}-seed${opts.seed}-marked.sqlite`);
      if (!existsSync(dataset)) {
        const t0 = Date.now();
        const s = generateDataset({ path: dataset, seed: opts.seed, notes: opts.notes, userId: DEMO_USER_ID });
        console.log(
          `generated ${dataset}: ${s.notes} notes, ${s.tasks} tasks, ${s.folders} folders in ${((Date.now() - t0) / 1000).toFixed(1)} s`,
        );
      } else console.log(`reusing dataset ${dataset}`);
      // --online: the app writes to a fresh copy (the generated dataset stays as generated).
      const source = opts.online ? join(STACK_DIR, `demo-online-notes${opts.notes}-seed${opts.seed}.sqlite`) : dataset;
      if (opts.online) copyFileSync(dataset, source);
      const flag = join(STACK_DIR, 'write-freeze.json');
      const keyringPath = join(STACK_DIR, 'keyring.json');
      if (!existsSync(keyringPath))
        writeFileSync(keyringPath, JSON.stringify({ [DEMO_USER_ID]: randomBytes(32).toString('base64') }), {
          mode: 0o600,
        });

      // The demo worker's config grants exactly the demo: its target, its keyring, its stack directory.
      const workerConfig = parseWorkerConfig({
        targets: { [DEMO_TARGET]: { dsn: 'env:DEMO_TARGET_URL', database } },
        keyrings: { [DEMO_KEYRING]: `file:${keyringPath}` },
        sourceDirs: [resolve(STACK_DIR)],
        ...(opts.online ? { freezeHooks: { [DEMO_FREEZE_HOOK]: { kind: 'file', path: flag } } } : {}),
      });
      const settings = { address: stack.temporalAddress, namespace: 'default', options: {} };
      const connection = await connectWorker(settings);
      const { worker, deps } = await createMigrationWorker({
        connection,
        taskQueue: DEFAULT_TASK_QUEUE,
        deps: createDeps({ backupDir: join(STACK_DIR, 'backups'), config: workerConfig }),
      });
      const running = worker.run();
      const { client, close } = await connectClient(settings);
      let ok = false;
      let workflowId = '';
      const load = opts.online ? startLoad(source, flag, join(STACK_DIR, 'load.jsonl')) : null;
      try {
        const handle = await startMigration(client, {
          source,
          userId: DEMO_USER_ID,
          target: DEMO_TARGET,
          keyring: DEMO_KEYRING,
          expectDatabase: database,
          ...(opts.online ? { online: { enabled: true, cutover: { freezeHook: DEMO_FREEZE_HOOK } } } : {}),
        });
        workflowId = handle.workflowId;
        console.log(
          `started workflow ${workflowId}${stack.uiUrl ? ` — watch it live: ${stack.uiUrl}/namespaces/default/workflows/${encodeURIComponent(workflowId)}` : ''}`,
        );
        const result = await waitWithProgress(handle, { output: process.stdout });
        console.log(formatReport(result));
        ok = result.validation.ok;
      } catch (err) {
        console.error(`demo migration failed: ${failureMessage(err)}`);
      } finally {
        if (load) {
          load.child.kill('SIGTERM'); // ends after the write in progress
          console.log(loadLine(await load.summary));
        }
        worker.shutdown();
        await running;
        await deps.close();
        await close();
        await connection.close();
      }
      const cli = stack.temporalCli;
      console.log(`
where to look:
  worker log: ${logFile}
  Web UI:     ${stack.uiUrl ?? '(headless)'}/namespaces/default/workflows${workflowId ? `/${encodeURIComponent(workflowId)}` : ''}
  history:    ${cli} workflow show --address ${stack.temporalAddress} --workflow-id ${workflowId}
  runs:       ${cli} workflow list --address ${stack.temporalAddress} --query "MigrationStatus='completed'"
  target:     psql ${process.env.DEMO_TARGET_URL} -c 'select count(*) from notes'
  stop all:   npx migrator dev --stop   (the servers keep running until then; state in ${STACK_DIR})`);
      process.exitCode = ok ? 0 : 1;
    });
}
