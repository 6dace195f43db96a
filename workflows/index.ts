// The workflow bundle's entry: every workflow type the worker registers.
export { migrationWorkflow } from './migration';
export { transferTable } from './transfer-table';
export { stagedRollout } from './rollout';
export { healthGuardWorkflow } from './health-guard';
