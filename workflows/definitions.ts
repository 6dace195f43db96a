// Queries, signals and the shapes of progress and results. Counts, ids, checksums and durations
// only: never row contents.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { HealthReading } from '../activities';
import type { ThrottleConfig, ThrottleInput } from '../lib/throttle';

export interface TableTotals {
  read: number;
  migrated: number;
  inserted: number;
  quarantined: number;
  repaired: number;
  checksum: string;
  chunks: number;
  /** Chunks the ledger already held (retries, resumed runs): they wrote nothing. */
  replayedChunks: number;
  /** Time this table's copy waited on the throttle (runs with a throttle only). */
  throttledMs?: number;
}

export interface TableReport extends TableTotals {
  sourceRows: number;
  durationMs: number;
  targetChecksum?: string;
  sampled?: number;
}

/** The migration's phases, in the order they run (workflows/phases/). */
export const PHASE_NAMES = [
  'preflight',
  'backup',
  'schema',
  'indexes',
  'transfer',
  'validation',
  'post-migration',
  'soak',
] as const;
export type PhaseName = (typeof PHASE_NAMES)[number];
/** The phases only an online run has (README "Online mode"): capture before transfer, delta and
 * cutover after it, release-capture after validation. Kept apart from PHASE_NAMES: offline runs never see them. */
export const ONLINE_PHASE_NAMES = ['capture', 'delta', 'cutover', 'release-capture'] as const;
export type OnlinePhaseName = (typeof ONLINE_PHASE_NAMES)[number];
/** Where a run is: before, in or after its phases. */
export type RunPhase =
  | 'starting'
  | PhaseName
  | OnlinePhaseName
  | 'completing'
  | 'completed'
  | 'dry-run'
  | 'rolling-back'
  | 'rolled-back'
  | 'rollback-failed';

export interface MigrationProgress {
  runId: string;
  phase: RunPhase;
  table: string | null;
  tables: Record<string, Partial<TableReport>>;
  phaseDurationsMs: Partial<Record<PhaseName | OnlinePhaseName, number>>;
  paused: boolean;
  chunkRows: number;
  chunksDone: number;
  /** Estimate: source rows / chunk size, summed over the tables. */
  chunksTotal: number;
  rowsRead: number;
  rowsTotal: number;
  rowsPerSecond: number | null;
  etaSeconds: number | null;
  /** The last health reading (runs whose guard loop is in this workflow; see healthGuardWorkflowId). */
  lastHealth: HealthReading | null;
  /** The health guard's child workflow: query `healthReading` on it for the latest reading. */
  healthGuardWorkflowId: string | null;
  abortReason: string | null;
  /** The throttle's thresholds now (null: none); why the copy waits now (null: it does not); time waited so far. */
  throttle?: ThrottleConfig | null;
  throttleReason?: string | null;
  throttledMs?: number;
  /** Online runs only: the cut-over's operator state. */
  cutover?: CutoverControl;
  /** Online runs only: delta passes run so far (the final one included once it ran). */
  deltaPasses?: number;
}

export type RollbackCause = 'failure' | 'abort' | 'health' | 'cancel';

export interface RollbackReport {
  reason: string;
  cause: RollbackCause;
  compensated: string[];
  failed: { step: string; error: string }[];
  fingerprintEqual: boolean;
  differences: string[];
  remaining: string[];
  runbook: string[];
}

export interface BackupSummary {
  backupId: string;
  kind: string;
  bytes: number;
  sha256: string;
  verified: boolean;
}

export interface MigrationResult {
  workflowId: string;
  runId: string;
  userId: string;
  target: string;
  dryRun: boolean;
  status: 'completed' | 'dry-run';
  tables: Record<string, TableReport>;
  phaseDurationsMs: Partial<Record<PhaseName | OnlinePhaseName, number>>;
  backups: BackupSummary[];
  uncovered: { tables: string[]; columns: string[] };
  indexes: { created: string[]; rebuiltInvalid: string[]; temporaryDropped: string[] };
  validation: { ok: boolean; failures: string[]; dangling: Record<string, number> };
  linkedParents: number;
  archivedBridgeRows: Record<string, number>;
  /** Online runs only: the change capture and the delta passes (sequences and counts, no rows). */
  online?: OnlineReport;
  /** Total time the copy and the delta passes waited on the throttle (runs with a throttle only). */
  throttledMs?: number;
}

export const progressQuery = defineQuery<MigrationProgress>('progress');

