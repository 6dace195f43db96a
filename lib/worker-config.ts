// The worker's configuration: every capability a migration can use (docs/security.md "Trust model").
// Starting a workflow grants nothing by itself: the input names a target, a keyring, health sources
// and a webhook declared here, and gives a source path that must lie inside one of `sourceDirs`.
// DSNs, SQL and URLs live only here, on the operator's side; none of them travels in workflow input.
// Pure (validation only); activities/capabilities.ts reads the file and resolves names.
import { z } from 'zod';
import { InvalidInputError } from './errors';

/** A name the workflow input may use: no ':' '/' '@' or spaces, so a DSN, URL or path is never a name. */
export const CAPABILITY_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const Name = z
  .string()
  .regex(
    CAPABILITY_NAME,
    'must be a name declared in the worker config (letters, digits, . _ -; at most 63 characters), never a DSN, URL, path or env:/file: reference',
  );

/**
 * The app schema's name as PostgreSQL folds an unquoted one: lowercase, so `alice` in the config is the
 * schema `CREATE SCHEMA alice` made (a mixed-case name would need quoting everywhere the app writes it).
 */
export const APP_SCHEMA = /^[a-z_][a-z0-9_]{0,62}$/;
/** Not the app's: the system schemas and the migrator's control schemas (they stay `migration*`). */
const RESERVED_SCHEMA = /^(pg_.*|information_schema|migration|migration_archive)$/;

/** env:NAME (a variable of the worker's environment) or file:PATH (a file the worker reads). */
const SecretRef = z
  .string()
  .regex(/^(env:[A-Za-z_][A-Za-z0-9_]*|file:\/.+)$/, 'must be env:NAME or file:/absolute/path');
const AbsolutePath = z.string().regex(/^\//, 'must be an absolute path');
const HttpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//.test(u), 'must be an http(s) URL');

const TargetConfig = z
  .object({
    /**
     * Where the worker finds the PostgreSQL connection string (it may hold the password): the migration's
     * data role (docs/security.md "The PostgreSQL roles"): rows and its control tables, no DDL on app tables.
     */
    dsn: SecretRef,
    /**
     * The connection of the tables' owner, used only for DDL: CREATE TABLE/SCHEMA IF NOT EXISTS, CREATE
     * and DROP INDEX CONCURRENTLY, dropping tables the run created, ANALYZE, and the grants to the data
     * role. PostgreSQL lets only a table's owner index or analyze it. Default: `dsn` (one role does all).
     */
    ddlDsn: SecretRef.optional(),
    /** current_database() the target must be: the run refuses any other database. */
    database: z.string().min(1),
    /**
     * The app's schema: every app and bridge table is created, written, checked and rolled back in it
     * (qualified in every statement), and every migration connection pins `search_path` to it.
     */
    schema: z
      .string()
      .regex(
        APP_SCHEMA,
        'must be a lowercase schema name (a letter or _, then letters, digits or _; at most 63 characters), never SQL',
      )
      .refine((s) => !RESERVED_SCHEMA.test(s), "names a system schema or the migrator's own control schema")
      .default('public'),
    /**
     * A server (not the primary) where the full backup's verification restores into one scratch
     * database at a time; the role there needs CREATEDB. Without it verification is
     * pg_restore --list + sha256 + size (weaker; docs/design.md "Backups").
     */
    scratchDsn: SecretRef.optional(),
    /** A verified full backup younger than this many hours is shared by every run (default 24). */
    fullBackupMaxAgeHours: z
      .number()
      .positive()
      .max(24 * 365)
      .optional(),
  })
  .strict();

const HealthSourceConfig = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('sql'),
      /** A file holding one query returning one row with numeric columns `errors` and `requests`. */
      file: AbsolutePath,
      /** The database holding the app's metrics (default: the run's target). */
      dsn: SecretRef.optional(),
    })
    .strict(),
  z
    .object({
      /** Extra benchmark statements the latency probe times, in its READ ONLY transaction. */
      kind: z.literal('benchmark'),
      file: AbsolutePath,
    })
    .strict(),
  z
    .object({
      kind: z.literal('prometheus'),
      /** A Prometheus text-format endpoint; credentials in it are sent as Basic auth, never logged. */
      url: HttpUrl,
      errorsMetric: z.string().min(1),
      totalMetric: z.string().min(1),
    })
    .strict(),
]);

