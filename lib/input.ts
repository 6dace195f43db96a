// The migration workflow's single JSON input (the Web UI accepts one JSON payload), validated
// with errors that name the bad field. Capabilities (target, keyring, health sources, webhook) are
// names the worker config declares (lib/worker-config.ts); no DSN, SQL, URL or reference travels here.
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
  DEFAULT_DELTA_THRESHOLD,
  DEFAULT_MAX_DELTA_PASSES,
  DEFAULT_STALL_PASSES,
  DEFAULT_CUTOVER_BUDGET_MS,
  DEFAULT_CUTOVER_MAX_ATTEMPTS,
  DEFAULT_CUTOVER_MAX_FINAL_CHANGES,
  DEFAULT_CUTOVER_RETRY_DELAY_MS,
  MAX_FREEZE_BUDGET_MS,
  ROLLOUT_INLINE_USERS_MAX,
} from './defaults';
import { InvalidInputError } from './errors';
import { ThrottleSchema, throttleAboveRollback } from './throttle';
import { Name } from './worker-config';

// Lower-cased: PostgreSQL prints uuids in lower case, and user_id is part of every checksum.
const uuid = z
  .string()
  .regex(/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/, 'must be a uuid')
  .transform((s) => s.toLowerCase());

/** A target the worker config declares (`targets`), by name: the DSN stays on the worker's side. */
export const TargetName = Name;
/** A keyring the worker config declares (`keyrings`), by name. */
export const KeyringName = Name;

// Health inputs name what the worker config declares (docs/security.md "Trust model"): no SQL text
// and no URL travels in workflow input.
const healthFields = {
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
  /** The built-in probe timing the app's benchmark queries against the target (plus `benchmark` sources). */
  probe: z
    .object({ enabled: z.boolean().default(true) })
    .strict()
    .default({ enabled: true }),
  /** Names of health sources in the worker config (`healthSources`: sql, prometheus, benchmark). */
  sources: z.array(Name).default([]),
  /** Name of a webhook in the worker config, notified on rollback start, success and failure (always logged too). */
  webhook: Name.optional(),
};
export const HealthSchema = z.object(healthFields).strict();

/**
 * Runs started before the trust boundary carried SQL, URLs and env:/file: references. Only their
 * replay (workflows/migration.ts, patched 'trust-boundary-input') parses with this: the old fields are
 * accepted and dropped, and every name is later refused by the worker unless its config declares it.
 */
const LegacyHealthSchema = z
  .object({
    ...healthFields,
    probe: z
      .object({ enabled: z.boolean().default(true), extraSql: z.string().optional() })
      .strict()
      .default({ enabled: true }),
    sources: z.array(z.unknown()).default([]),
    webhookUrl: z.string().optional(),
  })
  .strict()
  .transform(({ probe, webhookUrl: _dropped, ...h }): HealthConfig => ({
    ...h,
    probe: { enabled: probe.enabled },
    sources: [],
  }));

/** Fields removed from workflow input, with what replaces them (an InvalidInput error says so). */
const REMOVED: Record<string, string> = {
  'health.probe.extraSql':
    'SQL is not accepted in workflow input: declare a `benchmark` health source in the worker config and name it in health.sources',
  'health.webhookUrl':
    'URLs are not accepted in workflow input: declare a webhook in the worker config and name it in health.webhook',
  'health.sources':
    'must be names of health sources declared in the worker config; SQL and URLs are not accepted in workflow input',
};

/** Online mode's cut-over (workflows/phases/cutover.ts): names only; the hook's capability is in the worker config. */
export const CutoverSchema = z
  .object({
    /** A write-freeze hook the worker config declares (`freezeHooks`); absent: the source's write lock alone freezes. */
    freezeHook: Name.optional(),
    /** A hook of the worker config's `freezeHooks` that tells the app to use the target (action `switch`), inside a successful attempt; absent: nothing is called. */
    switchHook: Name.optional(),
    /** The longest one attempt may keep writes frozen (freeze acknowledged → unfreeze acknowledged). */
    budgetMs: z.number().int().min(1).max(MAX_FREEZE_BUDGET_MS).default(DEFAULT_CUTOVER_BUDGET_MS),
    maxAttempts: z.number().int().min(1).max(100).default(DEFAULT_CUTOVER_MAX_ATTEMPTS),
    retryDelayMs: z.number().int().min(0).max(3_600_000).default(DEFAULT_CUTOVER_RETRY_DELAY_MS),
    /** An attempt that finds more pending changes than this gives up before applying them. */
    maxFinalChanges: z.number().int().min(1).max(1_000_000).default(DEFAULT_CUTOVER_MAX_FINAL_CHANGES),
  })
  .strict();
