// stagedRollout: many users' source files into one target, in cohorts (default 1 %, 10 %, 50 %,
// 100 % of the manifest). Each cohort's migrations run as child workflows with bounded concurrency;
// the next cohort starts only when the previous one passed its gate (failure rate, no
// ROLLBACK_FAILED), or when an operator approves with the `approve` Update. Users already migrated
// into the target are skipped, so re-running a manifest (or a scheduled later stage) is safe.
import { condition, executeChild, ParentClosePolicy, patched, setHandler } from '@temporalio/workflow';
import { innermostFailure, toApplicationFailure } from '../lib/failures';
import { migrationWorkflowId, parseRolloutInput, splitCohorts, type RolloutConfig, type RolloutInput } from '../lib/input';
import { activitiesFor } from './activity-options';
import type { migrationWorkflow } from './migration';
import { assertState } from './assert';
import { approveUpdate, rejectUpdate, rolloutStatusQuery, type RolloutStatus } from './definitions';
import { boundedWindow } from './window';

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
  const { bookkeeping } = activitiesFor(30_000);
  const groups = splitCohorts(cfg.users, cfg.cohorts);
  const last = Math.min(cfg.throughCohort ?? groups.length - 1, groups.length - 1);
  const state: RolloutStatus = {
    status: 'running',
    waitingForApproval: null,
    cohorts: groups.map((g, index) => ({ index, fraction: cfg.cohorts[index]!, users: g.length, skipped: 0, migrated: 0, failed: 0, rolledBack: 0, rollbackFailed: 0, gate: 'pending', failures: [] })),
  };
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

  for (let i = 0; i <= last; i++) {
    const previous = state.cohorts[i - 1];
    if (previous && (previous.gate === 'failed' || cfg.alwaysApprove)) {
      state.status = 'waiting-for-approval';
      state.waitingForApproval = i;
      decision = null;
      await condition(() => decision !== null);
      state.waitingForApproval = null;
      if (decision === 'rejected') {
        previous.gate = 'rejected';
        state.status = 'rejected';
        return state;
      }
      if (previous.gate === 'failed') previous.gate = 'approved';
      state.status = 'running';
    }
    const cohort = state.cohorts[i]!;
    cohort.gate = 'running';
    const users = groups[i]!;
    const done = new Set(await bookkeeping.migratedUsers({ target: cfg.target, userIds: users.map((u) => u.userId) }));
    const todo = users.filter((u) => !done.has(u.userId.toLowerCase()));
    cohort.skipped = users.length - todo.length;
    await boundedWindow(todo, cfg.concurrency, async (u) => {
      try {
        await executeChild<typeof migrationWorkflow>('migrationWorkflow', {
          workflowId: migrationWorkflowId({ target: cfg.target, userId: u.userId }),
          parentClosePolicy: ParentClosePolicy.REQUEST_CANCEL,
          memo: { source: u.source.split('/').pop() ?? u.source, target: cfg.target, cohort: i },
          args: [{ ...cfg.migration, source: u.source, userId: u.userId, target: cfg.target, keyring: cfg.keyring } as Parameters<typeof migrationWorkflow>[0]],
        });
        cohort.migrated++;
      } catch (err) {
        const f = innermostFailure(err);
        cohort.failed++;
        if (f.type === 'RolledBack') cohort.rolledBack++;
        if (f.type === 'ROLLBACK_FAILED') cohort.rollbackFailed++;
        cohort.failures.push({ userId: u.userId, ...f });
      }
    });
    const attempted = cohort.migrated + cohort.failed;
    const rate = attempted === 0 ? 0 : cohort.failed / attempted;
    cohort.gate = rate <= cfg.maxFailureRate && cohort.rollbackFailed === 0 ? 'passed' : 'failed';
  }
  state.status = 'completed';
  return state;
}
