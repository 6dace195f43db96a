// Stub activities for tests of the workflows' own logic (the driver, the saga, the operator's
// Updates): plain in-memory functions that record each call and return minimal plausible values
// (ids, counts, checksums), registered on a real Worker against the real Temporal dev server. No
// database is touched, so these tests prove orchestration only; the activities' effects are
// proven against real PostgreSQL elsewhere (test/integration/phases/, migration.test.ts).
//
// One worker serves a whole test file: calls are routed by the calling workflow id (transferTable
// children `<parent>/<runId>/<table>` count as their parent), so each test plans its own overrides.
import { randomUUID } from 'node:crypto';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { Activities, BackupRecord } from '../../activities';
import type { TargetFingerprint } from '../../lib/fingerprint';
import { TABLE_ORDER } from '../../lib/mapping';
import { WORKFLOWS_PATH } from '../../workers/worker';

export type ActivityName = keyof Activities;

export interface StubCall {
  name: ActivityName;
  /** The workflow that scheduled it (a transferTable child's own id). */
  workflowId: string;
  input: Record<string, unknown>;
}

export interface StubOptions {
  /** Source rows each table reports in preflight (chunks = rows / chunkRows). */
  rowsPerTable?: number;
  /** Replace single activities for this run; the replacement is recorded like the default. */
  overrides?: Partial<Activities>;
}

const ZERO = '0000000000000000';
const EMPTY_FINGERPRINT: TargetFingerprint = { tables: {}, indexes: [] };

function backup(runId: string, kind: BackupRecord['kind']): BackupRecord {
  return {
    backupId: `${kind}-${runId}`,
    kind,
    location: `/stub/${kind}`,
    bytes: 1,
    sha256: ZERO,
    verified: true,
    verification: { database: 'stub' },
  };
}

/**
 * The default behaviour of every activity the worker registers: no I/O, minimal results. Typed as
 * `Activities`, so an activity added to activities/index.ts without a stub here fails tsc.
 */
export function defaultStubs(rowsPerTable: number): Activities {
  return {
    async preflight() {
      return {
        userVersion: 12,
        sourceBytes: 1,
        sourceRows: Object.fromEntries(TABLE_ORDER.map((t) => [t, rowsPerTable])),
        uncoveredTables: [],
        uncoveredColumns: [],
        target: { database: 'stub', serverVersion: '16.0', serverMajor: 16 },
      };
    },
    async fingerprintTarget() {
      return EMPTY_FINGERPRINT;
    },
    async backupSource({ runId }) {
      return backup(runId, 'source-sqlite');
    },
    async backupTarget({ runId }) {
      return backup(runId, 'target-pg_dump');
    },
    async ensureFullBackup({ runId }) {
      return backup(runId, 'target-pg_dump');
    },
    async backupPreImage({ runId }) {
      return backup(runId, 'target-pre-image');
    },
    async ensureSchema() {
      return { files: [], created: [] };
    },
    async recordBackups() {},
    async logEvent() {},
    async acquireLease() {},
    async registerOwnership() {
      return {
        source: 'marker' as const,
        overriddenBy: null,
        targetEnvelopesOpened: 0,
        keyCheckMatched: false,
        fileFingerprinted: true,
      };
    },
    async unregisterOwnership() {},
    async releaseLease() {},
    async measureBaseline() {
      return 1;
    },
    async healthCheck({ baselineMs }) {
      return {
        latencyMs: baselineMs,
        baselineMs,
        errors: 0,
        requests: 0,
        errorRate: null,
        invalidIndexes: [],
        counters: {},
        trigger: null,
      };
    },
    async notify() {},
    async buildIndexes({ set }) {
      return { created: [`stub_${set.replace('-', '_')}_idx`], existing: [], rebuiltInvalid: [] };
    },
    async dropIndexes({ set }) {
      return [`stub_${set.replace('-', '_')}_idx`];
    },
    // Keyset over row numbers 1..rowsPerTable: chunk (lo, hi].
    async planChunks({ after, chunkRows, maxChunks }) {
      const chunks: { lo: string | null; hi: string }[] = [];
      let lo = after === null ? 0 : Number(after);
      while (lo < rowsPerTable && chunks.length < maxChunks) {
        const hi = Math.min(rowsPerTable, lo + chunkRows);
        chunks.push({ lo: lo === 0 ? null : String(lo), hi: String(hi) });
        lo = hi;
      }
      return { chunks, done: lo >= rowsPerTable };
    },
    async transferChunk({ lo, hi }) {
      const rows = Number(hi) - Number(lo ?? 0);
      return {
        read: rows,
        migrated: rows,
        inserted: rows,
        quarantined: 0,
        repaired: 0,
        checksum: ZERO,
        replayed: false,
      };
    },
    async linkTaskParents() {
      return { linked: 0 };
    },
    // Online mode (never used by the driver tests, which run offline): an empty log.
    async installCapture() {
      return { startSeq: 0, schemaDigest: ZERO, objects: 0 };
    },
    async removeCapture() {
      return { schemaDigest: ZERO, remaining: [] };
    },
    async applyDeltaPass({ afterSeq, freeze }) {
      return {
        afterSeq,
        lastSeq: afterSeq,
        changes: 0,
        keys: 0,
        upserted: 0,
        deleted: 0,
        quarantined: 0,
        freeze: freeze ? { ms: 0, drainMs: 0, startedAtMs: 0, endedAtMs: 0 } : null,
        expected: null,
      };
    },
    async cutoverAttempt({ afterSeq }) {
      return {
        outcome: 'done' as const,
        windowMs: 0,
        lockMs: 0,
        drainMs: 0,
        startedAtMs: 0,
        endedAtMs: 0,
        pending: 0,
        lastSeq: afterSeq,
        changes: 0,
        upserted: 0,
        deleted: 0,
        tailRows: 0,
        expected: null,
      };
    },
    async validateTable({ table, expected }) {
      return {
        table,
        ok: true,
        failures: [],
        targetRows: expected.migrated,
        targetChecksum: expected.checksum,
        sampled: 0,
      };
    },
    async validateReferences() {
      return { ok: true, dangling: {} };
    },
    async analyzeTargets() {
      return [];
    },
    async archiveBridge() {
      return {};
    },
    async removeRunRows() {
      return {};
    },
    async dropRunIndexes() {
      return [];
    },
    async dropCreatedTables({ tables }) {
      return { dropped: tables, kept: [] };
    },
    async runArtifacts() {
      return [];
    },
    async migratedUsers() {
      return [];
    },
    async describeUsersFile() {
      return { users: 0, sha256: '' };
    },
    async usersFilePage() {
      return [];
    },
    async freezeWrites(hook, runId, budgetMs) {
      return { hook, runId, frozenUntilMs: Date.now() + budgetMs, acknowledgedAtMs: Date.now() };
    },
    async checkLoad() {
      return { probeLatencyMs: null, activeBackends: 0, replicationLagMs: null, walBytesPerSec: null, wal: null };
    },
    async unfreezeWrites(hook, runId) {
      return { hook, runId, windowMs: 0, clock: 'monotonic' };
    },
    async unswitchApp(hook, runId) {
      return { hook, runId };
    },
  };
}

