// A source file and a keyring entry are tied to the run's user (docs/security.md "Source files and
// keys belong to their user"). Before anything is written the run proves, where the data can tell:
//  - the key is this user's: every envelope of this user already in the target opens with it, and it
//    matches the key check value the user's first run recorded (migration.user_keys);
//  - the file is this user's: the app's own marker in the file (table app_meta, key 'user_id') names
//    this user, and the file is not registered on this target for another user (migration.source_files).
// A file without a marker is refused unless the operator overrides (input `sourceOwnershipUnverified`
// or the worker config's `allowUnmarkedSources`); a contradiction is refused whatever the override.
import { createHash, createHmac } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import type pg from 'pg';
import { qualified, quoteIdent, sqlFile } from '../infra/sql-files';
import { OwnershipError } from '../lib/errors';
import { deriveEntityKey, openString } from '../lib/envelope';
import type { ActivityDeps } from './deps';
import { resolveUserKey } from './secrets';
import { withSource } from './source';

/** The app's user marker convention: `CREATE TABLE app_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)`, row ('user_id', <uuid>). */
export const MARKER_TABLE = 'app_meta';
export const MARKER_KEY = 'user_id';

export interface OwnershipInput {
  target: string;
  keyring: string;
  userId: string;
  /** The source's real path (already granted by the worker config). */
  sourcePath: string;
  /** The input's `sourceOwnershipUnverified`. */
  override: boolean;
}

/** What the run proved (ids and words only: it goes to history). */
export interface OwnershipProof {
  /** `marker`: the file's app_meta names the user; `unverified-override`: no marker, the operator overrode. */
  source: 'marker' | 'unverified-override';
  /** Who overrode, when source is unverified-override. */
  overriddenBy: 'input' | 'worker-config' | null;
  /** How many of the user's envelopes already in the target opened with the key. */
  targetEnvelopesOpened: number;
  /** The key matched a key check value a previous run recorded (false: this run records the first). */
  keyCheckMatched: boolean;
  /** The file could be fingerprinted (it has non-system notes) and is registered to no other user. */
  fileFingerprinted: boolean;
}

/** HMAC-SHA256(key, "key-check:" + userId): proves a key without revealing it. */
export function keyCheckValue(key: Uint8Array, userId: string): string {
  return createHmac('sha256', key).update(`key-check:${userId}`).digest('hex');
}

interface FileFacts {
  marker: string | null;
  /** sha256 of the sorted non-system note ids (null: no such note, the file cannot be told apart). */
  notesFingerprint: string | null;
  /** sha256 of the first page and the notes fingerprint: this exact content. */
  contentFingerprint: string | null;
}

function fileFacts(path: string): FileFacts {
  return withSource(path, (db) => {
    const hasMarkerTable = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?")
      .get(MARKER_TABLE) as unknown;
    const marker = hasMarkerTable
      ? ((db.prepare(`SELECT value FROM ${MARKER_TABLE} WHERE key = ?`).get(MARKER_KEY) as { value?: unknown })
          ?.value ?? null)
      : null;
    // System notes (system_*) exist in every user's file: they tell nothing about whose it is.
    const ids = createHash('sha256');
    let n = 0;
    for (const row of db
      .prepare("SELECT CAST(id AS TEXT) AS id FROM local_notes WHERE id NOT LIKE 'system\\_%' ESCAPE '\\' ORDER BY 1")
      .iterate() as Iterable<{ id: string }>) {
      ids.update(`${row.id}\n`);
      n++;
    }
    const pageSize = db.pragma('page_size', { simple: true }) as number;
    if (n === 0)
      return { marker: marker === null ? null : String(marker), notesFingerprint: null, contentFingerprint: null };
    const notesFingerprint = ids.digest('hex');
    const page = Buffer.alloc(pageSize);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, page, 0, pageSize, 0);
    } finally {
      closeSync(fd);
    }
    const contentFingerprint = createHash('sha256').update(page).update(notesFingerprint).digest('hex');
    return { marker: marker === null ? null : String(marker), notesFingerprint, contentFingerprint };
  });
}

async function exists(db: pg.Pool | pg.PoolClient, table: string): Promise<boolean> {
  return (await db.query<{ present: boolean }>(sqlFile('queries/table_exists.sql'), [table])).rows[0]!.present;
}

/** True when `bytes` is an envelope at all ({"n","c","m"} JSON): only an envelope proves anything about a key. */
function isEnvelope(bytes: Uint8Array): boolean {
  try {
    const e = JSON.parse(Buffer.from(bytes).toString('utf8')) as Record<string, unknown>;
    return typeof e?.n === 'string' && typeof e.c === 'string' && typeof e.m === 'string';
  } catch {
    return false;
  }
}

/**
 * Every check, reading only. `db` is the target (a pool in preflight, the registering transaction's
 * client later). Throws OwnershipError naming the field to fix; returns what was proved.
 */
