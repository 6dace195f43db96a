// The fault matrix. Each case starts its run(s), waits for a seeded point of the transfer, breaks
// something real (a process, a backend, the server, the network path, a file) and lets the run end
// by itself; the harness then checks the same invariants after every case.
import { spawn } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import type { WorkflowHandle } from '@temporalio/client';
import { progressQuery, type MigrationResult } from '../../workflows/definitions';
import { waitUntil } from '../helpers/wait';
import { RESOURCE_CASES } from './cases-resources';
import type { CaseContext, FaultCase } from './harness';

/** A chunk count to strike at, from the seed: the same seed breaks the same run at the same point. */
const strikeAt = (ctx: CaseContext, min = 4, spread = 6) => min + (ctx.seed % spread);

/** Starts the run, waits for the seeded chunk, marks the fault's start and breaks something. */
async function strike(ctx: CaseContext, fault: () => Promise<void>): Promise<WorkflowHandle[]> {
  const h = await ctx.start();
  await ctx.waitForChunks(strikeAt(ctx));
  ctx.faultStarted();
  await fault();
  return [h];
}

/** The suite waits up to 2 minutes for a point of a run (the shared helper's default is 1). */
const waitFor = (what: string, check: () => Promise<boolean>) => waitUntil(what, check, { timeoutMs: 120_000 });

const workerSigkill: FaultCase = {
  name: 'worker-sigkill',
  ci: true,
  notes: 1200,
  timeoutMs: 180_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      await ctx.workers[0]!.kill('SIGKILL');
      await ctx.addWorker();
    }),
};

/** Killed between COMMIT and the activity's completion: Temporal retries a chunk that already committed. */
const workerKilledAfterCommit: FaultCase = {
  name: 'worker-kill-after-commit',
  async extra(ctx) {
    // The committed chunk was retried and found in the ledger: a replay that wrote nothing.
    const id = (ctx as CaseContext & { workflowId?: string }).workflowId!;
    const result = (await ctx.stack.client.workflow.getHandle(id).result()) as MigrationResult;
    const replayed = Object.values(result.tables).reduce((n, t) => n + t.replayedChunks, 0);
    return replayed > 0 ? [] : ['no committed chunk was retried (fault not injected)'];
  },
  ci: true,
  notes: 1200,
  timeoutMs: 180_000,
  async inject(ctx) {
    const workflowId = `commit-${ctx.seed}-${Date.now()}`;
    (ctx as CaseContext & { workflowId?: string }).workflowId = workflowId;
    // The worker's test-fault interceptor kills its own process right after the Nth chunk returned.
    writeFileSync(ctx.faultsFile, JSON.stringify({ [workflowId]: { killAfterCommittedChunks: strikeAt(ctx) } }));
    const h = await ctx.start(workflowId);
    await waitFor('the worker to kill itself after a commit', async () => ctx.workers[0]!.stopped);
    ctx.faultStarted();
    await ctx.workers[0]!.kill(); // gone already: the case's doing, not a crash
    writeFileSync(ctx.faultsFile, '{}'); // the next worker runs without the plan
    await ctx.addWorker();
    return [h];
  },
};

const workerFrozen: FaultCase = {
  name: 'worker-sigstop',
  ci: true,
  notes: 1200,
  timeoutMs: 180_000,
  async inject(ctx) {
    const h = await ctx.start();
    await ctx.waitForChunks(strikeAt(ctx));
    await ctx.addWorker(); // the one that takes over
    ctx.faultStarted();
    ctx.workers[0]!.signal('SIGSTOP');
    // Past the heartbeat timeout (3 s): the frozen worker's chunks are retried by the other one.
    await ctx.sleep(8000);
    ctx.workers[0]!.signal('SIGCONT'); // its late writes must be fenced (ledger key, lease)
    return [h];
  },
};

