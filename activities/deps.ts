// What activities share, owned by the worker process (docs/conventions.md §2): the worker config's
// capabilities (docs/security.md "Trust model"), one pg.Pool per target name, the backup directory,
// and per-user sealers built from a configured keyring.
import { resolve } from 'node:path';
import pg from 'pg';
import {
  DEFAULT_ACTIVITY_CONCURRENCY,
  DEFAULT_BACKUP_DIR,
  DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  DEFAULT_SESSION_LOCK_TIMEOUT_MS,
  DEFAULT_STATEMENT_TIMEOUT_MS,
  DEFAULT_TCP_KEEPALIVES_COUNT,
  DEFAULT_TCP_KEEPALIVES_IDLE_S,
  DEFAULT_TCP_KEEPALIVES_INTERVAL_S,
  POOL_HEADROOM,
} from '../lib/defaults';
import { InvalidInputError } from '../lib/errors';
import { quoteIdent } from '../infra/sql-files';
import { deriveEntityKey, openString, sealString } from '../lib/envelope';
import type { Sealer } from '../lib/mapping/types';
import type { WorkerConfig } from '../lib/worker-config';
import { capabilitiesOf, NO_CAPABILITIES, resolveSecretRef, type Capabilities } from './capabilities';
import { resolveUserKey } from './secrets';

// Return int8 as a JS number where safe (counts), timestamptz stays a Date.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

export interface ActivityDeps {
  /** What the worker config grants; every name below is resolved (or refused) through it. */
  capabilities: Capabilities;
  /** The pool of a target the worker config declares (NotPermitted otherwise): the data role. */
  pool(targetName: string): pg.Pool;
  /** The pool of the target's table owner (`ddlDsn`, default `dsn`): DDL only (docs/security.md "The PostgreSQL roles"). */
  ddlPool(targetName: string): pg.Pool;
  dsn(targetName: string): string;
  /** The DSN of the target's table owner (`ddlDsn`, default `dsn`): the whole-database backup and its registry. */
  ddlDsn(targetName: string): string;
  /** The app schema of a target the worker config declares (lib/worker-config.ts; `public` by default). */
  schema(targetName: string): string;
  /** A pool for a DSN reference of the worker config itself (a health source's metrics database). */
  poolForRef(dsnRef: string): pg.Pool;
  sealer(keyringName: string, userId: string): Sealer;
  backupDir: string;
  close(): Promise<void>;
}

/** Server-side session settings of a migration connection (docs: README "Connection settings"). */
export interface SessionSettings {
  idleInTransactionSessionTimeoutMs: number;
  lockTimeoutMs: number;
  statementTimeoutMs: number;
  tcpKeepalivesIdleS: number;
  tcpKeepalivesIntervalS: number;
  tcpKeepalivesCount: number;
}

export const DEFAULT_SESSION_SETTINGS: Readonly<SessionSettings> = {
  idleInTransactionSessionTimeoutMs: DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT_MS,
  lockTimeoutMs: DEFAULT_SESSION_LOCK_TIMEOUT_MS,
  statementTimeoutMs: DEFAULT_STATEMENT_TIMEOUT_MS,
  tcpKeepalivesIdleS: DEFAULT_TCP_KEEPALIVES_IDLE_S,
  tcpKeepalivesIntervalS: DEFAULT_TCP_KEEPALIVES_INTERVAL_S,
  tcpKeepalivesCount: DEFAULT_TCP_KEEPALIVES_COUNT,
};

const GUCS: Record<keyof SessionSettings, string> = {
  idleInTransactionSessionTimeoutMs: 'idle_in_transaction_session_timeout',
  lockTimeoutMs: 'lock_timeout',
  statementTimeoutMs: 'statement_timeout',
  tcpKeepalivesIdleS: 'tcp_keepalives_idle',
  tcpKeepalivesIntervalS: 'tcp_keepalives_interval',
  tcpKeepalivesCount: 'tcp_keepalives_count',
};

/**
 * The connection config of every migration connection: the settings travel as `-c name=value` in the
 * startup packet's `options`, so the server enforces them on the session itself (a dead worker's
 * idle transaction is ended by the server, not by a client that no longer exists). Precedence
 * (docs/conventions.md §6; the server applies the last -c of a name): the app schema's
 * `search_path` pin > explicit `settings` > the DSN's own `options` parameter > libpq's PGOPTIONS >
 * defaults. Client-side keepalives are on as well.
 *
 * With `appSchema`, `search_path` is pinned to `pg_catalog, "<schema>", pg_temp`: an unqualified
 * name can only mean the app schema (never a role-named schema of the DSN's user, a DSN's
 * `-csearch_path`, or a temporary table), and an unqualified CREATE fails instead of landing elsewhere.
 */
export function migrationConnectionConfig(
  dsn: string,
  settings: Partial<SessionSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
  appSchema?: string,
): pg.ClientConfig {
  checkSessionSettings(settings);
  const opt = (values: Partial<SessionSettings>) =>
    Object.entries(values)
      .filter((e): e is [keyof SessionSettings, number] => e[1] !== undefined)
      .map(([key, value]) => `-c ${GUCS[key]}=${value}`);
  // node-postgres lets a DSN's `options` replace the config's whole `options` (our settings and the
  // pin with them): take it out of the DSN and put it in its place in the order above.
  const { connectionString, dsnOptions } = splitDsnOptions(dsn);
  const pin = appSchema === undefined ? [] : [`-c search_path=pg_catalog,${quoteIdent(appSchema)},pg_temp`];
  const options = [
    ...opt(DEFAULT_SESSION_SETTINGS),
    ...(env.PGOPTIONS ? [env.PGOPTIONS] : []),
    ...dsnOptions,
    ...opt(settings),
    ...pin,
  ].join(' ');
  return {
    connectionString,
    options,
    application_name: 'migrator',
    keepAlive: true,
    keepAliveInitialDelayMillis: (settings.tcpKeepalivesIdleS ?? DEFAULT_TCP_KEEPALIVES_IDLE_S) * 1000,
  };
}