async function check(
  deps: ActivityDeps,
  db: pg.Pool | pg.PoolClient,
  input: OwnershipInput,
): Promise<{ proof: OwnershipProof; keyCheck: string; file: FileFacts }> {
  const userId = input.userId.toLowerCase();
  const label = `keyring "${input.keyring}"`;
  const key = resolveUserKey(deps.capabilities.keyringRef(input.keyring), userId, label);
  const keyCheck = keyCheckValue(key, userId);
  const file = fileFacts(input.sourcePath);

  // File ↔ user, first: a wrong file is the likelier mistake, and its error says what to fix.
  if (file.marker !== null && file.marker.toLowerCase() !== userId) {
    throw new OwnershipError(
      'source',
      'SOURCE_MARKED_FOR_OTHER_USER',
      `the source file's ${MARKER_TABLE}.${MARKER_KEY} names user ${file.marker}, not ${userId}: start the run with that user's id, or give this user's own file (no override accepts a file marked for someone else)`,
    );
  }
  if ((await exists(db, 'migration.source_files')) && file.contentFingerprint !== null) {
    const others = (
      await db.query<{ user_id: string }>(sqlFile('queries/source_file_owners.sql'), [
        file.contentFingerprint,
        file.notesFingerprint,
        userId,
      ])
    ).rows.map((r) => r.user_id);
    if (others.length) {
      throw new OwnershipError(
        'source',
        'SOURCE_REGISTERED_TO_OTHER_USER',
        `this source file (the same notes) was already migrated on target "${input.target}" for user ${others.join(', ')}, not ${userId}: check which user the file belongs to`,
      );
    }
  }
  const overriddenBy = input.override
    ? ('input' as const)
    : deps.capabilities.config.allowUnmarkedSources
      ? ('worker-config' as const)
      : null;
  if (file.marker === null && overriddenBy === null) {
    throw new OwnershipError(
      'source',
      'SOURCE_UNMARKED',
      `the source file has no user marker (table ${MARKER_TABLE}, key '${MARKER_KEY}'), so it cannot show it belongs to user ${userId}: have the app write the marker, or, having checked the file's owner yourself, start the run with "sourceOwnershipUnverified": true (recorded in the run's events and memo)`,
    );
  }

  // Key ↔ user.
  if (await exists(db, 'migration.user_keys')) {
    const registered = (await db.query<{ key_check: string }>(sqlFile('queries/user_key_check.sql'), [userId])).rows[0];
    if (registered && registered.key_check !== keyCheck) {
      throw new OwnershipError(
        'keyring',
        'KEY_DIFFERS_FROM_REGISTERED',
        `${label} holds a different key for user ${userId} than the one this user's earlier run on target "${input.target}" recorded: the keyring entry is not this user's (swapped keys?)`,
      );
    }
  }
  let opened = 0;
  const schema = deps.schema(input.target);
  if ((await exists(db, qualified(schema, 'notes'))) && (await exists(db, qualified(schema, 'folders')))) {
    const envelopes = sqlFile('queries/own_target_envelopes.sql', { schema: quoteIdent(schema) });
    const rows = (await db.query<{ id: string; enc: Buffer }>(envelopes, [userId])).rows;
    for (const row of rows.filter((r) => isEnvelope(r.enc))) {
      const entityKey = deriveEntityKey(key, row.id);
      try {
        openString(entityKey, row.enc);
        opened++;
      } catch {
        throw new OwnershipError(
          'keyring',
          'KEY_OPENS_NO_TARGET_ROW',
          `user ${userId} already has data on target "${input.target}" that ${label}'s key for this user does not decrypt (row ${row.id}): the keyring entry is not this user's key (swapped keys?)`,
        );
      } finally {
        entityKey.fill(0);
      }
    }
  }
  key.fill(0);
  return {
    proof: {
      source: file.marker !== null ? 'marker' : 'unverified-override',
      overriddenBy: file.marker !== null ? null : overriddenBy,
      targetEnvelopesOpened: opened,
      keyCheckMatched: false,
      fileFingerprinted: file.contentFingerprint !== null,
    },
    keyCheck,
    file,
  };
}

/** Preflight's part: every check, reading only (nothing is recorded before the schema step). */
export async function checkOwnership(deps: ActivityDeps, input: OwnershipInput): Promise<OwnershipProof> {
  const pool = deps.pool(input.target);
  const { proof, keyCheck } = await check(deps, pool, input);
  if (await exists(pool, 'migration.user_keys')) {
    const registered = (await pool.query<{ key_check: string }>(sqlFile('queries/user_key_check.sql'), [input.userId]))
      .rows[0];
    proof.keyCheckMatched = registered?.key_check === keyCheck;
  }
  return proof;
}

export function createOwnershipActivities(deps: ActivityDeps) {
  return {
    /**
     * The schema step's part, once the control tables exist: the checks again and the registration
     * (the user's key check value, the file's fingerprints) in one transaction under one advisory lock,
     * so two runs cannot register one file for two users at once.
     */
    async registerOwnership(input: Omit<OwnershipInput, 'sourcePath'> & { source: string; runId: string }) {
      const sourcePath = deps.capabilities.sourcePath(input.source, 'source');
      const client = await deps.pool(input.target).connect();
      try {
        await client.query('BEGIN');
        await client.query("SELECT pg_advisory_xact_lock(hashtextextended('migrator:ownership', 0))");
        const { proof, keyCheck, file } = await check(deps, client, { ...input, sourcePath });
        await client.query(sqlFile('queries/register_user_key.sql'), [input.userId, keyCheck, input.runId]);
        if (file.contentFingerprint !== null)
          await client.query(sqlFile('queries/register_source_file.sql'), [
            file.contentFingerprint,
            file.notesFingerprint,
            input.userId,
            input.runId,
          ]);
        await client.query('COMMIT');
        return proof;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    /** The schema step's compensation: this run's registrations go (nothing of another run's). */
    async unregisterOwnership(input: { target: string; runId: string }): Promise<void> {
      const pool = deps.pool(input.target);
      if (!(await exists(pool, 'migration.source_files'))) return;
      await pool.query(sqlFile('queries/unregister_ownership.sql'), [input.runId]);
    },
  };
}
