// The health guard: durable timers and a reading per interval, beside the transfer and through a
// soak window. It only measures and reports a trigger; the migration workflow rolls back.
//
// It runs as its own child workflow (healthGuardWorkflow) that continues-as-new every
// GUARD_READINGS_PER_RUN readings, so the migration's history does not grow with time: at a 1 s
// interval the in-workflow loop of earlier versions reached the 51,200-event limit in ~78 minutes,
// and a run paused for hours kept growing. Histories recorded before the child existed replay the
// in-workflow loop (patch 'health-guard-child').
import {
  CancellationScope,
  ChildWorkflowCancellationType,
  continueAsNew,
  executeChild,
  isCancellation,
  ParentClosePolicy,
  patched,
  setHandler,
  sleep,
  workflowInfo,
} from '@temporalio/workflow';
import type { Counters, HealthReading } from '../activities';
import { GUARD_READINGS_PER_RUN } from '../lib/defaults';
import { innermost } from '../lib/failures';
import type { HealthConfig } from '../lib/input';
import { activitiesFor } from './activity-options';
import { healthReadingQuery } from './definitions';

export interface GuardHandle {
  /** Resolves with the trigger's reason when one fires; never resolves otherwise. */
  triggered: Promise<string>;
  stop(): void;
  /** The guard's child workflow (query `healthReading` on it), or null for the in-workflow loop. */
  workflowId: string | null;
}

export interface HealthGuardInput {
  target: string;
  userId: string;
  health: HealthConfig;
  baselineMs: number;
  heartbeatTimeoutMs: number;
  /** Carried across continue-as-new: the last counters (differenced next time) and reading. */
  previous?: Record<string, Counters>;
  last?: HealthReading | null;
  readings?: number;
}

export interface HealthGuardResult {
  trigger: string;
  readings: number;
}

/** The guard as a child workflow: returns when a trigger fires; cancelled when the run is done with it. */
export async function healthGuardWorkflow(input: HealthGuardInput): Promise<HealthGuardResult> {
  const { bookkeeping } = activitiesFor(input.heartbeatTimeoutMs);
  let previous = input.previous ?? {};
  let last = input.last ?? null;
  let readings = input.readings ?? 0;
  setHandler(healthReadingQuery, () => ({ reading: last, readings }));
  for (let i = 0; ; i++) {
    if (i >= GUARD_READINGS_PER_RUN || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof healthGuardWorkflow>({ ...input, previous, last, readings });
    }
    await sleep(input.health.intervalMs);
    const reading = await bookkeeping.healthCheck({
      target: input.target,
      userId: input.userId,
      baselineMs: input.baselineMs,
      health: input.health,
      previous,
    });
    previous = reading.counters;
    last = reading;
    readings++;
    if (reading.trigger) return { trigger: reading.trigger, readings };
  }
}

export function startHealthGuard(options: {
  target: string;
  userId: string;
  health: HealthConfig;
  baselineMs: number;
  heartbeatTimeoutMs: number;
  onReading: (r: HealthReading) => void;
}): GuardHandle {
  if (!patched('health-guard-child')) return inWorkflowGuard(options);
  const scope = new CancellationScope();
  const workflowId = `${workflowInfo().workflowId}-health`;
  const { onReading: _unused, ...input } = options;
  const triggered = new Promise<string>((resolve) => {
    scope
      .run(() =>
        executeChild(healthGuardWorkflow, {
          workflowId,
          args: [input],
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          cancellationType: ChildWorkflowCancellationType.TRY_CANCEL,
        }),
      )
      .then((r) => resolve(r.trigger))
      .catch((err: unknown) => {
        if (!isCancellation(err)) resolve(`health guard failed: ${innermost(err)}`);
      });
  });
  return { triggered, stop: () => scope.cancel(), workflowId };
}

/** Runs recorded before the guard became a child workflow: the loop inside the migration's history. */
function inWorkflowGuard(options: Parameters<typeof startHealthGuard>[0]): GuardHandle {
  const { bookkeeping } = activitiesFor(options.heartbeatTimeoutMs);
  const scope = new CancellationScope();
  let resolveTrigger: (reason: string) => void = () => undefined;
  const triggered = new Promise<string>((resolve) => (resolveTrigger = resolve));
  let previous: Record<string, Counters> = {};
  scope
    .run(async () => {
      for (;;) {
        await sleep(options.health.intervalMs);
        const reading = await bookkeeping.healthCheck({
          target: options.target,
          userId: options.userId,
          baselineMs: options.baselineMs,
          health: options.health,
          previous,
        });
        previous = reading.counters;
        options.onReading(reading);
        if (reading.trigger) {
          resolveTrigger(reading.trigger);
          return;
        }
      }
    })
    .catch((err: unknown) => {
      if (!isCancellation(err)) resolveTrigger(`health guard failed: ${(err as Error).message}`);
    });
  return { triggered, stop: () => scope.cancel(), workflowId: null };
}
