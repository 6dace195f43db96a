// All activities, built from the worker's shared dependencies (docs/conventions.md §2).
import { toApplicationFailure } from '../lib/failures';
import { createBackupActivities } from './backup';
import { createCaptureActivities } from './capture';
import { createCutoverActivities } from './cutover';
import { createDeltaActivities } from './delta';
import type { ActivityDeps } from './deps';
import { createFreezeActivities } from './freeze';
import { createFullBackupActivities } from './full-backup';
import { createHealthActivities } from './health';
import { createIndexActivities } from './indexes';
import { createLoadActivities } from './load';
import { createLeaseActivities } from './lease';
import { createRollbackActivities } from './rollback';
import { createRolloutActivities } from './rollout';
import { createOptimizeActivities } from './optimize';
import { createOwnershipActivities } from './ownership';
import { createPreImageActivities } from './pre-image';
import { createPreflightActivities } from './preflight';
import { createSchemaActivities } from './schema';
import { createTransferActivities } from './transfer';
import { createValidateActivities } from './validate';

/** Typed errors become ApplicationFailures whose `type` retry policies can name (docs/conventions.md §4). */
function mapErrors<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const wrapped: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    wrapped[name] = async (...args: never[]) => {
      try {
        return await fn(...args);
      } catch (err) {
        throw toApplicationFailure(err);
      }
    };
  }
  return wrapped as T;
}

export function createActivities(deps: ActivityDeps) {
  return mapErrors({
    ...createPreflightActivities(deps),
    ...createBackupActivities(deps),
    ...createFullBackupActivities(deps),
    ...createPreImageActivities(deps),
    ...createSchemaActivities(deps),
    ...createIndexActivities(deps),
    ...createTransferActivities(deps),
    ...createValidateActivities(deps),
    ...createOptimizeActivities(deps),
    ...createLeaseActivities(deps),
    ...createRollbackActivities(deps),
    ...createHealthActivities(deps),
    ...createRolloutActivities(deps),
    ...createCaptureActivities(deps),
    ...createDeltaActivities(deps),
    ...createCutoverActivities(deps),
    ...createFreezeActivities(deps),
    ...createLoadActivities(deps),
    ...createOwnershipActivities(deps),
  });
}

export type Activities = ReturnType<typeof createActivities>;
export type { ActivityDeps } from './deps';
export type { BackupRecord } from './backup';
export type { ChunkBounds, ChunkResult } from './transfer';
export type { PreflightResult } from './preflight';
export type { OwnershipProof } from './ownership';
export type { TableValidation } from './validate';
export type { CaptureInstalled } from './capture';
export type { DeltaPassResult, ExpectedTable } from './delta';
export type { CutoverAttemptResult, CutoverOutcome } from './cutover';
export type { IndexResult } from './indexes';
export type { HealthReading, Counters } from './health';
