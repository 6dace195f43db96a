// Activity stubs with timeouts and retry policies per kind of step.
import { proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { NON_RETRYABLE_TYPES } from '../lib/errors';

const retry = { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s', nonRetryableErrorTypes: [...NON_RETRYABLE_TYPES] };

export function activitiesFor(heartbeatTimeoutMs: number) {
  const short: ActivityOptions = { startToCloseTimeout: '2m', retry: { ...retry, maximumAttempts: 5 } };
  const long: ActivityOptions = { startToCloseTimeout: '2h', heartbeatTimeout: heartbeatTimeoutMs, retry: { ...retry, maximumAttempts: 10 } };
  // Compensations: retried, but bounded so a rollback that cannot finish ends as ROLLBACK_FAILED.
  const compensation: ActivityOptions = { startToCloseTimeout: '1h', heartbeatTimeout: heartbeatTimeoutMs, retry: { ...retry, maximumAttempts: 6 } };
  return {
    short: proxyActivities<Activities>(short),
    long: proxyActivities<Activities>(long),
    compensation: proxyActivities<Activities>(compensation),
  };
}
