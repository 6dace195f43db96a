// The run state: everything the phases, the operator's Updates, the health guard and the rollback
// share, in one typed object (no loose variables shared between closures). It holds ids, counts,
// checksums and durations only: it is what the progress query shows.
import type { BackupRecord, PreflightResult } from '../activities';
import type { TargetFingerprint } from '../lib/fingerprint';
import type { MigrationConfig } from '../lib/input';
import type { ThrottleConfig } from '../lib/throttle';
import type { ThrottleTrack } from './throttle';
import type { CutoverControl, MigrationProgress, MigrationResult, OnlineReport, RollbackCause } from './definitions';
import type { GuardHandle } from './health-guard';

export interface RunState {
  readonly cfg: MigrationConfig;
  readonly workflowId: string;
  /** The first run id of this execution chain: what the target's records name the run by. */
  readonly runId: string;
  /** Workflow time at start (Unix seconds): every retry and replay transforms rows identically. */
  readonly asOfSeconds: number;
  progress: MigrationProgress;
  result: MigrationResult;
  /** Set by an abort, a health trigger or a cancellation: why the run stops. */
  abort: { reason: string | null; cause: RollbackCause };
  /** What preflight saw (null until it ran). */
  preflight: PreflightResult | null;
  /** The target as it was before the run changed anything (null in a dry run). */
  before: TargetFingerprint | null;
  backups: BackupRecord[];
  guard: GuardHandle | null;
  /** The transferTable child running now, for forwarding pause and chunk size. */
  currentChild: string | null;
  transferStartedAt: number | null;
  totalSourceRows: number;
  /** The control tables exist: events can be logged to migration_log. */
  loggingReady: boolean;
  /** The tables this run's ensureSchema created (null: not reported, the undo falls back to the preflight fingerprint). */
  createdTables: string[] | null;
  /** The copy's throttle thresholds now (input, then the setThrottle Update); null: no throttle. */
  throttle: ThrottleConfig | null;
  /** Bumped by every setThrottle Update: a throttled delta pass's wait watches it (wakes at once). */
  throttleVersion: number;
  /** What the delta passes' throttle tracks (the last reading's time and WAL, the reason, the time
   * waited); null until a delta pass checked the load. */
  deltaThrottle: ThrottleTrack | null;
  /** Memo fields a phase step wants on the run; the driver upserts them after the step and clears this. */
  pendingMemo: Record<string, unknown> | null;
  /** The schema step (may have) registered the user's key check and the file's fingerprints: its undo removes them. */
  ownershipRegistered: boolean;
  /** Another run of this user held the lease: this run changed nothing of its own, so nothing is rolled back. */
  leaseRefused: boolean;
  /** Online runs: the change capture's state once installed (the same object as result.online). */
  online: OnlineReport | null;
  /** Online runs: the cut-over's operator state (Updates cutoverNow, postponeCutover). */
  cutover: CutoverControl;
}

export function newRunState(
  cfg: MigrationConfig,
  ids: { workflowId: string; runId: string },
  asOfSeconds: number,
): RunState {
  const progress: MigrationProgress = {
    runId: ids.runId,
    phase: 'starting',
    table: null,
    tables: {},
    phaseDurationsMs: {},
    paused: false,
    chunkRows: cfg.chunkRows,
    chunksDone: 0,
    chunksTotal: 0,
    rowsRead: 0,
    rowsTotal: 0,
    rowsPerSecond: null,
    etaSeconds: null,
    lastHealth: null,
    healthGuardWorkflowId: null,
    abortReason: null,
    throttle: cfg.throttle ?? null,
    throttleReason: null,
  };
  return {
    cfg,
    ...ids,
    asOfSeconds,
    progress,
    result: {
      workflowId: ids.workflowId,
      runId: ids.runId,
      userId: cfg.userId,
      target: cfg.target,
      dryRun: cfg.dryRun,
      status: cfg.dryRun ? 'dry-run' : 'completed',
      tables: {},
      phaseDurationsMs: progress.phaseDurationsMs,
      backups: [],
      uncovered: { tables: [], columns: [] },
      indexes: { created: [], rebuiltInvalid: [], temporaryDropped: [] },
      validation: { ok: false, failures: [], dangling: {} },
      linkedParents: 0,
      archivedBridgeRows: {},
    },
    abort: { reason: null, cause: 'failure' },
    preflight: null,
    before: null,
    backups: [],
    guard: null,
    currentChild: null,
    transferStartedAt: null,
    totalSourceRows: 0,
    loggingReady: false,
    createdTables: null,
    pendingMemo: null,
    ownershipRegistered: false,
    leaseRefused: false,
    online: null,
    throttle: cfg.throttle ?? null,
    throttleVersion: 0,
    deltaThrottle: null,
    cutover: { postponed: false, now: false, done: false, attempts: 0, held: null },
  };
}

/** A value an earlier phase must have set; its absence is a bug in the phase order, not bad input. */
export function required<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`run state: ${what} is not set yet (phase order)`);
  return value;
}

/** Still moving forward: not finished, not rolling back, no abort requested. */
export function isRunning(run: RunState): boolean {
  const terminal: readonly string[] = [
    'completing',
    'completed',
    'dry-run',
    'rolling-back',
    'rolled-back',
    'rollback-failed',
  ];
  return run.abort.reason === null && !terminal.includes(run.progress.phase);
}