const terminateBackend: FaultCase = {
  name: 'pg-terminate-backend',
  async extra(ctx) {
    const killed = (ctx as CaseContext & { killed?: number }).killed ?? 0;
    return killed > 0 ? [] : ['no chunk backend was terminated (fault not injected)'];
  },
  ci: true,
  notes: 1200,
  timeoutMs: 180_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      // For 3 s, every 20 ms: kill the migration's backends that are inside a transaction, above all
      // 'idle in transaction' ones (a chunk's client checked out between two queries while the worker
      // transforms and encrypts: the moment an unhandled 'error' event used to kill the worker).
      const until = Date.now() + 3000;
      let killed = 0;
      while (Date.now() < until) {
        const r = await ctx.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND application_name = 'migrator' AND pid <> pg_backend_pid() AND xact_start IS NOT NULL`,
        );
        killed += r[0]!.n;
        await ctx.sleep(20);
      }
      (ctx as CaseContext & { killed?: number }).killed = killed;
    }),
};

const pgRestartTransfer: FaultCase = {
  name: 'pg-restart-transfer',
  shared: true,
  ci: true,
  notes: 1200,
  timeoutMs: 240_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      await ctx.stack.restartPostgres({ downMs: 5000 });
    }),
};

const pgRestartRollback: FaultCase = {
  name: 'pg-restart-rollback',
  shared: true,
  ci: true,
  expectStatus: /^RolledBack$/,
  notes: 800,
  timeoutMs: 300_000,
  async inject(ctx) {
    const workflowId = `rollback-${ctx.seed}-${Date.now()}`;
    // A planned failure after a few chunks starts the rollback; removeRunRows first waits 8 s.
    writeFileSync(
      ctx.faultsFile,
      JSON.stringify({
        [workflowId]: { failAfterChunks: strikeAt(ctx, 2, 3), failInTable: 'local_notes', compensationDelayMs: 8000 },
      }),
    );
    const h = await ctx.start(workflowId);
    await waitFor(
      'the rollback',
      async () => (await h.query(progressQuery).catch(() => null))?.phase === 'rolling-back',
    );
    await ctx.sleep(1500);
    ctx.faultStarted();
    await ctx.stack.restartPostgres({ downMs: 5000 });
    return [h];
  },
};

const temporalRestart: FaultCase = {
  name: 'temporal-restart',
  shared: true,
  ci: false,
  notes: 1200,
  timeoutMs: 240_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      await ctx.stack.restartTemporal({ downMs: 3000 });
    }),
};

/**
 * The worker's path to Temporal goes silent for 30 s (polls, heartbeats and completions held, then
 * delivered late): far past the heartbeat timeout (3 s), so any attempt in flight times out and is
 * retried. The connection survives: the worker's HTTP/2 keepalive pings 30 s after the last frame it
 * read and gives up 15 s later, so only a silence over 45 s makes it redial.
 */
const temporalBlackhole: FaultCase = {
  name: 'temporal-blackhole',
  shared: true,
  ci: false,
  notes: 1200,
  timeoutMs: 240_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      ctx.stack.temporalProxy.set({ mode: 'blackhole' });
      await ctx.sleep(30_000);
      ctx.stack.temporalProxy.set({ mode: 'pass' });
    }),
};

const blackhole: FaultCase = {
  name: 'pg-blackhole',
  shared: true,
  ci: true,
  notes: 1200,
  timeoutMs: 300_000,
  async inject(ctx, ci) {
    const h = await ctx.start();
    await ctx.waitForChunks(strikeAt(ctx));
    ctx.faultStarted();
    ctx.stack.pgProxy.set({ mode: 'blackhole' });
    await ctx.sleep(ci ? 8000 : 30_000);
    ctx.stack.pgProxy.set({ mode: 'pass' });
    if (ci) {
      // CI folds the reset case into this run (one run fewer): once two more chunks are in, cut mid-chunk.
      await ctx.waitForChunks((await ctx.ledger()) + 2);
      await resetMidChunk(ctx);
    }
    return [h];
  },
};

/** Every open connection cut after a few more KB (mid-chunk), new ones too, for 2 s; then reset. */
async function resetMidChunk(ctx: CaseContext): Promise<void> {
  ctx.stack.pgProxy.set({ mode: 'cut', cutAfterBytes: 4096 + (ctx.seed % 8) * 1024 });
  await ctx.sleep(2000);
  ctx.stack.pgProxy.set({ mode: 'reset' });
  await ctx.sleep(500);
  ctx.stack.pgProxy.set({ mode: 'pass' });
}

const connectionReset: FaultCase = {
  name: 'pg-reset-mid-chunk',
  shared: true,
  ci: false,
  notes: 1200,
  timeoutMs: 180_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      await resetMidChunk(ctx);
    }),
};

const latency: FaultCase = {
  name: 'pg-latency',
  shared: true,
  ci: false,
  notes: 800,
  timeoutMs: 240_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      ctx.stack.pgProxy.set({ mode: 'latency', latencyMs: 200 });
      await ctx.sleep(10_000);
      ctx.stack.pgProxy.set({ mode: 'pass' });
    }),
};

// Runs in a process of its own, so the suite's event loop (busy with other cases' checks) cannot
// make it miss the moment between the backup's write and its integrity_check.
const CORRUPTOR = `
const fs = require('node:fs'), path = require('node:path');
const [dir, pattern, mode] = process.argv.slice(1);
const attempt = new RegExp(pattern), garbage = Buffer.alloc(4096, 0xab), seen = new Set(), cutAt = new Map();
setInterval(() => {
  try {
    for (const run of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
      for (const name of fs.readdirSync(path.join(dir, run))) {
        if (!name.startsWith('source.sqlite.attempt-') || !attempt.test(name)) continue;
        let fd;
        try { fd = fs.openSync(path.join(dir, run, name), 'r+'); } catch { continue; }
        try {
          const size = fs.fstatSync(fd).size;
          if (size < 3 * 4096) continue;
          if (mode === 'truncate') {
            // Cut again only once the backup wrote past the last cut: the file ends about half-way, mid-page.
            if (size <= (cutAt.get(name) ?? 0)) continue;
            const to = Math.floor(size / 2) - 100;
            fs.ftruncateSync(fd, to);
            cutAt.set(name, to);
          } else {
            fs.writeSync(fd, garbage, 0, 4096, 4096);
            fs.writeSync(fd, garbage, 0, 4096, size - 4096);
          }
          if (!seen.has(name)) { seen.add(name); process.stdout.write(name + '\\n'); }
        } finally { fs.closeSync(fd); }
      }
    }
  } catch {}
}, 2);
// Never outlives the suite: gone with its parent, and after 10 minutes in any case.
setInterval(() => { try { process.kill(process.ppid, 0); } catch { process.exit(0); } }, 1000);
setTimeout(() => process.exit(0), 600000);
`;

/**
 * Damages every partial source backup of matching attempts while it exists, every 2 ms, so what
 * integrity_check reads is damaged whatever the SQLite backup wrote in between: `overwrite` puts
 * garbage over page 2 and the last page; `truncate` cuts the file to about half its size (page 1,
 * the header, stays: a short file, not a foreign one). Returns a stop function and the names of
 * the files damaged.
 */
function corruptPartials(
  backupDir: string,
  attempt: RegExp,
  mode: 'overwrite' | 'truncate' = 'overwrite',
): { stop(): void; corrupted: Set<string> } {
  const corrupted = new Set<string>();
  const child = spawn(process.execPath, ['-e', CORRUPTOR, backupDir, attempt.source, mode], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  child.stdout.on('data', (d: Buffer) =>
    d
      .toString()
      .split('\n')
      .filter(Boolean)
      .forEach((n) => corrupted.add(n)),
  );
  return { stop: () => child.kill('SIGKILL'), corrupted };
}

/** Persistent: every attempt's backup is damaged, so the run must stop in the backup phase. */
function damagedBackup(name: string, mode: 'overwrite' | 'truncate'): FaultCase {
  const damage = mode === 'overwrite' ? 'corrupted' : 'truncated';
  return {
    name,
    ci: false,
    // A truncated file is one SQLite refuses to read (SQLITE_CORRUPT): a failed integrity_check.
    expectStatus: mode === 'truncate' ? /^BackupFailed$/ : /^(BackupFailed|Error|ActivityFailure|failed)$/,
    noTransfer: true,
    notes: 800,
    timeoutMs: 400_000,
    async inject(ctx) {
      ctx.faultStarted();
      const corruptor = corruptPartials(ctx.backupDir, /attempt-\d+\.partial$/, mode);
      const h = await ctx.start();
      void h
        .result()
        .finally(() => corruptor.stop())
        .catch(() => undefined);
      (ctx as CaseContext & { corrupted?: Set<string> }).corrupted = corruptor.corrupted;
      return [h];
    },
    async extra(ctx, { statuses }) {
      const v: string[] = [];
      if ((ctx as CaseContext & { corrupted?: Set<string> }).corrupted?.size === 0)
        v.push(`no backup file was ${damage} (fault not injected)`);
      if (statuses[0] === 'completed') v.push(`the run completed on a ${damage} backup`);
      const tables = await ctx.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM pg_tables WHERE schemaname IN ('public', 'migration')`,
      );
      if (tables[0]!.n !== 0)
        v.push(`the run went past the backup phase: ${tables[0]!.n} tables created in the target`);
      return v;
    },
  };
}

