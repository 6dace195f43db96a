// Reason codes for quarantined and repaired rows. They are stored in migration_quarantine.reason_code
// and in the bridge tables' error_code column; they never carry user content.
export const QuarantineReason = {
  /** A text column holds bytes that are not valid UTF-8. Carried nowhere, never replaced with U+FFFD. */
  INVALID_UTF8: 'INVALID_UTF8',
  /** Text PostgreSQL cannot store (a NUL character), in a text or jsonb column. */
  UNSUPPORTED_TEXT: 'UNSUPPORTED_TEXT',
  /** A JSON column that does not parse, or does not have the required shape (labels must be an array). */
  INVALID_JSON: 'INVALID_JSON',
  /** A JSON integer beyond ±2^53, or a number beyond the double range, that cannot be carried exactly. */
  UNSUPPORTED_NUMBER: 'UNSUPPORTED_NUMBER',
  /** An integer enum (note_type, task status) outside the known values. Never coerced to a default. */
  INVALID_ENUM: 'INVALID_ENUM',
  /** A timestamp that is not a number/ISO-8601 text, or outside the plausible window (e.g. milliseconds stored as seconds). */
  TIMESTAMP_OUT_OF_RANGE: 'TIMESTAMP_OUT_OF_RANGE',
  /** A required reference (task → note, note_folder → note/folder) that does not exist in the target. */
  MISSING_REFERENCE: 'MISSING_REFERENCE',
  /** A value of the wrong storage class (e.g. a blob where an integer belongs), or a NULL in a NOT NULL column. */
  INVALID_VALUE: 'INVALID_VALUE',
  /** A row whose columns together exceed MAX_ROW_BYTES (lib/defaults.ts); detail holds its size only. */
  ROW_TOO_LARGE: 'ROW_TOO_LARGE',
  /** The target id already belongs to another user: never overwritten. */
  ID_CONFLICT: 'ID_CONFLICT',
} as const;
export type QuarantineReason = (typeof QuarantineReason)[keyof typeof QuarantineReason];

export const RepairReason = {
  /** An optional parent (task parent_task_id, folder parent_id) that does not exist: set to NULL. */
  PARENT_MISSING: 'PARENT_MISSING',
} as const;
export type RepairReason = (typeof RepairReason)[keyof typeof RepairReason];

/** Row-level codes the target itself can add (a constraint the mapping did not foresee). */
export const TargetRejection = {
  /** PostgreSQL refused the row (SQLSTATE class 22/23); detail holds the SQLSTATE only. */
  TARGET_REJECTED: 'TARGET_REJECTED',
} as const;
