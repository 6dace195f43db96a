// Aborting a run from a test: the operator's abort Update, then the run's failure, which must be of
// the type the test expects (RolledBack, ROLLBACK_FAILED, Aborted).
import { ApplicationFailure, WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { expect } from 'vitest';
import { causeChain } from '../../lib/failures';
import { abortUpdate } from '../../workflows/definitions';

export async function abortExpecting(
  handle: WorkflowHandle,
  type: string,
  reason: string,
): Promise<ApplicationFailure> {
  await handle.executeUpdate(abortUpdate, { args: [reason] });
  const err = await handle.result().then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WorkflowFailedError);
  const failure = causeChain(err).find((e) => e instanceof ApplicationFailure) as ApplicationFailure;
  expect(failure.type).toBe(type);
  return failure;
}
