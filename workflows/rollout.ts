// stagedRollout: many users' source files into one target, in cohorts (default 1 %, 10 %, 50 %,
// 100 % of the users). Each cohort's migrations run as child workflows with bounded concurrency;
// the next cohort starts only when the previous one passed its gate (failure rate, no
// ROLLBACK_FAILED), or when an operator approves with the `approve` Update. Users already migrated
// into the target are skipped, so re-running a rollout (or a scheduled later stage) is safe.
//
// Any number of users: they come inline (up to ROLLOUT_INLINE_USERS_MAX) or from a users file the
// worker reads page by page, and the workflow continues-as-new every ROLLOUT_CHILDREN_PER_RUN
// children carrying its counts and position, so neither the input nor the history grows with the
// rollout. Histories recorded before this (patch 'rollout-pages') replay the one-run loop.
// Since patch 'rollout-full-backup' the rollout takes (or finds) the target's one verified full
// backup of the window before its children start (docs/design.md "Backups").
import {
  allHandlersFinished,
  condition,
  continueAsNew,
  executeChild,
  ParentClosePolicy,
  patched,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { RolloutUser } from '../activities/users-file';
import { ROLLOUT_CHILDREN_PER_RUN, ROLLOUT_FAILURES_KEPT, ROLLOUT_PAGE_USERS } from '../lib/defaults';
import { innermostFailure, toApplicationFailure } from '../lib/failures';
import {
  cohortRanges,
  migrationWorkflowId,
  parseRolloutInput,
  splitCohorts,
  type RolloutConfig,
  type RolloutInput,
} from '../lib/input';
import { activitiesFor } from './activity-options';
import type { migrationWorkflow } from './migration';
import { assertState } from './assert';
import { approveUpdate, rejectUpdate, rolloutStatusQuery, type CohortState, type RolloutStatus } from './definitions';
import { boundedWindow } from './window';

export const ROLLOUT_FULL_BACKUP = 'rollout-full-backup';

/** What a run hands to the next when it continues-as-new. */
interface Resume {
  state: RolloutStatus;
  cohort: number;
  /** Users of `cohort` already handled (started and finished). */
  offset: number;
  usersFile: { users: number; sha256: string } | null;
}

function parse(raw: RolloutInput): RolloutConfig {
  try {
    // Rollouts started before the trust boundary carried env:/file: references (see workflows/migration.ts).
    return parseRolloutInput(raw, { legacy: !patched('trust-boundary-input') });
  } catch (err) {
    throw toApplicationFailure(err);
  }
}

export async function stagedRollout(raw: RolloutInput): Promise<RolloutStatus> {
  const cfg = parse(raw);
  if (!patched('rollout-pages')) return legacyRollout(cfg);
  const { bookkeeping, dataWork } = activitiesFor(30_000);
  const resume = cfg.resume as Resume | undefined;
  // One verified full backup of the target for the whole rollout, before any child starts: the
  // children find it recent and share it (each takes only its own user's pre-image). Every run of
  // the chain asks again: a rollout longer than the window gets a fresh one.
  if (patched(ROLLOUT_FULL_BACKUP))
    await dataWork.ensureFullBackup({ runId: workflowInfo().runId, target: cfg.target });
  const usersFile =
    resume?.usersFile ?? (cfg.usersFile ? await bookkeeping.describeUsersFile({ usersFile: cfg.usersFile }) : null);
  const total = usersFile ? usersFile.users : cfg.users!.length;
  const ranges = cohortRanges(total, cfg.cohorts);
  const last = Math.min(cfg.throughCohort ?? ranges.length - 1, ranges.length - 1);
  const state: RolloutStatus = resume?.state ?? {
    status: 'running',
    waitingForApproval: null,
    cohorts: ranges.map(([start, end], index) => ({
      index,
      fraction: cfg.cohorts[index]!,
      users: end - start,
      skipped: 0,
      migrated: 0,
      failed: 0,
      rolledBack: 0,
      rollbackFailed: 0,
      gate: 'pending',
      failures: [],
    })),
  };
  const gate = installGate(state);
  const page = async (from: number, count: number): Promise<RolloutUser[]> =>
    usersFile
      ? bookkeeping.usersFilePage({ usersFile: cfg.usersFile!, sha256: usersFile.sha256, offset: from, limit: count })
      : cfg.users!.slice(from, from + count);

  let startedThisRun = 0;
  for (let i = resume?.cohort ?? 0; i <= last; i++) {
    let offset = i === resume?.cohort ? resume.offset : 0;
    if (offset === 0 && !(await gate.passOrWait(i, cfg.alwaysApprove))) return state;
    const cohort = state.cohorts[i]!;
    cohort.gate = 'running';
    const [start, end] = ranges[i]!;
    while (start + offset < end) {
      const users = await page(start + offset, Math.min(ROLLOUT_PAGE_USERS, end - start - offset));
      await migrateUsers(cfg, cohort, users);
      offset += users.length;
      startedThisRun += users.length;
      const more = start + offset < end || i < last;
      if (more && (startedThisRun >= ROLLOUT_CHILDREN_PER_RUN || workflowInfo().continueAsNewSuggested)) {
        await condition(allHandlersFinished);
        const next: Resume = { state, cohort: i, offset, usersFile };
        await continueAsNew<typeof stagedRollout>({ ...raw, resume: next as unknown as Record<string, unknown> });
      }
    }
    closeGate(cfg, cohort);
  }
  state.status = 'completed';
  return state;
}

/** Runs recorded before users were paged: one run, each cohort's users in one migratedUsers call. */
async function legacyRollout(cfg: RolloutConfig): Promise<RolloutStatus> {
  const groups = splitCohorts(cfg.users!, cfg.cohorts);
  const last = Math.min(cfg.throughCohort ?? groups.length - 1, groups.length - 1);
  const state: RolloutStatus = {
    status: 'running',
    waitingForApproval: null,
    cohorts: groups.map((g, index) => ({
      index,
      fraction: cfg.cohorts[index]!,
      users: g.length,
      skipped: 0,
      migrated: 0,
      failed: 0,
      rolledBack: 0,
      rollbackFailed: 0,
      gate: 'pending',
      failures: [],
    })),
  };
  const gate = installGate(state);
  for (let i = 0; i <= last; i++) {
    if (!(await gate.passOrWait(i, cfg.alwaysApprove))) return state;
    const cohort = state.cohorts[i]!;
    cohort.gate = 'running';
    await migrateUsers(cfg, cohort, groups[i]!);
    closeGate(cfg, cohort);
  }
  state.status = 'completed';
  return state;
}

/** A cohort passes its gate when its failure rate is within the limit and nothing failed to roll back. */
function closeGate(cfg: RolloutConfig, cohort: CohortState): void {
  const attempted = cohort.migrated + cohort.failed;
  const rate = attempted === 0 ? 0 : cohort.failed / attempted;
  cohort.gate = rate <= cfg.maxFailureRate && cohort.rollbackFailed === 0 ? 'passed' : 'failed';
}

/** One page of a cohort: skip users already migrated, run the others as children, count outcomes. */
async function migrateUsers(cfg: RolloutConfig, cohort: CohortState, users: RolloutUser[]): Promise<void> {
  const { bookkeeping } = activitiesFor(30_000);
  const done = new Set(await bookkeeping.migratedUsers({ target: cfg.target, userIds: users.map((u) => u.userId) }));
  const todo = users.filter((u) => !done.has(u.userId.toLowerCase()));
  cohort.skipped += users.length - todo.length;
  await boundedWindow(todo, cfg.concurrency, async (u) => {
    try {
      await executeChild<typeof migrationWorkflow>('migrationWorkflow', {
        workflowId: migrationWorkflowId({ target: cfg.target, userId: u.userId }),
        parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
        memo: { source: u.source.split('/').pop() ?? u.source, target: cfg.target, cohort: cohort.index },
        args: [
          {
            ...cfg.migration,
            source: u.source,
            userId: u.userId,
            target: cfg.target,
            keyring: cfg.keyring,
          } as Parameters<typeof migrationWorkflow>[0],
        ],
      });
      cohort.migrated++;
    } catch (err) {
      const f = innermostFailure(err);
      cohort.failed++;
      if (f.type === 'RolledBack') cohort.rolledBack++;
      if (f.type === 'ROLLBACK_FAILED') cohort.rollbackFailed++;
      if (cohort.failures.length < ROLLOUT_FAILURES_KEPT) cohort.failures.push({ userId: u.userId, ...f });
    }
  });
}

/** The gate between cohorts: the status query and the approve / reject Updates. */
export function installGate(state: RolloutStatus) {
  let decision: 'approved' | 'rejected' | null = null;
  setHandler(rolloutStatusQuery, () => state);
  const waiting = () => assertState(state.waitingForApproval !== null, 'nothing is waiting for approval');
  setHandler(
    approveUpdate,
    () => {
      decision = 'approved';
      return { approved: true as const, cohort: state.waitingForApproval! };
    },
    { validator: (_note: string | undefined) => waiting() },
  );
  setHandler(
    rejectUpdate,
    () => {
      decision = 'rejected';
      return { rejected: true as const, cohort: state.waitingForApproval! };
    },
    { validator: (_reason: string | undefined) => waiting() },
  );
  return {
    /** Before cohort i: waits for an operator when the previous gate failed (or always); false when rejected. */
    async passOrWait(i: number, alwaysApprove: boolean): Promise<boolean> {
      const previous = state.cohorts[i - 1];
      if (!previous || (previous.gate !== 'failed' && !alwaysApprove)) return true;
      state.status = 'waiting-for-approval';
      state.waitingForApproval = i;
      decision = null;
      await condition(() => decision !== null);
      state.waitingForApproval = null;
      if (decision === 'rejected') {
        previous.gate = 'rejected';
        state.status = 'rejected';
        return false;
      }
      if (previous.gate === 'failed') previous.gate = 'approved';
      state.status = 'running';
      return true;
    },
  };
}
