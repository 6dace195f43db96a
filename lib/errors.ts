// Typed errors, one per failure mode, each mapped to an ApplicationFailure `type` so retry
// policies can list the non-retryable ones (docs/conventions.md §4). Activities throw these;
// lib/failures.ts turns them into ApplicationFailures.

export abstract class MigrationError extends Error {
  /** The ApplicationFailure type this error becomes. */
  abstract readonly type: string;
  /** True when retrying cannot help (bad input, wrong database, corrupt source). */
  abstract readonly nonRetryable: boolean;
}

/** A workflow input or CLI argument is invalid. `field` names it. */
export class InvalidInputError extends MigrationError {
  readonly type = 'InvalidInput';
  readonly nonRetryable = true;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`invalid input ${field}: ${message}`);
  }
}

/** The source file is not a usable Drift v12 database (missing, unreadable, not SQLite, corrupt, wrong schema). */
export class SourceError extends MigrationError {
  readonly type = 'SourceInvalid';
  readonly nonRetryable = true;
  constructor(
    readonly code: 'NOT_FOUND' | 'INTEGRITY' | 'SCHEMA_VERSION' | 'MISSING_TABLE' | 'NOT_A_FILE' | 'UNREADABLE' | 'EMPTY' | 'NOT_SQLITE',
    message: string,
  ) {
    super(message);
  }
}

/** The target database is not the one the run was told to migrate into. */
export class TargetIdentityError extends MigrationError {
  readonly type = 'TargetIdentity';
  readonly nonRetryable = true;
}

/** A secret reference (env:NAME, file:PATH) cannot be resolved. */
export class SecretReferenceError extends MigrationError {
  readonly type = 'SecretReference';
  readonly nonRetryable = true;
}

/** A backup could not be taken or did not verify. Retryable: disks and servers recover. */
export class BackupError extends MigrationError {
  readonly type = 'BackupFailed';
  readonly nonRetryable = false;
}

/** Validation found a mismatch between source and target. */
export class ValidationError extends MigrationError {
  readonly type = 'ValidationFailed';
  readonly nonRetryable = true;
  constructor(
    message: string,
    readonly failures: string[],
  ) {
    super(message);
  }
}

/** Too many rows were quarantined. */
export class QuarantineThresholdError extends MigrationError {
  readonly type = 'QuarantineThresholdExceeded';
  readonly nonRetryable = true;
}

/** Failure types no retry policy should retry. */
export const NON_RETRYABLE_TYPES = [
  'InvalidInput',
  'SourceInvalid',
  'TargetIdentity',
  'SecretReference',
  'ValidationFailed',
  'QuarantineThresholdExceeded',
  'LeaseLost',
  'InjectedFault',
  'RolledBack',
  'ROLLBACK_FAILED',
] as const;

/** The run lease is held by another run of the same user, or was released under a running chunk. */
export class LeaseError extends MigrationError {
  readonly type = 'LeaseLost';
  readonly nonRetryable = true;
}
