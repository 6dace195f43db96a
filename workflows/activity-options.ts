// Activity stubs, named by what the steps they run are for, each with its timeouts and retries.
import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_TYPES } from '../lib/errors';

const retry = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES],
};

export function activitiesFor(heartbeatTimeoutMs: number) {
  /** Short bookkeeping: preflight, schema, lease, logs, reference checks, health readings. */
  const bookkeeping: ActivityOptions = { startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 5 } };
  /** Data work that takes long and heartbeats: backups, index builds, chunks, validation. */
  const dataWork: ActivityOptions = {
    startToCloseTimeout: '2h',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { ...retry, maximumAttempts: 10 },
  };
  /** Compensations: retried, but bounded so a rollback that cannot finish ends as ROLLBACK_FAILED. */
  const compensations: ActivityOptions = {
    startToCloseTimeout: '1h',
    heartbeatTimeout: heartbeatTimeoutMs,
    retry: { ...retry, maximumAttempts: 6 },
  };
  /** A cut-over attempt: data work whose cancellation (an abort) is awaited, so the rollback starts
   * only once the attempt released the source's lock and unfroze the app. */
  const cutover: ActivityOptions = {
    ...dataWork,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  };
  return {
    bookkeeping: proxyActivities<Activities>(bookkeeping),
    cutover: proxyActivities<Activities>(cutover),
    dataWork: proxyActivities<Activities>(dataWork),
    compensations: proxyActivities<Activities>(compensations),
  };
}

export type ActivityStubs = ReturnType<typeof activitiesFor>;
