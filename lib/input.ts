// The migration workflow's single JSON input (the Web UI accepts one JSON payload), validated
// with errors that name the bad field. Secrets are references only: `env:NAME` / `file:PATH`.
import { z } from 'zod';
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_CHUNK_ROWS,
  MAX_CHUNK_BYTES,
  MAX_CHUNK_ROWS,
  MIN_CHUNK_BYTES,
  MIN_CHUNK_ROWS,
  DEFAULT_CHUNKS_PER_EXECUTION,
  DEFAULT_ERROR_RATE_THRESHOLD,
  DEFAULT_HEALTH_INTERVAL_MS,
  DEFAULT_LATENCY_FACTOR,
  DEFAULT_MIN_LATENCY_DELTA_MS,
  DEFAULT_MIN_SAMPLES,
  DEFAULT_SOAK_MS,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_PARALLELISM,
  DEFAULT_QUARANTINE_THRESHOLD,
  DEFAULT_SAMPLE_SIZE,
  ROLLOUT_INLINE_USERS_MAX,
} from './defaults';
import { InvalidInputError } from './errors';

// Lower-cased: PostgreSQL prints uuids in lower case, and user_id is part of every checksum.
const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a uuid')
  .transform((s) => s.toLowerCase());

export const TargetRef = z
  .string()
  .regex(/^env:[A-Za-z_][A-Za-z0-9_]*$/, 'must be env:NAME, the name of an environment variable holding the DSN (never the DSN itself)');
export const KeyringRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:.+)$/, 'must be file:PATH or env:NAME of a JSON keyring {"<userId>": "<base64 key>"}');

const HealthSource = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sql'),
      /** env:NAME of the database holding the app's metrics (default: the target). */
      database: TargetRef.optional(),
      /** One row with numeric columns `errors` and `requests` for the latest interval. */
      query: z.string().min(1),
    })
    .strict(),
  z
    .object({
      kind: z.literal('prometheus'),
      /** A Prometheus text-format endpoint; counters are differenced between readings. */
      url: z.string().url(),
      errorsMetric: z.string().min(1),
      totalMetric: z.string().min(1),
    })
    .strict(),
]);

export const HealthSchema = z
  .object({
    /** Time between readings (durable timers). */
    intervalMs: z.number().int().min(100).max(3_600_000).default(DEFAULT_HEALTH_INTERVAL_MS),
    /** How long the guard keeps watching after the migration's last phase before the run completes. */
    soakMs: z.number().int().min(0).max(86_400_000).default(DEFAULT_SOAK_MS),
    errorRateThreshold: z.number().min(0).max(1).default(DEFAULT_ERROR_RATE_THRESHOLD),
    latencyFactor: z.number().min(1).default(DEFAULT_LATENCY_FACTOR),
    /** A latency trigger also needs this absolute increase over the baseline (noise floor). */
    minLatencyDeltaMs: z.number().int().min(0).default(DEFAULT_MIN_LATENCY_DELTA_MS),
    /** Requests an interval must have before the error-rate trigger may fire. */
    minSamples: z.number().int().min(1).default(DEFAULT_MIN_SAMPLES),
    /** The built-in probe timing the app's benchmark queries against the target. */
    probe: z
      .object({ enabled: z.boolean().default(true), extraSql: z.string().optional() })
      .strict()
      .default({ enabled: true }),
    sources: z.array(HealthSource).default([]),
    /** Notified on rollback start, success and failure (JSON POST); always logged too. */
    webhookUrl: z.string().url().optional(),
  })
  .strict();

/** Rows per chunk: the one range every caller checks (input, the setChunkSize Update, the CLI). */
export const ChunkRows = z.number().int().min(MIN_CHUNK_ROWS).max(MAX_CHUNK_ROWS);

export const MigrationInputSchema = z
  .object({
    /** Path of the source SQLite file (one user's Drift v12 database), as the worker sees it. */
    source: z.string().min(1, 'must be a path to the source SQLite file'),
    /** The user who owns the source file; written to every target row. */
    userId: uuid,
    /** env:NAME of the variable holding the target PostgreSQL connection string. */
    target: TargetRef,
    /** Reference to the keyring holding the user's 32-byte account master key. */
    keyring: KeyringRef,
    chunkRows: ChunkRows.default(DEFAULT_CHUNK_ROWS),
    /** Source bytes per chunk: a chunk ends at chunkRows rows or this many bytes, whichever comes first. */
    chunkBytes: z.number().int().min(MIN_CHUNK_BYTES).max(MAX_CHUNK_BYTES).default(DEFAULT_CHUNK_BYTES),
    parallelism: z.number().int().min(1).max(64).default(DEFAULT_PARALLELISM),
    /** Fraction (0..1) of a table's rows that may be quarantined before the run fails. */
    quarantineThreshold: z.number().min(0).max(1).default(DEFAULT_QUARANTINE_THRESHOLD),
    sampleSize: z.number().int().min(0).max(100_000).default(DEFAULT_SAMPLE_SIZE),
    /** Transform and validate every row, report what would happen, write nothing. */
    dryRun: z.boolean().default(false),
    /** Expected current_database() of the target; the run refuses any other database. */
    expectDatabase: z.string().min(1).optional(),
    /** Chunks per transferTable execution before continue-as-new. */
    chunksPerExecution: z.number().int().min(1).max(10_000).default(DEFAULT_CHUNKS_PER_EXECUTION),
    heartbeatTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(DEFAULT_HEARTBEAT_TIMEOUT_MS),
    health: HealthSchema.default(() => HealthSchema.parse({})),
  })
  .strict();