/** Transient: attempt 1's backup is corrupt; the retry must take a fresh, verified backup. */
const corruptBackupOnce: FaultCase = {
  name: 'backup-corrupt-once',
  ci: true,
  notes: 800,
  timeoutMs: 180_000,
  async inject(ctx) {
    ctx.faultStarted();
    const corruptor = corruptPartials(ctx.backupDir, /attempt-1\.partial$/);
    (ctx as CaseContext & { corrupted?: Set<string> }).corrupted = corruptor.corrupted;
    const h = await ctx.start();
    void h
      .result()
      .finally(() => corruptor.stop())
      .catch(() => undefined);
    return [h];
  },
  async extra(ctx) {
    const v: string[] = [];
    if ((ctx as CaseContext & { corrupted?: Set<string> }).corrupted?.size === 0)
      v.push('no backup file was corrupted (fault not injected)');
    const rows = await ctx.query<{ attempt: string }>(
      `SELECT verification->>'attempt' AS attempt FROM migration.backup_inventory WHERE kind = 'source-sqlite'`,
    );
    if (rows.length !== 1 || Number(rows[0]!.attempt) < 2)
      v.push(`the source backup kept is from attempt ${rows[0]?.attempt ?? 'none'}, not a retry after the corrupt one`);
    return v;
  },
};

