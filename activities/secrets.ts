// Resolves secret references inside the worker (the worker config's `env:NAME` / `file:PATH`, and the
// operator's runbook CLI); the DSN and the keys never enter a payload, a log line or an error message.
import { readFileSync } from 'node:fs';
import { SecretReferenceError } from '../lib/errors';

function envValue(name: string, what: string): string {
  const value = process.env[name];
  if (!value)
    throw new SecretReferenceError(`${what} reference env:${name}: the worker's environment has no variable ${name}`);
  return value;
}

/** env:NAME → the PostgreSQL connection string held by that variable. */
export function resolveTargetDsn(ref: string): string {
  const match = /^env:(\w+)$/.exec(ref);
  if (!match) throw new SecretReferenceError(`target reference ${ref}: expected env:NAME`);
  return envValue(match[1]!, 'target');
}

/**
 * file:PATH or env:NAME → JSON keyring {"<userId>": "<base64 32-byte key>"} → the user's key.
 * `label` names the keyring in errors (its configured name: the path may say more than it should).
 */
export function resolveUserKey(ref: string, userId: string, label = `keyring ${ref}`): Uint8Array {
  let json: string;
  if (ref.startsWith('env:')) json = envValue(ref.slice(4), label);
  else if (ref.startsWith('file:')) {
    try {
      json = readFileSync(ref.slice(5), 'utf8');
    } catch (err) {
      throw new SecretReferenceError(
        `${label}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      );
    }
  } else throw new SecretReferenceError(`keyring reference ${ref}: expected file:PATH or env:NAME`);
  let keyring: Record<string, unknown>;
  try {
    keyring = JSON.parse(json) as Record<string, unknown>;
  } catch {
    throw new SecretReferenceError(`${label}: not valid JSON`);
  }
  const entry = keyring[userId] ?? keyring[userId.toLowerCase()];
  if (typeof entry !== 'string') throw new SecretReferenceError(`${label}: no key for user ${userId}`);
  const key = Buffer.from(entry, 'base64');
  if (key.length !== 32)
    throw new SecretReferenceError(`${label}: the key for user ${userId} is ${key.length} bytes, expected 32`);
  return new Uint8Array(key);
}
