// The `preflight` phase: the source is a sound Drift v12 file, every table and column is either
// mapped or reported, and the target is the database the run was told to use. First of all it checks
// every capability the input names against the worker config (docs/security.md "Trust model"):
// the workflow cannot read the worker's config, so this is where a name is granted or refused.
import { NotPermittedError, SourceError, TargetIdentityError } from '../lib/errors';
import { MAPPINGS, TABLE_ORDER } from '../lib/mapping';
import { sqliteIntegrityCheck } from './backup';
import type { ActivityDeps } from './deps';
import { switchHookProblem } from './freeze';
import { checkOwnership, MARKER_TABLE, type OwnershipProof } from './ownership';
import { withSource } from './source';

export const SOURCE_USER_VERSION = 12;

export interface PreflightInput {
  source: string;
  target: string;
  expectDatabase?: string;
  dryRun: boolean;
  /** Names the run will use later; refused here, before anything is read or written. */
  keyring?: string;
  /** The run's user: with `keyring`, the key and the source file must be shown to be theirs (activities/ownership.ts). */
  userId?: string;
  /** The input's sourceOwnershipUnverified: accept a file without the app's user marker. */
  sourceOwnershipUnverified?: boolean;
  health?: { sources?: string[]; webhook?: string };
  /** Online runs: the cut-over's write-freeze hook (online.cutover.freezeHook). */
  freezeHook?: string;
  /** Online runs: the cut-over's switch hook (online.cutover.switchHook). */
  switchHook?: string;
}

export interface PreflightResult {
  userVersion: number;
  sourceBytes: number;
  sourceRows: Record<string, number>;
  /** Tables of the source the mapping does not migrate (reported, never silently ignored). */
  uncoveredTables: string[];
  /** Columns of mapped tables the mapping does not read, as `table.column`. */
  uncoveredColumns: string[];
  target: { database: string; serverVersion: string; serverMajor: number } | null;
  /** What proved the key and the file are the user's (absent when the caller gave no userId and keyring). */
  ownership?: OwnershipProof;
}

export function createPreflightActivities(deps: ActivityDeps) {
  return {
    async preflight(input: PreflightInput): Promise<PreflightResult> {
      const caps = deps.capabilities;
      const target = caps.target(input.target, 'target');
      if (input.keyring !== undefined) caps.keyringRef(input.keyring, 'keyring');
      (input.health?.sources ?? []).forEach((name, i) => caps.healthSource(name, `health.sources.${i}`));
      if (input.health?.webhook !== undefined) caps.webhookUrl(input.health.webhook, 'health.webhook');
      if (input.freezeHook !== undefined && !Object.hasOwn(caps.config.freezeHooks, input.freezeHook))
        throw new NotPermittedError(
          'online.cutover.freezeHook',
          `"${input.freezeHook}" is not a write-freeze hook this worker's config declares (declared: ${Object.keys(caps.config.freezeHooks).join(', ') || 'none'})`,
        );
      if (input.switchHook !== undefined) {
        if (!Object.hasOwn(caps.config.freezeHooks, input.switchHook))
          throw new NotPermittedError(
            'online.cutover.switchHook',
            `"${input.switchHook}" is not a hook this worker's config declares in freezeHooks (declared: ${Object.keys(caps.config.freezeHooks).join(', ') || 'none'})`,
          );
        const problem = switchHookProblem(caps.config.freezeHooks[input.switchHook]!);
        if (problem) throw new NotPermittedError('online.cutover.switchHook', `"${input.switchHook}": ${problem}`);
      }
      const sourcePath = caps.sourcePath(input.source, 'source');
      // Opening checks the file is SQLite at all (SourceInvalid at once); the integrity check of a
      // large file then runs in a child process, so the event loop (heartbeats) never stalls on it.
      withSource(sourcePath, () => undefined);
      const integrity = await sqliteIntegrityCheck(sourcePath, 'integrity_check of the source');
      if (!integrity.ok) {
        throw new SourceError(
          'INTEGRITY',
          `source ${input.source} failed PRAGMA integrity_check (${integrity.problems} problem(s)); restore it from a backup first`,
        );
      }
      const source = withSource(sourcePath, (db) => {
        const userVersion = db.pragma('user_version', { simple: true }) as number;
        if (userVersion !== SOURCE_USER_VERSION) {
          throw new SourceError(
            'SCHEMA_VERSION',
            `source ${input.source} has schema version (PRAGMA user_version) ${userVersion}; this mapping is for Drift schema v${SOURCE_USER_VERSION}: upgrade the file with the app first`,
          );
        }
        const tables = (
          db
            .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
            .all() as { name: string }[]
        ).map((r) => r.name);
        const sourceRows: Record<string, number> = {};
        const uncoveredColumns: string[] = [];
        for (const table of TABLE_ORDER) {
          if (!tables.includes(table))
            throw new SourceError('MISSING_TABLE', `source ${input.source} has no table ${table}`);
          sourceRows[table] = (db.prepare(`SELECT count(*) AS n FROM "${table}"`).get() as { n: number }).n;
          const columns = (db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[]).map(
            (c) => c.name,
          );
          const covered = new Set(MAPPINGS[table].coveredColumns);
          uncoveredColumns.push(...columns.filter((c) => !covered.has(c)).map((c) => `${table}.${c}`));
        }
        const pageCount = db.pragma('page_count', { simple: true }) as number;
        const pageSize = db.pragma('page_size', { simple: true }) as number;
        return {
          userVersion,
          sourceBytes: pageCount * pageSize,
          sourceRows,
          // app_meta is read (the user marker), not migrated: it is not "uncovered".
          uncoveredTables: tables.filter((t) => !(TABLE_ORDER as readonly string[]).includes(t) && t !== MARKER_TABLE),
          uncoveredColumns,
        };
      });
      const { rows } = await deps
        .pool(input.target)
        .query<{ db: string; version: string; num: string; schema: boolean }>(
          "SELECT current_database() AS db, version() AS version, current_setting('server_version_num') AS num, to_regnamespace($1) IS NOT NULL AS schema",
          [`"${target.schema}"`],
        );
      const row = rows[0]!;
      for (const [expected, by] of [
        [target.database, 'the worker config'],
        [input.expectDatabase, 'the run'],
      ] as const) {
        if (expected && row.db !== expected) {
          throw new TargetIdentityError(
            `target ${input.target} is database "${row.db}", but ${by} expects "${expected}": refusing to touch it`,
          );
        }
      }
      // The config's app schema must exist: the migrator never creates it (its owner and privileges are the operator's).
      if (!row.schema) {
        throw new TargetIdentityError(
          `target ${input.target} (database "${row.db}") has no schema "${target.schema}", the app schema its worker config names (targets.${input.target}.schema)`,
        );
      }
      // After the target's identity: a key check must be read from the intended database only.
      const ownership =
        input.userId !== undefined && input.keyring !== undefined
          ? await checkOwnership(deps, {
              target: input.target,
              keyring: input.keyring,
              userId: input.userId,
              sourcePath,
              override: input.sourceOwnershipUnverified === true,
            })
          : undefined;
      return {
        ...source,
        ...(ownership ? { ownership } : {}),
        target: {
          database: row.db,
          serverVersion: row.version.split(' on ')[0]!,
          serverMajor: Math.floor(Number(row.num) / 10000),
        },
      };
    },
  };
}