export interface OnlineReport {
  /** The change log's sequence when the bulk copy started. */
  startSeq: number;
  /** The last sequence applied (by the final, frozen pass once it ran). */
  lastSeq: number;
  /** Delta passes run, the final one included. */
  passes: number;
  /** Logged changes applied over all passes. */
  changesApplied: number;
  /** Time the delta passes waited on the throttle (runs whose passes were throttled only; also in
   * the run's throttledMs). */
  throttledMs?: number;
  /** Why the delta phase stopped passing above deltaThreshold (the catch-up estimate, or not
   * converging); absent: a pass went below deltaThreshold, maxDeltaPasses ran, or cutoverNow. */
  deltaStop?: string;
  /** The successful cut-over's write freeze (freeze hook called → unfreeze acknowledged, or the source
   * lock's hold without a hook; the worker's monotonic clock), ms; its lock's epoch ms below. */
  freezeMs: number | null;
  /** Of the freeze, the part spent applying the rest of the log under the source's write lock. */
  freezeDrainMs: number | null;
  freezeStartedAtMs: number | null;
  freezeEndedAtMs: number | null;
  /** The source's sqlite_master digest before the capture was installed and after it was removed. */
  schemaDigestBefore: string;
  schemaDigestAfter: string | null;
  /** Cut-over attempts, the successful one last (absent in runs started before the cutover phase). */
  attempts?: CutoverAttemptReport[];
  /** The freeze budget and hook the cut-over ran with. */
  budgetMs?: number;
  freezeHook?: string | null;
  /** The switch hook (online.cutover.switchHook) and when it acknowledged (epoch ms); null: none named. */
  switchHook?: string | null;
  switchedAtMs?: number | null;
}

/** One cut-over attempt: its outcome, window (ms), the changes pending when it took the lock, and rows tail-validated. */
export interface CutoverAttemptReport {
  outcome: 'done' | 'over-budget' | 'delta-too-big' | 'switch-failed';
  windowMs: number;
  pending: number;
  changes: number;
  tailRows: number;
}

/** The cut-over's operator state (query `progress`, field `cutover`). */
export interface CutoverControl {
  /** postponeCutover: no attempt starts until cutoverNow. */
  postponed: boolean;
  /** cutoverNow: the next attempt starts without waiting for the delta threshold or the retry delay. */
  now: boolean;
  /** The cut-over succeeded: the Updates are refused from here on. */
  done: boolean;
  attempts: number;
  /** maxAttempts attempts failed: the cut-over waits for cutoverNow (another round) or abort; why, or null. */
  held?: string | null;
}

/** Operator control (Updates: answered, with validators). */
export const pauseUpdate = defineUpdate<{ paused: true; phase: RunPhase }>('pause');
export const resumeUpdate = defineUpdate<{ paused: false; phase: RunPhase }>('resume');
export const setChunkSizeUpdate = defineUpdate<{ chunkRows: number; previous: number }, [number]>('setChunkSize');
/** Changes the throttle's thresholds live (merged over the current ones); validated below the guard's levels. */
export const setThrottleUpdate = defineUpdate<
  { throttle: ThrottleConfig; previous: ThrottleConfig | null },
  [thresholds: Partial<ThrottleInput>]
>('setThrottle');
/** Online runs: cut over at the next chance (no wait for the delta threshold or a retry delay; ends a postponement, and a hold after maxAttempts: one more round). */
export const cutoverNowUpdate = defineUpdate<{ cutoverNow: true; phase: RunPhase }>('cutoverNow');
/** Online runs: hold the cut-over (delta passes keep the target close) until cutoverNow or resume. */
export const postponeCutoverUpdate = defineUpdate<{ postponed: true; phase: RunPhase }>('postponeCutover');
export const abortUpdate = defineUpdate<{ aborting: true; reason: string }, [reason: string | undefined]>('abort');

/** Parent → transferTable child: pause state and chunk size. */
export const transferControlSignal =
  defineSignal<[{ paused: boolean; chunkRows: number; throttle?: ThrottleConfig }]>('transferControl');
/** Sent by transferTable children after each batch of chunks. */
export const tableProgressSignal =
  defineSignal<[{ table: string; totals: TableTotals; sourceRows?: number; throttleReason?: string | null }]>(
    'tableProgress',
  );

export function emptyTotals(): TableTotals {
  return {
    read: 0,
    migrated: 0,
    inserted: 0,
    quarantined: 0,
    repaired: 0,
    checksum: '0000000000000000',
    chunks: 0,
    replayedChunks: 0,
  };
}

// ---- staged rollout ----

export interface CohortState {
  index: number;
  fraction: number;
  users: number;
  skipped: number;
  migrated: number;
  failed: number;
  rolledBack: number;
  rollbackFailed: number;
  gate: 'pending' | 'running' | 'passed' | 'failed' | 'approved' | 'rejected';
  failures: { userId: string; type: string; message: string }[];
}

export interface RolloutStatus {
  status: 'running' | 'waiting-for-approval' | 'completed' | 'rejected';
  waitingForApproval: number | null;
  cohorts: CohortState[];
}

export const rolloutStatusQuery = defineQuery<RolloutStatus>('rolloutStatus');
export const approveUpdate = defineUpdate<{ approved: true; cohort: number }, [note: string | undefined]>('approve');
export const rejectUpdate = defineUpdate<{ rejected: true; cohort: number }, [reason: string | undefined]>('reject');

/** The health guard child's latest reading and how many it has taken (across continue-as-new). */
export const healthReadingQuery = defineQuery<{ reading: HealthReading | null; readings: number }>('healthReading');