export type CutoverConfig = z.output<typeof CutoverSchema>;

/** Online mode (README "Online mode"); disabled: the offline path, unchanged. */
export const OnlineSchema = z
  .object({
    enabled: z.boolean().default(false),
    /** Delta passes repeat until one applies fewer logged changes than this; then the final, frozen pass. */
    deltaThreshold: z.number().int().min(0).max(1_000_000).default(DEFAULT_DELTA_THRESHOLD),
    /** Delta passes at most before the final one. */
    maxDeltaPasses: z.number().int().min(0).max(1_000).default(DEFAULT_MAX_DELTA_PASSES),
    /** Stop the passes early, even above deltaThreshold, once the catch-up rate says the cut-over can
     * apply what will be pending at the freeze (lib/catch-up.ts). */
    catchUpEstimate: z.boolean().default(true),
    /** Stop the passes after this many in a row found no fewer changes than the fewest so far (not
     * converging: the cut-over attempts decide); 0: never. */
    stallPasses: z.number().int().min(0).max(1_000).default(DEFAULT_STALL_PASSES),
    cutover: CutoverSchema.default(() => CutoverSchema.parse({})),
  })
  .strict();
export type OnlineConfig = z.output<typeof OnlineSchema>;

/** Rows per chunk: the one range every caller checks (input, the setChunkSize Update, the CLI). */
export const ChunkRows = z.number().int().min(MIN_CHUNK_ROWS).max(MAX_CHUNK_ROWS);

export const MigrationInputSchema = z
  .object({
    /** Path of the source SQLite file (one user's Drift v12 database), as the worker sees it: it must lie inside one of the worker config's sourceDirs. */
    source: z
      .string()
      .min(1, 'must be a path to the source SQLite file')
      // A URL (perhaps with credentials) is never a source: the worker reads files in its own directories.
      .refine((s) => !/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(s), 'must be a file path as the worker sees it, not a URL'),
    /** The user who owns the source file; written to every target row. */
    userId: uuid,
    /** Name of a target in the worker config (never a DSN or env: reference). */
    target: TargetName,
    /** Name of a keyring in the worker config holding the user's 32-byte account master key. */
    keyring: KeyringName,
    chunkRows: ChunkRows.default(DEFAULT_CHUNK_ROWS),
    /** Source bytes per chunk: a chunk ends at chunkRows rows or this many bytes, whichever comes first. */
    chunkBytes: z.number().int().min(MIN_CHUNK_BYTES).max(MAX_CHUNK_BYTES).default(DEFAULT_CHUNK_BYTES),
    parallelism: z.number().int().min(1).max(64).default(DEFAULT_PARALLELISM),
    /** Fraction (0..1) of a table's rows that may be quarantined before the run fails. */
    quarantineThreshold: z.number().min(0).max(1).default(DEFAULT_QUARANTINE_THRESHOLD),
    sampleSize: z.number().int().min(0).max(100_000).default(DEFAULT_SAMPLE_SIZE),
    /** Transform and validate every row, report what would happen, write nothing. */
    dryRun: z.boolean().default(false),
    /**
     * The operator's explicit override for a source file that cannot tell whose it is (no `app_meta`
     * user marker): without it such a file is refused. Recorded in the run's events and memo. It never
     * overrides a contradiction (a marker naming another user, a file registered to another user, a key
     * that does not match): docs/security.md "Source files and keys belong to their user".
     */
    sourceOwnershipUnverified: z.boolean().default(false),
    /** Expected current_database() of the target; the run refuses any other database. */
    expectDatabase: z.string().min(1).optional(),
    /** Chunks per transferTable execution before continue-as-new. */
    chunksPerExecution: z.number().int().min(1).max(10_000).default(DEFAULT_CHUNKS_PER_EXECUTION),
    heartbeatTimeoutMs: z.number().int().min(1_000).max(3_600_000).default(DEFAULT_HEARTBEAT_TIMEOUT_MS),
    health: HealthSchema.default(() => HealthSchema.parse({})),
    /** Online mode: the source stays live (change capture, bulk copy, delta passes, a brief final freeze). */
    online: OnlineSchema.default(() => OnlineSchema.parse({})),
    /** Slow down the copy while the target is under load (absent: no throttle). Below the health guard's levels. */
    throttle: ThrottleSchema.optional(),
  })
  .strict();

