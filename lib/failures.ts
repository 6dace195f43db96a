// Failures as they cross process boundaries: one cause-chain walker and one conversion from the
// typed errors of lib/errors.ts to the ApplicationFailure `type` retry policies can name. Pure:
// used by workflows, activities and the CLI alike.
import { ApplicationFailure } from '@temporalio/common';
import { MigrationError } from './errors';

interface Chained {
  message?: string;
  type?: string | null;
  cause?: unknown;
}

/** Every link of an error's cause chain, outermost first. */
export function causeChain(err: unknown): Chained[] {
  const links: Chained[] = [];
  let e = err as Chained | undefined;
  while (e && links.length < 32) {
    links.push(e);
    e = e.cause as Chained | undefined;
  }
  return links;
}

/** The innermost message and type (ActivityFailure → ApplicationFailure → …): the one that says what happened. */
export function innermostFailure(err: unknown): { type: string; message: string } {
  let out = { type: 'Failed', message: String(err) };
  for (const e of causeChain(err)) if (e.message) out = { type: e.type ?? out.type, message: e.message };
  return out;
}

export function innermost(err: unknown): string {
  return innermostFailure(err).message;
}

/** A typed error becomes an ApplicationFailure of its type; anything else is returned unchanged. */
export function toApplicationFailure(err: unknown): unknown {
  if (err instanceof MigrationError) {
    // An input refusal carries the field it names, so clients need not parse the message.
    const field = (err as { field?: unknown }).field;
    return ApplicationFailure.create({
      type: err.type,
      message: err.message,
      nonRetryable: err.nonRetryable,
      ...(typeof field === 'string' ? { details: [{ field }] } : {}),
    });
  }
  return err;
}
