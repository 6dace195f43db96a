// The migration's phases in the order the driver runs them (then the soak, phases/soak.ts).
import type { MigrationConfig } from '../../lib/input';
import { backupPhase } from './backup';
import { capturePhase, releaseCapturePhase } from './capture';
import { cutoverPhase } from './cutover';
import { deltaPhase } from './delta';
import { indexesPhase } from './indexes';
import type { Phase } from './phase';
import { postMigrationPhase } from './post-migration';
import { preflightPhase } from './preflight';
import { schemaPhase } from './schema';
import { transferPhase } from './transfer';
import { validationPhase } from './validation';

export const PHASES: readonly Phase[] = [
  preflightPhase,
  backupPhase,
  schemaPhase,
  indexesPhase,
  transferPhase,
  validationPhase,
  postMigrationPhase,
];

/**
 * The phases of one run. Online runs (input online.enabled) add capture before transfer, delta and
 * cutover after it and release-capture after validation; offline runs get exactly PHASES (their histories replay).
 */
export function phasesFor(cfg: Pick<MigrationConfig, 'online'>): readonly Phase[] {
  if (!cfg.online.enabled) return PHASES;
  return PHASES.flatMap((p) => {
    if (p === transferPhase) return [capturePhase, p, deltaPhase, cutoverPhase];
    if (p === validationPhase) return [p, releaseCapturePhase];
    return [p];
  });
}
export type { Phase, PhaseContext } from './phase';
