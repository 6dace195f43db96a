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
    readonly code:
      | 'NOT_FOUND'
      | 'INTEGRITY'
      | 'SCHEMA_VERSION'
      | 'MISSING_TABLE'
      | 'NOT_A_FILE'
      | 'UNREADABLE'
      | 'EMPTY'
      | 'NOT_SQLITE',
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

/**
 * Workflow input asked for a capability the worker's configuration does not grant: a target, keyring,
 * health source or webhook name it does not declare, or a source path outside its source directories.
 * `field` names the input field; the message names the offending name, never a DSN, URL or key.
 */
export class NotPermittedError extends MigrationError {
  readonly type = 'NotPermitted';
  readonly nonRetryable = true;
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`not permitted ${field}: ${message}`);
  }
}

/**
 * The run cannot prove the keyring entry or the source file belongs to its user (docs/security.md
 * "Source files and keys belong to their user"): refused before anything is written. `field` names the
 * input to fix (`keyring`, `source`, `userId`); `code` says which proof failed.
 */
export class OwnershipError extends MigrationError {
  readonly type = 'OwnershipRefused';
  readonly nonRetryable = true;
  constructor(
    readonly field: 'keyring' | 'source' | 'userId',
    readonly code:
      | 'KEY_OPENS_NO_TARGET_ROW'
      | 'KEY_DIFFERS_FROM_REGISTERED'
      | 'SOURCE_MARKED_FOR_OTHER_USER'
      | 'SOURCE_REGISTERED_TO_OTHER_USER'
      | 'SOURCE_UNMARKED',
    message: string,
  ) {
    super(`ownership refused (${code}) ${field}: ${message}`);
  }
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

/** A rollback would delete or change rows the run did not create (the app's rows that reference
 * rows the run created): nothing of that table was deleted; the operator decides. */
export class RollbackBlockedError extends MigrationError {
  readonly type = 'RollbackBlocked';
  readonly nonRetryable = true;
}

/**
 * A clean (removeRunRows) of a run whose rows a later run of the same user validated and completed
 * over: they are that run's data now. Nothing was deleted; `supersededBy` names the later run(s).
 */
export class RunSupersededError extends MigrationError {
  readonly type = 'RunSuperseded';
  readonly nonRetryable = true;
  constructor(
    readonly runId: string,
    readonly supersededBy: string[],
  ) {
    super(
      `run ${runId} is superseded by run ${supersededBy.join(', ')}, which completed over its rows and validated them: ` +
        `they are that run's data now, so nothing was removed (a rollback of run ${supersededBy.join(', ')} hands them back)`,
    );
  }
}

/** Failure types no retry policy should retry. */
export const NON_RETRYABLE_TYPES = [
  'InvalidInput',
  'SourceInvalid',
  'TargetIdentity',
  'SecretReference',
  'NotPermitted',
  'OwnershipRefused',
  'ValidationFailed',
  'QuarantineThresholdExceeded',
  'LeaseLost',
  'RollbackBlocked',
  'RunSuperseded',
  'LeaseReleaseTimeout',
  'InjectedFault',
  'CutoverBudgetExceeded',
  'RolledBack',
  'ROLLBACK_FAILED',
  'BackupInsufficientSpace',
] as const;

/** The run lease is held by another run of the same user, or was released under a running chunk. */
export class LeaseError extends MigrationError {
  readonly type = 'LeaseLost';
  readonly nonRetryable = true;
}

/**
 * releaseLease waited its bounded attempts (each up to lock_timeout) and the lease row is still locked.
 * Non-retryable: the attempts outlast the idle-in-transaction timeout, so the holder is not a dead
 * worker's transaction but a live session the operator must look at (`holders` names it).
 */
export class LeaseReleaseTimeout extends MigrationError {
  readonly type = 'LeaseReleaseTimeout';
  readonly nonRetryable = true;
  constructor(
    readonly runId: string,
    readonly holders: {
      pid: number;
      applicationName: string;
      clientAddr: string | null;
      state: string | null;
      xactStart: string | null;
    }[],
    waitedMs: number,
  ) {
    const who = holders.length
      ? holders
          .map(
            (h) =>
              `pid ${h.pid} (application_name ${JSON.stringify(h.applicationName)}, client ${h.clientAddr ?? 'local'}, ${h.state ?? 'unknown state'}, transaction since ${h.xactStart ?? '?'})`,
          )
          .join('; ')
      : 'a backend that ended before it could be named';
    super(
      `the lease of run ${runId} could not be released within ${Math.round(waitedMs / 1000)} s: its row is locked by ${who}; end it with SELECT pg_terminate_backend(<pid>) once it is known to be stale`,
    );
  }
}

/** A child process (pg_dump, pg_restore, an integrity check) failed. Carries the tail of its stderr. */
export class ChildProcessError extends MigrationError {
  readonly type = 'ChildProcessFailed';
  readonly nonRetryable = false;
  constructor(
    readonly tool: string,
    readonly exitCode: number | null,
    readonly signal: string | null,
    readonly stderrTail: string,
    what: string,
  ) {
    super(
      `${what}: ${tool} ${signal ? `was killed by ${signal}` : `exited with code ${exitCode}`}${stderrTail ? `: ${stderrTail}` : ''}`,
    );
  }
}

/** The backup filesystem lacks room for a backup. Not retried: someone has to free or add space. */
export class InsufficientSpaceError extends MigrationError {
  readonly type = 'BackupInsufficientSpace';
  readonly nonRetryable = true;
  constructor(
    readonly directory: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
    what: string,
  ) {
    super(
      `not enough free space for ${what} in ${directory}: about ${neededBytes} bytes needed, ${availableBytes} available; free space or set MIGRATOR_BACKUP_DIR to a larger filesystem`,
    );
  }
}

/**
 * The target database ran out of disk space (SQLSTATE 53100, disk_full) while the run wrote to it.
 * Retryable, with the data work's backoff: the statement's transaction rolled back whole (no
 * half-written chunk), so once space is freed the retry commits; if it does not come back within
 * the activity's attempts the run rolls back, which deletes and needs no new space in the app's tables.
 */
export class TargetDiskFullError extends MigrationError {
  readonly type = 'TargetDiskFull';
  readonly nonRetryable = false;
  constructor(
    readonly what: string,
    detail: string,
  ) {
    super(
      `the target database is out of disk space (SQLSTATE 53100) while ${what}: ${detail}; free space on the target's ` +
        `filesystem or tablespace: the step is retried with backoff, and the run rolls back if space does not come back`,
    );
  }
}

/** `err` as a TargetDiskFullError when PostgreSQL reported disk_full (53100); otherwise unchanged. */
export function asTargetDiskFull(err: unknown, what: string): unknown {
  const e = err as { code?: unknown; message?: unknown } | null;
  return e?.code === '53100' ? new TargetDiskFullError(what, String(e.message ?? '')) : err;
}

/**
 * The backup directory's filesystem filled up while a backup was being written, after the free-space
 * check had passed (something else writes to that filesystem). The partial file is removed; the retry
 * checks the free space again and refuses with BackupInsufficientSpace while it is still short.
 */
export class BackupDirectoryFullError extends MigrationError {
  readonly type = 'BackupDirectoryFull';
  readonly nonRetryable = false;
  constructor(
    readonly directory: string,
    what: string,
    cause: string,
  ) {
    super(
      `the backup directory ${directory} is full: writing ${what} ran out of space ("No space left on device") after ` +
        `the free-space check had passed (${cause}); the partial file was removed and nothing was verified. Free space ` +
        `there or set MIGRATOR_BACKUP_DIR to a larger filesystem (the next attempt checks the free space again)`,
    );
  }
}

/**
 * `err` as a BackupDirectoryFullError when it is a full filesystem (ENOSPC, SQLITE_FULL, a child's
 * ENOSPC), or when the caller found the filesystem full (`filesystemFull`) after a step failed for
 * another stated reason (a tool that did not report its ENOSPC); otherwise unchanged.
 */
export function asBackupDirectoryFull(err: unknown, directory: string, what: string, filesystemFull = false): unknown {
  // The free-space check's refusal stays what it is (not retried) even though the filesystem is full now:
  // it wrote nothing, and retrying cannot help until someone frees space.
  if (err instanceof BackupDirectoryFullError || err instanceof InsufficientSpaceError) return err;
  const e = err as { code?: unknown; message?: unknown } | null;
  const full =
    filesystemFull ||
    e?.code === 'ENOSPC' ||
    e?.code === 'SQLITE_FULL' ||
    (err instanceof ChildProcessError && /No space left on device/i.test(err.stderrTail));
  return full ? new BackupDirectoryFullError(directory, what, String(e?.message ?? err).slice(0, 300)) : err;
}
/** A write-freeze hook (worker config `freezeHooks`) did not acknowledge: it failed or timed out. Retryable. */
export class FreezeHookError extends MigrationError {
  readonly type = 'FreezeHookFailed';
  readonly nonRetryable = false;
  constructor(
    readonly hook: string,
    readonly action: 'freeze' | 'unfreeze' | 'switch' | 'unswitch',
    reason: string,
  ) {
    super(`write-freeze hook "${hook}" (${action}): ${reason}`);
  }
}

/** Every cut-over attempt kept writes frozen longer than the budget (or found too much to apply under it). No
 * longer thrown by the cut-over (it holds for the operator instead); kept for the failures of older runs. */
export class CutoverBudgetExceededError extends MigrationError {
  readonly type = 'CutoverBudgetExceeded';
  readonly nonRetryable = true;
  readonly field = 'online.cutover.budgetMs';
  constructor(
    readonly budgetMs: number,
    readonly attempts: number,
    detail: string,
  ) {
    super(
      `cut-over: ${attempts} attempts could not finish within online.cutover.budgetMs = ${budgetMs} ms (${detail}); raise the budget, lower the write rate, or run offline`,
    );
  }
}
