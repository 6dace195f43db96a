// Runs one fault case end to end on the fault stack: a seeded dataset with a canary, a target
// database of its own reached through the PostgreSQL proxy, worker processes, the fault, the end of
// the run(s), then the invariants (test/faults/invariants.ts). Returns one row of the report.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import pg from 'pg';
import { generateDataset } from '../../gen/generate';
import { uuidV5 } from '../../lib/ids';
import type { MigrationInput } from '../../lib/input';
import type { MigrationResult } from '../../workflows/definitions';
import {
  checkInvariants,
  historyText,
  sourceState,
  targetSnapshot,
  type InvariantReport,
  type SourceState,
  type TargetSnapshot,
} from './invariants';
import { spawnWorker, type FaultStack, type WorkerProcess } from './stack';

export interface CaseContext {
  stack: FaultStack;
  /** Seeded: the same seed gives the same dataset, ids and fault points. */
  seed: number;
  dir: string;
  source: string;
  userId: string;
  keyringPath: string;
  backupDir: string;
  targetUrl: string;
  workers: WorkerProcess[];
  /** Test-fault plans the workers read (`migrator worker --test-faults`), keyed by workflow id. */
  faultsFile: string;
  /** Starts one more worker process (options default to the case's `workerOptions` for its index). */
  addWorker(options?: WorkerOptions): Promise<WorkerProcess>;
  start(workflowId?: string, overrides?: Partial<MigrationInput>): Promise<WorkflowHandle>;
  /** Committed chunks of this user (direct connection, past the proxy). */
  ledger(): Promise<number>;
  /** Waits until `n` chunks are committed (or throws after `timeoutMs`). */
  waitForChunks(n: number, timeoutMs?: number): Promise<void>;
  query<T extends pg.QueryResultRow = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Marks the moment the fault started (time to recover is measured from here). */
  faultStarted(): void;
  sleep(ms: number): Promise<void>;
}

export interface WorkerOptions {
  /** The worker's wall clock shifted by this much (test/faults/clock-offset.mjs, preloaded). */
  clockOffsetMs?: number;
}

const CLOCK_OFFSET_PRELOAD = fileURLToPath(new URL('./clock-offset.mjs', import.meta.url));

export interface FaultCase {
  name: string;
  /** In the reduced matrix CI runs (test/faults/matrix.test.ts). */
  ci: boolean;
  /** Breaks what every case shares (the server, a proxy): runs alone, never beside another case. */
  shared?: boolean;
  notes: number;
  /** How long the run(s) may take after the fault before 'no-end'. */
  timeoutMs: number;
  /** The runs this case starts (default one). */
  runs?: number;
  overrides?: Partial<MigrationInput>;
  /** Starts the run(s) and injects the fault; returns the handles whose end is awaited. */
  inject(ctx: CaseContext, ci: boolean): Promise<WorkflowHandle[]>;
  /** The run stops before its transfer by design (a backup case): no chunk is expected. */
  noTransfer?: boolean;
  /** The final status(es) this case must end in, joined by '+' (default: completed). */
  expectStatus?: RegExp;
  /** Runs once the case's target database exists, before its first worker and the "before" snapshot. */
  prepare?(ctx: CaseContext): Promise<void>;
  /** Runs last, after the workers are gone and the target database is dropped (unmounts, drops). */
  cleanup?(ctx: CaseContext): Promise<void>;
  /** Options of the case's nth worker (0-based), e.g. a skewed clock. */
  workerOptions?(index: number): WorkerOptions;
  /** Case-specific checks on top of the invariants (e.g. "stopped in the backup phase"). */
  extra?(ctx: CaseContext, outcome: { statuses: string[]; messages: string[] }): Promise<string[]>;
}

export interface CaseRow {
  case: string;
  seed: number;
  runs: number;
  chunks: number;
  rowsLost: number;
  duplicates: number;
  finalStatus: string;
  recoverMs: number | null;
  durationMs: number;
  violations: string[];
  /** Why each run that did not complete ended (the failure's message, truncated). */
  messages: string[];
  /** Positive control (when asked): what the invariants said about a deliberately damaged target. */
  control?: string[];
}

const CI_NOTES = 500;
const DEFAULT_INPUT = { chunkRows: 100, parallelism: 2, heartbeatTimeoutMs: 3000, chunksPerExecution: 20 } as const;