export type MigrationInput = z.input<typeof MigrationInputSchema>;
export type MigrationConfig = z.output<typeof MigrationInputSchema>;
export type HealthConfig = z.output<typeof HealthSchema>;

/** Parses a workflow input; throws InvalidInputError naming the first bad field. */
export function parseMigrationInput(raw: unknown): MigrationConfig {
  if (raw && typeof raw === 'object' && 'faults' in raw) {
    throw new InvalidInputError('faults', 'fault injection is not accepted in workflow input; faults are planned on a worker started in test mode (docs/security.md)');
  }
  const result = MigrationInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.length ? issue.path.join('.') : issue.code === 'unrecognized_keys' ? issue.keys.join(',') : '(input)';
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
  throw new InvalidInputError(field, message);
}

/** Workflow id: one run per target and user at a time (conflict policy FAIL). */
export function migrationWorkflowId(input: { target: string; userId: string }): string {
  return `migrate-${input.target.replace(/^env:/, '')}-${input.userId.toLowerCase()}`;
}

/** A staged rollout: many users' files into one target, in cohorts gated on the previous one. */
export const RolloutInputSchema = z
  .object({
    target: TargetRef,
    keyring: KeyringRef,
    /** The users inline (at most ROLLOUT_INLINE_USERS_MAX: the whole input must stay far under the 2 MB payload limit). */
    users: z
      .array(z.object({ userId: uuid, source: z.string().min(1) }).strict())
      .min(1)
      .max(ROLLOUT_INLINE_USERS_MAX, `at most ${ROLLOUT_INLINE_USERS_MAX} users inline: list them in a JSON Lines file ({"userId","source"} per line) the worker reads, and pass its path as usersFile`)
      .optional(),
    /** A JSON Lines file of {"userId","source"}, read by the worker page by page (any number of users). */
    usersFile: z.string().min(1).optional(),
    /** Cumulative fractions of the users, ascending, ending at 1 (the plan's 1 %, 10 %, 50 %, 100 %). */
    cohorts: z
      .array(z.number().gt(0).max(1))
      .min(1)
      .default([0.01, 0.1, 0.5, 1])
      .refine((c) => c.every((v, i) => i === 0 || v > c[i - 1]!) && c[c.length - 1] === 1, 'must ascend and end at 1'),
    /** Migrations in flight at once within a cohort. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** The gate: the next cohort starts only if the previous one's failure rate is at most this, with no ROLLBACK_FAILED. */
    maxFailureRate: z.number().min(0).max(1).default(0),
    /** Ask an operator (the `approve` Update) before every cohort, not only when a gate fails. */
    alwaysApprove: z.boolean().default(false),
    /** Run cohorts up to this index (a scheduled stage); default all. */
    throughCohort: z.number().int().min(0).optional(),
    /** Per-migration settings (chunkRows, parallelism, health, …) applied to every user's run. */
    migration: z.record(z.string(), z.unknown()).default({}),
    /** Set by the workflow itself when it continues-as-new (where it is and what it counted); not for callers. */
    resume: z.record(z.string(), z.unknown()).optional(),
  })
  .strict()
  .refine((r) => (r.users === undefined) !== (r.usersFile === undefined), { message: 'give either users (inline) or usersFile, not both', path: ['users'] });
export type RolloutInput = z.input<typeof RolloutInputSchema>;
export type RolloutConfig = z.output<typeof RolloutInputSchema>;

export function parseRolloutInput(raw: unknown): RolloutConfig {
  const result = RolloutInputSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new InvalidInputError(issue.path.join('.') || '(input)', issue.message);
}

/** Cohort i holds users [ceil(c[i-1]·n), ceil(c[i]·n)), at least one user while any remain. */
export function cohortRanges(total: number, fractions: readonly number[]): [start: number, end: number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (const f of fractions) {
    const end = Math.min(total, Math.max(start + 1, Math.ceil(f * total)));
    out.push([start, end]);
    start = end;
  }
  return out;
}

export function splitCohorts<T>(users: readonly T[], fractions: readonly number[]): T[][] {
  return cohortRanges(users.length, fractions).map(([start, end]) => users.slice(start, end));
}
