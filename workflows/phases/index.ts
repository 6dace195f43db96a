// The migration's phases in the order the driver runs them (then the soak, phases/soak.ts).
import { backupPhase } from './backup';
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
export type { Phase, PhaseContext } from './phase';
