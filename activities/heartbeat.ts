// Heartbeat when running as an activity; a no-op when the same code runs from the runbook CLI.
import { Context } from '@temporalio/activity';

export function beat(details?: unknown): void {
  try {
    Context.current().heartbeat(details);
  } catch {
    /* not inside an activity */
  }
}
