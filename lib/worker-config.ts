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
    /** Where the worker finds the PostgreSQL connection string (it may hold the password). */
    dsn: SecretRef,
    /** current_database() the target must be: the run refuses any other database. */
    database: z.string().min(1),
    /** The app's schema. This version migrates into `public` only; declared so a config says so. */
    schema: z.literal('public', { message: 'only "public" is supported by this version' }).default('public'),
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
  })
  .strict();

export type WorkerConfig = z.output<typeof WorkerConfigSchema>;
export type WorkerConfigInput = z.input<typeof WorkerConfigSchema>;
export type TargetConfig = z.output<typeof TargetConfig>;
export type HealthSourceConfig = z.output<typeof HealthSourceConfig>;

/** Validates a worker config; throws InvalidInputError naming the field (`workerConfig.targets.x.dsn`). Never echoes values. */
export function parseWorkerConfig(raw: unknown): WorkerConfig {
  const result = WorkerConfigSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const path = ['workerConfig', ...issue.path].join('.');
  const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.join(', ')}` : issue.message;
  throw new InvalidInputError(path, message);
}
