// The worker's side of the trust boundary (docs/security.md "Trust model"): workflow input names
// capabilities, this resolves the names against the worker config and refuses everything else with
// a NotPermittedError naming the input field. Messages name the offending *name* or path, never a
// DSN, URL or key (they live only in the config and the worker's environment).
import { readFileSync, realpathSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { InvalidInputError, NotPermittedError, SecretReferenceError } from '../lib/errors';
import {
  CAPABILITY_NAME,
  parseWorkerConfig,
  type HealthSourceConfig,
  type TargetConfig,
  type WorkerConfig,
} from '../lib/worker-config';

/** `migrator worker --config <file>` / MIGRATOR_WORKER_CONFIG: reads and validates the worker config. */
export function loadWorkerConfig(path: string): WorkerConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(
      'workerConfig',
      `cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new InvalidInputError('workerConfig', `${path} is not valid JSON`);
  }
  return parseWorkerConfig(raw);
}

/** Resolves an env:NAME / file:PATH reference from the worker config to its value. */
export function resolveSecretRef(ref: string, what: string): string {
  if (ref.startsWith('env:')) {
    const value = process.env[ref.slice(4)];
    if (!value) throw new SecretReferenceError(`${what}: the worker's environment has no variable ${ref.slice(4)}`);
    return value;
  }
  if (ref.startsWith('file:')) {
    try {
      return readFileSync(ref.slice(5), 'utf8').trim();
    } catch (err) {
      throw new SecretReferenceError(
        `${what}: cannot read its file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  }
  throw new SecretReferenceError(`${what}: expected an env:NAME or file:PATH reference`);
}

/** Shown instead of a refused value that looks like a DSN, URL, path or reference (it may hold a secret). */
function shown(name: string): string {
  return CAPABILITY_NAME.test(name)
    ? `"${name}"`
    : 'a value that is not a name (a DSN, URL, path or env:/file: reference? those are never accepted in workflow input)';
}

function declared(record: Record<string, unknown>): string {
  const names = Object.keys(record);
  return names.length ? names.map((n) => `"${n}"`).join(', ') : 'none';
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel);
}

export interface Capabilities {
  readonly config: WorkerConfig;
  target(name: string, field?: string): TargetConfig;
  keyringRef(name: string, field?: string): string;
  healthSource(name: string, field?: string): HealthSourceConfig;
  webhookUrl(name: string, field?: string): string;
  /** The real path of `path` if it lies inside an allowed source directory (symlinks resolved). */
  sourcePath(path: string, field?: string): string;
}

export function capabilitiesOf(config: WorkerConfig): Capabilities {
  const lookup = <T>(record: Record<string, T>, name: string, field: string, what: string): T => {
    if (typeof name === 'string' && Object.hasOwn(record, name)) return record[name]!;
    throw new NotPermittedError(
      field,
      `${shown(String(name))} is not a ${what} this worker's config declares (declared: ${declared(record)})`,
    );
  };
  return {
    config,
    target: (name, field = 'target') => lookup(config.targets, name, field, 'target'),
    keyringRef: (name, field = 'keyring') => lookup(config.keyrings, name, field, 'keyring'),
    healthSource: (name, field = 'health.sources') => lookup(config.healthSources, name, field, 'health source'),
    webhookUrl: (name, field = 'health.webhook') => lookup(config.webhooks, name, field, 'webhook'),
    sourcePath(path, field = 'source') {
      if (!isAbsolute(path))
        throw new NotPermittedError(field, "must be an absolute path inside one of the worker's source directories");
      // Refused as written, before any resolution: a `..` segment is an escape attempt even when it lands inside.
      if (path.split(/[\\/]+/).includes('..')) throw new NotPermittedError(field, `${path} contains a ".." segment`);
      const dirs = config.sourceDirs.map((d) => {
        try {
          return realpathSync(d);
        } catch {
          return resolve(d);
        }
      });
      const lexical = resolve(path);
      if (!dirs.some((d) => inside(d, lexical) || config.sourceDirs.some((c) => inside(resolve(c), lexical)))) {
        throw new NotPermittedError(
          field,
          `${path} is outside the worker's source directories (${config.sourceDirs.join(', ') || 'none configured'})`,
        );
      }
      let real: string;
      try {
        real = realpathSync(lexical);
      } catch {
        return lexical; // does not exist: the source check reports NOT_FOUND with the path as given
      }
      if (!dirs.some((d) => inside(d, real))) {
        throw new NotPermittedError(
          field,
          `${path} resolves (through a symbolic link) outside the worker's source directories`,
        );
      }
      return real;
    },
  };
}

/** A config granting nothing: what a worker started without --config can do. */
export const NO_CAPABILITIES: WorkerConfig = parseWorkerConfig({});