export interface StubRun {
  /** Every activity call of this run (and its children), in the order they started. */
  readonly calls: StubCall[];
}

/** Routes each activity call to the plan of the workflow that scheduled it. */
export class StubActivities {
  private readonly runs = new Map<string, { calls: StubCall[]; impl: Activities }>();
  private readonly fallback = { calls: [] as StubCall[], impl: defaultStubs(20) };

  /** Plans a run: its overrides and the list its calls are recorded in. Call before starting it. */
  plan(workflowId: string, options: StubOptions = {}): StubRun {
    const impl: Activities = { ...defaultStubs(options.rowsPerTable ?? 20), ...options.overrides } as Activities;
    const run = { calls: [] as StubCall[], impl };
    this.runs.set(workflowId, run);
    return run;
  }

  /** What the worker registers: each name dispatches to the calling run's implementation. */
  activities(): Activities {
    const names = Object.keys(defaultStubs(0)) as ActivityName[];
    const out: Record<string, (input: Record<string, unknown>) => Promise<unknown>> = {};
    for (const name of names) {
      out[name] = (input) => {
        const workflowId = Context.current().info.workflowExecution?.workflowId ?? '';
        const run = this.runs.get(workflowId.split('/')[0]!) ?? this.fallback;
        run.calls.push({ name, workflowId, input });
        return (run.impl[name] as (i: Record<string, unknown>) => Promise<unknown>)(input);
      };
    }
    return out as unknown as Activities;
  }
}

/** A latch: an activity wrapped by `blockFirstCall` waits until the test opens it; `reached` tells the test it is waiting. */
export class Gate {
  private arrive: () => void = () => undefined;
  /** Opens the gate (idempotent): the waiting activity proceeds. */
  open: () => void = () => undefined;
  readonly reached = new Promise<void>((r) => (this.arrive = r));
  readonly opened = new Promise<void>((r) => (this.open = r));

  /**
   * Wraps an activity so its first call blocks until the gate opens (or the activity is
   * cancelled), then behaves as `impl`. Later calls pass straight through.
   */
  blockFirstCall<A extends unknown[], R>(impl: (...args: A) => Promise<R>): (...args: A) => Promise<R> {
    let first = true;
    return async (...args: A) => {
      if (first) {
        first = false;
        this.arrive();
        await Promise.race([this.opened, Context.current().cancelled.catch(() => undefined)]);
      }
      return impl(...args);
    };
  }
}

export interface StubWorker {
  client: Client;
  taskQueue: string;
  stubs: StubActivities;
  stop(): Promise<void>;
}

let runtimeInstalled = false;

/** A real Worker on the shared dev server (vitest's global setup) with the workflows bundled once and stub activities. */
export async function startStubWorker(): Promise<StubWorker> {
  if (!runtimeInstalled) {
    // Errors only: the bundler's INFO output would bury the test report.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    runtimeInstalled = true;
  }
  const address = inject('temporalAddress');
  const taskQueue = `driver-${randomUUID()}`;
  const stubs = new StubActivities();
  const nativeConnection = await NativeConnection.connect({ address });
  const workflowBundle = await bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    logger: new DefaultLogger('ERROR'),
  });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue,
    workflowBundle,
    activities: stubs.activities(),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address });
  return {
    client: new Client({ connection }),
    taskQueue,
    stubs,
    async stop() {
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
    },
  };
}