/** A DSN without its `options=` query parameter(s), and their decoded values (the rest of the DSN unchanged). */
function splitDsnOptions(dsn: string): { connectionString: string; dsnOptions: string[] } {
  const q = dsn.indexOf('?');
  if (q < 0) return { connectionString: dsn, dsnOptions: [] };
  const kept: string[] = [];
  const dsnOptions: string[] = [];
  for (const param of dsn.slice(q + 1).split('&')) {
    if (param.startsWith('options=')) dsnOptions.push(new URLSearchParams(param).get('options') ?? '');
    else kept.push(param);
  }
  return { connectionString: kept.length ? `${dsn.slice(0, q)}?${kept.join('&')}` : dsn.slice(0, q), dsnOptions };
}

function checkSessionSettings(settings: Partial<SessionSettings>): void {
  for (const [key, value] of Object.entries(settings)) {
    if (!(key in GUCS))
      throw new InvalidInputError(`session.${key}`, `unknown session setting (known: ${Object.keys(GUCS).join(', ')})`);
    if (!Number.isInteger(value) || (value as number) < 0)
      throw new InvalidInputError(`session.${key}`, `expected a non-negative integer, got ${String(value)}`);
  }
}

export function createDeps(
  options: {
    backupDir?: string;
    /** The worker's maxConcurrentActivityTaskExecutions: each pool holds that many connections (+ headroom). */
    activityConcurrency?: number;
    /** Explicit session settings (override PGOPTIONS and the defaults). */
    session?: Partial<SessionSettings>;
    /** The worker config (validated, lib/worker-config.ts); without one the worker grants nothing. */
    config?: WorkerConfig;
  } = {},
): ActivityDeps {
  const concurrency = options.activityConcurrency ?? DEFAULT_ACTIVITY_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(
      'activityConcurrency',
      `expected a positive integer (the worker's concurrent activity executions), got ${String(options.activityConcurrency)}`,
    );
  }
  checkSessionSettings(options.session ?? {});
  const capabilities = capabilitiesOf(options.config ?? NO_CAPABILITIES);
  // Keyed by the DSN reference: two names for one database share a pool.
  const pools = new Map<string, pg.Pool>();
  // A target's pool pins its app schema (two targets on one DSN with different schemas get two pools).
  const poolForRef = (ref: string, what: string, appSchema?: string): pg.Pool => {
    const key = appSchema === undefined ? ref : `${ref}\u0000${appSchema}`;
    let pool = pools.get(key);
    if (!pool) {
      // One connection per concurrent activity: a smaller pool makes activities queue for a
      // connection inside their own timeouts; a larger one only holds server slots idle.
      pool = new pg.Pool({
        ...migrationConnectionConfig(resolveSecretRef(ref, what), options.session, process.env, appSchema),
        max: concurrency + POOL_HEADROOM,
      });
      // A broken connection must never crash the worker: pg-pool drops its own 'error' listener while
      // a client is checked out, so an 'error' between two queries of an activity (server restarted,
      // backend terminated) was an unhandled event. The query in flight still rejects; the pool
      // replaces the connection. Logged without the DSN (err.message only).
      const logError = (err: Error) =>
        console.error(`[migrator] target connection error (replaced on next use): ${err.message}`);
      pool.on('error', logError);
      pool.on('connect', (client) => client.on('error', logError));
      pools.set(key, pool);
    }
    return pool;
  };
  return {
    capabilities,
    backupDir: resolve(options.backupDir ?? process.env.MIGRATOR_BACKUP_DIR ?? DEFAULT_BACKUP_DIR),
    dsn: (name) => resolveSecretRef(capabilities.target(name).dsn, `the DSN of target "${name}"`),
    ddlDsn: (name) => {
      const target = capabilities.target(name);
      return target.ddlDsn
        ? resolveSecretRef(target.ddlDsn, `the DDL DSN of target "${name}"`)
        : resolveSecretRef(target.dsn, `the DSN of target "${name}"`);
    },
    schema: (name) => capabilities.target(name).schema,
    pool: (name) => {
      const target = capabilities.target(name);
      return poolForRef(target.dsn, `the DSN of target "${name}"`, target.schema);
    },
    ddlPool: (name) => {
      const target = capabilities.target(name);
      return target.ddlDsn
        ? poolForRef(target.ddlDsn, `the DDL DSN of target "${name}"`, target.schema)
        : poolForRef(target.dsn, `the DSN of target "${name}"`, target.schema);
    },
    poolForRef: (ref) => poolForRef(ref, 'a health source DSN'),
    sealer(keyringName, userId) {
      const master = resolveUserKey(capabilities.keyringRef(keyringName), userId, `keyring "${keyringName}"`);
      const keys = new Map<string, Uint8Array>();
      const keyFor = (id: string): Uint8Array => {
        let key = keys.get(id);
        if (!key) {
          key = deriveEntityKey(master, id);
          if (keys.size > 10_000) keys.clear();
          keys.set(id, key);
        }
        return key;
      };
      return { seal: (id, text) => sealString(keyFor(id), text), open: (id, bytes) => openString(keyFor(id), bytes) };
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.end()));
      pools.clear();
    },
  };
}
