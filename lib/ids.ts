// Deterministic target ids (docs/design.md, law 6). A source id that already is a uuid is kept in
// its lower-case canonical form (the app already uses its local uuids remotely); any other id
// (e.g. `system_daily_standup`) becomes UUIDv5(userNamespace(user), "<source table>:<id>"). Foreign keys
// map with the same function, so no lookups are needed and re-runs produce the same ids.
import { sha1 } from '@noble/hashes/legacy.js';

/**
 * Namespace of every UUIDv5 this project mints. Fixed forever: changing it would give existing
 * migrated rows different ids on a re-run.
 */
export const ID_NAMESPACE = 'fbae54ed-138e-4ffa-ab7a-2f13ebbfd8c9';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function isUuid(value: string): boolean {
  return UUID_RE.test(value);
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const encoder = new TextEncoder();

/** Parsed namespaces: a run mints every id under one or two, so each is parsed once, not per row. */
const namespaceBytes = new Map<string, Uint8Array>();
function uuidBytes(uuid: string): Uint8Array {
  let out = namespaceBytes.get(uuid);
  if (!out) {
    const hex = uuid.replace(/-/g, '');
    out = new Uint8Array(16);
    for (let i = 0; i < 16; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
    if (namespaceBytes.size >= 1024) namespaceBytes.clear();
    namespaceBytes.set(uuid, out);
  }
  return out;
}

function formatUuid(b: Uint8Array): string {
  return (
    HEX[b[0]!]! +
    HEX[b[1]!]! +
    HEX[b[2]!]! +
    HEX[b[3]!]! +
    '-' +
    HEX[b[4]!]! +
    HEX[b[5]!]! +
    '-' +
    HEX[b[6]!]! +
    HEX[b[7]!]! +
    '-' +
    HEX[b[8]!]! +
    HEX[b[9]!]! +
    '-' +
    HEX[b[10]!]! +
    HEX[b[11]!]! +
    HEX[b[12]!]! +
    HEX[b[13]!]! +
    HEX[b[14]!]! +
    HEX[b[15]!]!
  );
}

/** RFC 9562 UUIDv5 (SHA-1, name-based). */
export function uuidV5(name: string, namespace: string = ID_NAMESPACE): string {
  const hash = sha1.create().update(uuidBytes(namespace)).update(encoder.encode(name)).digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  return formatUuid(hash);
}

/** Source table names as they appear in the UUIDv5 name (`<table>:<id>`). */
export type SourceTable = 'local_notes' | 'note_tasks' | 'local_folders' | 'note_folders';

/**
 * The namespace of one user's minted ids: UUIDv5(ID_NAMESPACE, userId). Non-uuid ids such as
 * `system_daily_standup` exist in every user's file; minting them per user keeps users who share a
 * target from colliding (each run touches only its own user's rows).
 */
const userNamespaces = new Map<string, string>();
export function userNamespace(userId: string): string {
  let ns = userNamespaces.get(userId);
  if (ns === undefined) {
    ns = uuidV5(userId.toLowerCase(), ID_NAMESPACE);
    if (userNamespaces.size >= 1024) userNamespaces.clear();
    userNamespaces.set(userId, ns);
  }
  return ns;
}

/** The target id of a source row: kept uuid, or UUIDv5 of `table:id` in the user's namespace. */
export function targetId(table: SourceTable, sourceId: string, userId: string): string {
  return isUuid(sourceId) ? sourceId.toLowerCase() : uuidV5(`${table}:${sourceId}`, userNamespace(userId));
}
