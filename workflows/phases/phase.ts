// The contract every phase keeps: its name, its forward step, the compensations that undo it
// (pushed on the saga before the step runs, since a step can stop half-way), and what it proves
// once the step returned. The driver (workflows/migration.ts) runs the list in order.
import type { OnlinePhaseName, PhaseName } from '../definitions';
import type { ActivityStubs } from '../activity-options';
import type { RunState } from '../run-state';
import type { Compensation } from '../saga';

export interface PhaseContext {
  run: RunState;
  acts: ActivityStubs;
  /** Writes an event to migration_log once the control tables exist (a no-op before). */
  log(phase: string, status: 'started' | 'completed' | 'failed' | 'info' | 'closed', message?: string): Promise<void>;
  /** Cancels the forward path (abort, health trigger): the driver then rolls back. */
  stop(reason: string, cause: 'abort' | 'health'): void;
}

export interface Phase {
  readonly name: PhaseName | OnlinePhaseName;
  /** Whether the phase runs in a dry run (which writes nothing). */
  readonly inDryRun: boolean;
  /** The compensations of this phase's effects, pushed before `step` runs. Empty: see `undoneBy`. */
  undo(ctx: PhaseContext): Compensation[];
  /** For a phase with effects but no compensation of its own: what undoes them, in words. */
  readonly undoneBy: string;
  step(ctx: PhaseContext): Promise<void>;
  /** What holds once `step` returned (checked inside `step` where it must stop early). */
  readonly proves: string;
}