const concurrentRuns: FaultCase = {
  name: 'concurrent-runs',
  ci: true,
  expectStatus: /^(completed\+\w+|\w+\+completed)$/,
  notes: 800,
  timeoutMs: 240_000,
  async inject(ctx) {
    ctx.faultStarted();
    const a = `twice-a-${ctx.seed}-${Date.now()}`;
    const b = `twice-b-${ctx.seed}-${Date.now()}`;
    const handles = await Promise.all([ctx.start(a), ctx.start(b)]);
    return handles;
  },
  async extra(_ctx, { statuses }) {
    const completed = statuses.filter((s) => s === 'completed').length;
    return completed === 1 ? [] : [`expected exactly one of the two runs to complete, got ${statuses.join(', ')}`];
  },
};

const keyringGone: FaultCase = {
  name: 'keyring-removed',
  ci: false,
  // Either the run rides the gap out (retries) or it refuses the missing key and rolls back (what the
  // product does: SecretReference is not retried).
  expectStatus: /^(completed|RolledBack)$/,
  notes: 1200,
  timeoutMs: 240_000,
  inject: (ctx) =>
    strike(ctx, async () => {
      renameSync(ctx.keyringPath, `${ctx.keyringPath}.away`);
      await ctx.sleep(3000);
      renameSync(`${ctx.keyringPath}.away`, ctx.keyringPath);
    }),
  async extra(ctx, { messages }) {
    // The gap counts only if an activity looked for the key in it: its failure names the missing file.
    const seen = [...ctx.workers.map((w) => w.output()), ...messages].join('\n');
    return /keyring "fault": cannot read the file \(ENOENT\)/.test(seen)
      ? []
      : ['no activity failed on the missing keyring file (fault not injected)'];
  },
};

export const CASES: FaultCase[] = [
  workerSigkill,
  workerKilledAfterCommit,
  workerFrozen,
  terminateBackend,
  pgRestartTransfer,
  pgRestartRollback,
  temporalRestart,
  temporalBlackhole,
  blackhole,
  connectionReset,
  latency,
  corruptBackupOnce,
  damagedBackup('backup-corrupt', 'overwrite'),
  concurrentRuns,
  keyringGone,
  ...RESOURCE_CASES,
  // New cases go last: a case's seed is the base seed plus its index here.
  damagedBackup('backup-truncated', 'truncate'),
];

export type { WorkflowHandle };