async function statusOf(
  handle: WorkflowHandle,
  timeoutMs: number,
): Promise<{ status: string; runId: string | null; message?: string }> {
  const timeout = new Promise<'no-end'>((r) => setTimeout(() => r('no-end'), timeoutMs).unref());
  try {
    const result = await Promise.race([handle.result() as Promise<MigrationResult>, timeout]);
    if (result === 'no-end') return { status: 'no-end', runId: null };
    return { status: result.validation.ok ? result.status : 'completed-unvalidated', runId: result.runId };
  } catch (err) {
    if (err instanceof WorkflowFailedError) {
      // The first typed failure down the cause chain (an activity's ApplicationFailure under an ActivityFailure).
      let cause = err.cause as { type?: string; name?: string; cause?: unknown } | undefined;
      while (cause && !cause.type && cause.cause) cause = cause.cause as typeof cause;
      const message = (cause as Error | undefined)?.message ?? err.message;
      return { status: cause?.type ?? cause?.name ?? 'failed', runId: null, message: message.slice(0, 400) };
    }
    throw err;
  }
}

export async function runCase(
  stack: FaultStack,
  c: FaultCase,
  seed: number,
  ci: boolean,
  options: { control?: boolean } = {},
): Promise<CaseRow> {
  const began = Date.now();
  const id = `${c.name}-${seed}-${randomUUID().slice(0, 6)}`;
  const dir = join(stack.dir, id);
  mkdirSync(dir, { recursive: true });
  const canary = `CANARY-${seed}-${randomUUID().slice(0, 8)}`;
  const source = join(dir, 'source.sqlite');
  // CI runs smaller datasets (the faults still strike mid-transfer: a chunk is 100 rows).
  const userId = uuidV5(`fault-suite-user-${seed}`);
  // With the app's user marker (app_meta.user_id), as the app writes it: the run proves the file is this user's.
  generateDataset({ path: source, seed, notes: ci ? Math.min(c.notes, CI_NOTES) : c.notes, canary, userId });
  const keyringPath = join(dir, 'keyring.json');
  writeFileSync(keyringPath, JSON.stringify({ [userId]: Buffer.from(pseudoRandom(seed, 32)).toString('base64') }));
  const database = `f_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  const admin = new pg.Pool({ connectionString: stack.pgUrl, max: 2 });
  admin.on('error', () => undefined);
  await admin.query(`CREATE DATABASE ${database}`);
  const targetUrl = stack.directUrl(database);
  const target = new pg.Pool({ connectionString: targetUrl, max: 2 });
  target.on('error', () => undefined);
  const envName = `TARGET_${database.toUpperCase()}`;
  const faultsFile = join(dir, 'faults.json');
  writeFileSync(faultsFile, '{}');
  // The worker grants this case's target, keyring and source directory, by name (docs/security.md).
  const configFile = join(dir, 'worker-config.json');
  writeFileSync(
    configFile,
    JSON.stringify({
      targets: { fault: { dsn: `env:${envName}`, database } },
      keyrings: { fault: `file:${keyringPath}` },
      sourceDirs: [realpathSync(dir)],
    }),
  );
  const backupDir = join(dir, 'backups');
  const taskQueue = `faults-${id}`;
  let faultAt: number | null = null;
  const sourceBefore: SourceState = sourceState(source);
  const ctx: CaseContext = {
    stack,
    seed,
    dir,
    source,
    userId,
    keyringPath,
    backupDir,
    targetUrl,
    workers: [],
    faultsFile,
    async addWorker(options = c.workerOptions?.(ctx.workers.length) ?? {}) {
      const clock = options.clockOffsetMs;
      const w = await spawnWorker(stack, {
        taskQueue,
        env: {
          [envName]: stack.proxiedUrl(database),
          ...(clock === undefined ? {} : { MIGRATOR_TEST_CLOCK_OFFSET_MS: String(clock) }),
        },
        ...(clock === undefined ? {} : { nodeArgs: ['--import', CLOCK_OFFSET_PRELOAD] }),
        backupDir,
        logFile: join(dir, `worker-${ctx.workers.length + 1}.log`),
        configFile,
        faultsFile,
      });
      ctx.workers.push(w);
      return w;
    },
    async start(workflowId = id, overrides = {}) {
      return stack.client.workflow.start('migrationWorkflow', {
        taskQueue,
        workflowId,
        args: [
          {
            source: realpathSync(source),
            userId,
            target: 'fault',
            keyring: 'fault',
            ...DEFAULT_INPUT,
            ...c.overrides,
            ...overrides,
          },
        ],
      });
    },
    async ledger() {
      try {
        return Number(
          (await target.query('SELECT count(*)::int AS n FROM migration.chunk_ledger WHERE user_id = $1', [userId]))
            .rows[0].n,
        );
      } catch {
        return 0; // no control schema yet, or the server is down
      }
    },
    async waitForChunks(n, timeoutMs = 120_000) {
      const deadline = Date.now() + timeoutMs;
      while ((await ctx.ledger()) < n) {
        if (Date.now() > deadline) throw new Error(`${c.name}: fewer than ${n} chunks committed after ${timeoutMs} ms`);
        await ctx.sleep(100);
      }
    },
    query: async (sql, params) => (await target.query(sql, params)).rows,
    faultStarted() {
      faultAt = Date.now();
    },
    sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
  };
  // Recovery: from the fault's start to the first chunk committed after it (or the run's end).
  let recoverMs: number | null = null;
  let ended = false;
  const watcher = (async () => {
    while (faultAt === null && !ended) await ctx.sleep(50);
    if (faultAt === null) return;
    const base = await ctx.ledger();
    while (!ended && (await ctx.ledger()) <= base) await ctx.sleep(100);
    recoverMs = Date.now() - faultAt;
  })();

  let statuses: string[] = [];
  let completedRunId: string | null = null;
  let handles: WorkflowHandle[] = [];
  let report: InvariantReport;
  let extra: string[] = [];
  let control: string[] | undefined;
  let messages: string[] = [];
  let targetBefore: TargetSnapshot | undefined;
  try {
    await c.prepare?.(ctx);
    targetBefore = await targetSnapshot(targetUrl, userId);
    await ctx.addWorker();
    handles = await c.inject(ctx, ci);
    // Every worker dead (crashed, not killed by the case) means the run waits for ever: stop waiting.
    const noWorker = (async () => {
      while (!ended && !(ctx.workers.length && ctx.workers.every((w) => w.died))) await ctx.sleep(500);
      return 'no-worker' as const;
    })();
    const outcomes = await Promise.all(
      handles.map(
        async (h) =>
          await Promise.race([
            statusOf(h, c.timeoutMs),
            noWorker.then(() => ({ status: 'no-end', runId: null, message: 'every worker process died' })),
          ]),
      ),
    );
    ended = true;
    statuses = outcomes.map((o) => o.status);
    messages = outcomes.flatMap((o) => (o.message ? [o.message] : []));
    completedRunId = outcomes.find((o) => o.runId)?.runId ?? null;
    for (const h of handles) await h.terminate('fault case over').catch(() => undefined);
    await watcher;
    // Every execution of these runs (children and continued-as-new runs included) plus every log.
    let text = ctx.workers.map((w) => w.output()).join('\n');
    for await (const wf of stack.client.workflow.list({
      query: `StartTime > '${new Date(began - 1000).toISOString()}'`,
    })) {
      if (!handles.some((h) => wf.workflowId.startsWith(h.workflowId))) continue;
      text += historyText(await stack.client.workflow.getHandle(wf.workflowId, wf.runId).fetchHistory());
    }
    if (!text.includes(userId))
      throw new Error(`${c.name}: the history scan saw no history (positive control: the user id)`);
    const status = statuses.includes('completed') ? 'completed' : (statuses.find((s) => s !== 'completed') ?? 'no-end');
    const invariantInput = {
      source,
      sourceBefore,
      targetUrl,
      targetBefore,
      userId,
      keyringPath,
      asOfSeconds: Math.floor(began / 1000),
      status,
      completedRunId,
      historiesAndLogs: text,
      canary,
    };
    report = await checkInvariants(invariantInput);
    if (options.control && status === 'completed') {
      // The checks must be able to fail: lose one task, garble one folder name, leak the canary.
      await target.query(
        'DELETE FROM note_tasks WHERE id = (SELECT min(id::text)::uuid FROM note_tasks WHERE user_id = $1)',
        [userId],
      );
      await target.query(
        `UPDATE folders SET name_enc = name_enc || '\\x00'::bytea WHERE id = (SELECT min(id::text)::uuid FROM folders WHERE user_id = $1)`,
        [userId],
      );
      control = (await checkInvariants({ ...invariantInput, historiesAndLogs: `${text}\n${canary}` })).violations;
    }
    extra = (await c.extra?.(ctx, { statuses, messages })) ?? [];
    for (const [n, w] of ctx.workers.entries()) {
      if (w.died)
        extra.push(`worker ${n + 1} died: ${w.output().trim().split('\n').slice(-3).join(' | ').slice(0, 400)}`);
    }
    const expected = c.expectStatus ?? /^completed$/;
    if (!expected.test(statuses.join('+')))
      extra.push(`final status ${statuses.join('+')}, expected ${String(expected)}`);
  } finally {
    ended = true;
    for (const w of ctx.workers) await w.kill('SIGKILL');
    await target.end();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`).catch(() => undefined);
    await admin.end();
    await c.cleanup?.(ctx);
  }
  return {
    case: c.name,
    seed,
    runs: handles.length,
    chunks: report.chunks,
    rowsLost: report.rowsLost,
    duplicates: report.duplicates,
    finalStatus: statuses.join('+'),
    recoverMs,
    durationMs: Date.now() - began,
    violations: [...report.violations, ...extra],
    messages,
    ...(control ? { control } : {}),
  };
}

/** Deterministic bytes from a seed (the keyring), so a case re-runs with the same key. */
function pseudoRandom(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Files of the backup directory (any depth), for the backup cases. */
export function backupFiles(dir: string): string[] {
  try {
    return readdirSync(dir, { recursive: true }).map(String);
  } catch {
    return [];
  }
}
