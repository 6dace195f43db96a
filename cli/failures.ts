// The innermost useful message of a workflow failure (ActivityFailure → ApplicationFailure …).
import { causeChain } from '../lib/failures';

const WRAPPERS = /^(Workflow execution failed|Activity task failed|Child Workflow execution failed)$/;

export function failureMessage(err: unknown): string {
  const parts = causeChain(err)
    .filter((e) => e.message && !WRAPPERS.test(e.message))
    .map((e) => (e.type ? `${e.type}: ${e.message}` : e.message!));
  return parts.at(-1) ?? String(err);
}
