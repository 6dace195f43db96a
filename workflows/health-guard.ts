// The health guard: durable timers and a reading per interval, beside the transfer and through a
// soak window. It only measures and reports a trigger; the migration workflow rolls back.
import { CancellationScope, isCancellation, sleep } from '@temporalio/workflow';
import type { Counters, HealthReading } from '../activities';
import type { HealthConfig } from '../lib/input';
import { activitiesFor } from './activity-options';

export interface GuardHandle {
  /** Resolves with the trigger's reason when one fires; never resolves otherwise. */
  triggered: Promise<string>;
  stop(): void;
}

export function startHealthGuard(options: {
  target: string;
  userId: string;
  health: HealthConfig;
  baselineMs: number;
  heartbeatTimeoutMs: number;
  onReading: (r: HealthReading) => void;
}): GuardHandle {
  const { bookkeeping } = activitiesFor(options.heartbeatTimeoutMs);
  const scope = new CancellationScope();
  let resolveTrigger: (reason: string) => void = () => undefined;
  const triggered = new Promise<string>((resolve) => (resolveTrigger = resolve));
  let previous: Record<string, Counters> = {};
  scope
    .run(async () => {
      for (;;) {
        await sleep(options.health.intervalMs);
        const reading = await bookkeeping.healthCheck({ target: options.target, userId: options.userId, baselineMs: options.baselineMs, health: options.health, previous });
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
  return { triggered, stop: () => scope.cancel() };
}