export type MigrationInput = z.input<typeof MigrationInputSchema>;
export type MigrationConfig = z.output<typeof MigrationInputSchema>;
export type HealthConfig = z.output<typeof HealthSchema>;

const LegacyMigrationInputSchema = MigrationInputSchema.extend({
  target: z.string().min(1),
  keyring: z.string().min(1),
  health: LegacyHealthSchema.default(() => HealthSchema.parse({})),
});

/** The first issue as an InvalidInputError naming the field (never echoing the value: it may be a secret). */
function inputError(error: z.ZodError): InvalidInputError {
  const issue = error.issues[0]!;
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    const field = [...path, issue.keys.join(',')].join('.');
    return new InvalidInputError(field, REMOVED[field] ?? `unknown field(s) ${issue.keys.join(', ')}`);
  }
  const field = path.length ? path.join('.') : '(input)';
  const removed = path[0] === 'health' && path[1] === 'sources' ? REMOVED['health.sources'] : undefined;
  return new InvalidInputError(field, removed ?? issue.message);
}

/**
 * Parses a workflow input; throws InvalidInputError naming the first bad field. Shape only: whether
 * the worker grants the names is decided by the worker (activities/preflight.ts). `legacy` is for
 * replaying runs started before the trust boundary (see LegacyHealthSchema).
 */
export function parseMigrationInput(raw: unknown, options: { legacy?: boolean } = {}): MigrationConfig {
  if (raw && typeof raw === 'object' && 'faults' in raw) {
    throw new InvalidInputError(
      'faults',
      'fault injection is not accepted in workflow input; faults are planned on a worker started in test mode (docs/security.md)',
    );
  }
  const result = (options.legacy ? LegacyMigrationInputSchema : MigrationInputSchema).safeParse(raw);
  if (!result.success) throw inputError(result.error);
  const refused = result.data.throttle && throttleAboveRollback(result.data.throttle, result.data.health);
  if (refused) throw new InvalidInputError(refused.field, refused.message);
  return result.data;
}

/** Workflow id: one run per target and user at a time (conflict policy FAIL). */
export function migrationWorkflowId(input: { target: string; userId: string }): string {
  return `migrate-${input.target.replace(/^env:/, '')}-${input.userId.toLowerCase()}`;
}

/** A staged rollout: many users' files into one target, in cohorts gated on the previous one. */
const RolloutObject = z
  .object({
    target: TargetName,
    keyring: KeyringName,
    /** The users inline (at most ROLLOUT_INLINE_USERS_MAX: the whole input must stay far under the 2 MB payload limit). */
    users: z
      .array(z.object({ userId: uuid, source: z.string().min(1) }).strict())
      .min(1)
      .max(
        ROLLOUT_INLINE_USERS_MAX,
        `at most ${ROLLOUT_INLINE_USERS_MAX} users inline: list them in a JSON Lines file ({"userId","source"} per line) the worker reads, and pass its path as usersFile`,
      )
      .optional(),
    /** A JSON Lines file of {"userId","source"}, read by the worker page by page (any number of users). */
    usersFile: z.string().min(1).optional(),
    /** Cumulative fractions of the users, ascending, ending at 1 (default 1 %, 10 %, 50 %, 100 %). */
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
  .strict();
const oneUserList = (r: { users?: unknown; usersFile?: unknown }) =>
  (r.users === undefined) !== (r.usersFile === undefined);
const ONE_USER_LIST = { message: 'give either users (inline) or usersFile, not both', path: ['users'] };
export const RolloutInputSchema = RolloutObject.refine(oneUserList, ONE_USER_LIST);
export type RolloutInput = z.input<typeof RolloutInputSchema>;
export type RolloutConfig = z.output<typeof RolloutInputSchema>;

const LegacyRolloutInputSchema = RolloutObject.extend({ target: z.string().min(1), keyring: z.string().min(1) }).refine(
  oneUserList,
  ONE_USER_LIST,
);

/** `legacy`: replaying a rollout started before the trust boundary (env:/file: references). */
export function parseRolloutInput(raw: unknown, options: { legacy?: boolean } = {}): RolloutConfig {
  const result = (options.legacy ? LegacyRolloutInputSchema : RolloutInputSchema).safeParse(raw);
  if (result.success) return result.data;
  throw inputError(result.error);
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
