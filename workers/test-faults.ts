// Test-only fault injection, configured on the worker — never accepted from workflow input. A
// worker started in test mode (`createMigrationWorker({ testFaults })`, or `migrator worker
// --test-faults FILE`) wraps every activity with this interceptor; each run's plan is looked up by
// its workflow id (children `<parent>/<runId>/<table>` share their parent's plan). A production
// worker has no interceptor, and workflow input naming `faults` is refused (lib/input.ts).
import { closeSync, openSync, readdirSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { PhaseName } from '../workflows/definitions';

export interface FaultPlan {
  /** The last activity of this phase fails, non-retryably, after it did its work. */
  failAfterPhase?: PhaseName;
  /** transferChunk of `failInTable` (default: every table) fails after this many chunks of the table. */
  failAfterChunks?: number;
  failInTable?: string;
  /** This compensation activity fails (removeRunRows, dropRunIndexes, dropCreatedTables). */
  failCompensation?: string;
  /** removeRunRows first waits this long, heartbeating (to crash a worker mid-rollback). */
  compensationDelayMs?: number;
  /** The worker process SIGKILLs itself right after this many transferChunk activities of the run
   * committed, before Temporal hears that the last one completed (the retry must be a no-op). */
  killAfterCommittedChunks?: number;
  /** While the activity writing this backup runs, the filesystem of `dir` (the backup directory) is
   * filled with a ballast file as soon as the backup's partial file appears: after the activity's
   * free-space check passed, before the dump is written. Once per run. */
  fillDiskOnBackup?: { dir: string; file: 'source.sqlite' | 'target.dump' };
}

/** Writes `file` until its filesystem is full (ENOSPC at every size down to 512 bytes); returns the bytes written. */
export function fillFilesystem(file: string): number {
  const fd = openSync(file, 'a');
  let written = 0;
  try {
    for (const size of [1 << 20, 1 << 16, 4096, 512]) {
      const block = Buffer.alloc(size, 0x5a);
      for (;;) {
        try {
          written += writeSync(fd, block);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOSPC') break;
          throw err;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return written;
}

/** Polls `dir` (any depth) every millisecond for `<file>.attempt-N.partial`; fills the filesystem on sight. */
function fillOnPartial(dir: string, file: string): () => void {
  const timer = setInterval(() => {
    let names: string[];
    try {
      names = readdirSync(dir, { recursive: true }).map(String);
    } catch {
      return;
    }
    if (!names.some((n) => n.includes(`${file}.attempt-`) && n.endsWith('.partial'))) return;
    clearInterval(timer);
    const bytes = fillFilesystem(join(dir, '.ballast'));
    console.error(
      `[test-faults] filled the backup filesystem at ${dir} (${bytes} bytes) once ${file}'s partial appeared`,
    );
  }, 1);
  return () => clearInterval(timer);
}

/** The activity whose completion ends each phase (workflows/phases/<phase>.ts calls it last). */
const LAST_ACTIVITY: Record<
  Exclude<PhaseName, 'soak'>,
  { type: string; when?: (input: Record<string, unknown>) => boolean }
> = {
  preflight: { type: 'fingerprintTarget' },
  backup: { type: 'backupPreImage' },
  schema: { type: 'measureBaseline' },
  indexes: { type: 'buildIndexes', when: (i) => i.set === 'temporary' },
  transfer: { type: 'linkTaskParents' },
  validation: { type: 'validateReferences' },
  'post-migration': { type: 'releaseLease' },
};

const injected = (message: string) =>
  ApplicationFailure.create({ type: 'InjectedFault', nonRetryable: true, message: `${message} (test fault plan)` });

export class TestFaults {
  private readonly plans = new Map<string, FaultPlan>();
  private readonly fired = new Set<string>();
  private readonly chunks = new Map<string, number>();

  /** Plans from a JSON file `{ "<workflowId>": FaultPlan }`, re-read on every lookup (tests write it while the worker runs). */
  constructor(private readonly file?: string) {}

  plan(workflowId: string, plan: FaultPlan): void {
    this.plans.set(workflowId, plan);
  }

  private planFor(workflowId: string): FaultPlan | undefined {
    const key = workflowId.split('/')[0]!;
    if (this.plans.has(key)) return this.plans.get(key);
    if (!this.file) return undefined;
    try {
      return (JSON.parse(readFileSync(this.file, 'utf8')) as Record<string, FaultPlan>)[key];
    } catch {
      return undefined;
    }
  }

  interceptor(): ActivityInterceptorsFactory {
    return (ctx) => ({
      inbound: {
        execute: async (input, next) => {
          const { activityType } = ctx.info;
          const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
          const runKey = workflowId.split('/')[0]!;
          const plan = this.planFor(workflowId);
          if (!plan) return next(input);
          const arg = (input.args[0] ?? {}) as Record<string, unknown>;
          const fill = plan.fillDiskOnBackup;
          const backupActivity = fill?.file === 'target.dump' ? 'ensureFullBackup' : 'backupSource';
          if (fill && activityType === backupActivity && !this.fired.has(`${runKey}/fill`)) {
            this.fired.add(`${runKey}/fill`);
            const stop = fillOnPartial(fill.dir, fill.file);
            try {
              return await next(input);
            } finally {
              stop();
            }
          }
          if (plan.failCompensation === activityType)
            throw injected(`compensation ${activityType} made to fail on purpose`);
          if (activityType === 'removeRunRows' && plan.compensationDelayMs) {
            for (let waited = 0; waited < plan.compensationDelayMs; waited += 200) {
              ctx.heartbeat({ delaying: true });
              await new Promise((r) => setTimeout(r, 200));
            }
          }
          if (
            activityType === 'transferChunk' &&
            plan.failAfterChunks !== undefined &&
            (!plan.failInTable || plan.failInTable === arg.table)
          ) {
            const key = `${runKey}/${String(arg.table)}`;
            const done = this.chunks.get(key) ?? 0;
            if (done >= plan.failAfterChunks)
              throw injected(`injected failure in ${String(arg.table)} after ${done} chunks`);
            this.chunks.set(key, done + 1);
          }
          const result = await next(input);
          if (activityType === 'transferChunk' && plan.killAfterCommittedChunks !== undefined) {
            const key = `${runKey}/committed`;
            const committed = (this.chunks.get(key) ?? 0) + 1;
            this.chunks.set(key, committed);
            if (committed >= plan.killAfterCommittedChunks) process.kill(process.pid, 'SIGKILL');
          }
          const last =
            plan.failAfterPhase && plan.failAfterPhase !== 'soak' ? LAST_ACTIVITY[plan.failAfterPhase] : undefined;
          if (last && last.type === activityType && (!last.when || last.when(arg)) && !this.fired.has(runKey)) {
            this.fired.add(runKey);
            throw injected(`injected failure after phase ${plan.failAfterPhase}`);
          }
          return result;
        },
      },
    });
  }
}