/** Bounds of a freeze hook's own timeout: long enough for a slow deploy hook, short next to any freeze budget. */
const HookTimeoutMs = z.number().int().min(100).max(60_000).default(5_000);
const Argv = z.array(z.string().min(1)).min(1, 'must be an argv array: [program, ...arguments]');

/**
 * A write-freeze hook (activities/freeze.ts): how the worker tells the app to stop writing for a
 * cut-over, and to start again. Workflow input only names one; the path, command or URL stays here.
 */
const FreezeHookConfig = z.discriminatedUnion('kind', [
  z
    .object({
      /** A flag file the app reads: {"frozenUntilMs": <epoch ms>, "runId": "<id>"}, removed on unfreeze. As a switch hook: `<path>.switch` (activities/freeze.ts). */
      kind: z.literal('file'),
      path: AbsolutePath,
    })
    .strict(),
  z
    .object({
      /** Programs run without a shell, with MIGRATOR_FREEZE_ACTION, MIGRATOR_RUN_ID and MIGRATOR_FREEZE_UNTIL_MS in their environment. */
      kind: z.literal('command'),
      freeze: Argv,
      unfreeze: Argv,
      /** As a switch hook (online.cutover.switchHook): tells the app to use the target, and (rollback) the source again. */
      switch: Argv.optional(),
      unswitch: Argv.optional(),
      timeoutMs: HookTimeoutMs,
    })
    .strict(),
  z
    .object({
      /** POSTed {"action": "freeze"|"unfreeze"|"switch"|"unswitch", "runId", "frozenUntilMs"}; any 2xx acknowledges. */
      kind: z.literal('http'),
      url: HttpUrl,
      timeoutMs: HookTimeoutMs,
    })
    .strict(),
]);

export const WorkerConfigSchema = z
  .object({
    /** Targets the worker may write: name → DSN reference and expected database. */
    targets: z.record(Name, TargetConfig).default({}),
    /** Directories source files may be read from (after resolving symlinks). */
    sourceDirs: z.array(AbsolutePath).default([]),
    /** Keyrings the worker may use: name → reference of a JSON keyring {"<userId>": "<base64 key>"}. */
    keyrings: z.record(Name, SecretRef).default({}),
    /** Health sources a run may name in `health.sources`. */
    healthSources: z.record(Name, HealthSourceConfig).default({}),
    /** Webhooks a run may name in `health.webhook`: name → URL (notified on rollback). */
    webhooks: z.record(Name, HttpUrl).default({}),
    /** Write-freeze hooks a run may name (cut-over): name → file, command or http hook. */
    freezeHooks: z.record(Name, FreezeHookConfig).default({}),
    /**
     * Accept source files without the app's user marker (`app_meta.user_id`) for every run of this
     * worker, as if each run passed `sourceOwnershipUnverified: true` (and recorded the same way): for an
     * operator whose exports predate the marker. Contradictions are refused all the same.
     */
    allowUnmarkedSources: z.boolean().default(false),
  })
  .strict();

export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
export type WorkerConfigInput = z.input<typeof WorkerConfigSchema>;
export type TargetConfig = z.output<typeof TargetConfig>;
export type HealthSourceConfig = z.output<typeof HealthSourceConfig>;
export type FreezeHookConfig = z.output<typeof FreezeHookConfig>;

/** Validates a worker config; throws InvalidInputError naming the field (`workerConfig.targets.x.dsn`). Never echoes values. */
export function parseWorkerConfig(raw: unknown): WorkerConfig {
  const result = WorkerConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = ['workerConfig', ...issue.path].join('.');
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
  throw new InvalidInputError(path, message);
}
