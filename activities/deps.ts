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
 * (docs/conventions.md §6): explicit `settings` > libpq's PGOPTIONS (appended after ours: the server
 * applies the last -c of a name) > defaults. Client-side keepalives are on as well.
 */
export function migrationConnectionConfig(
  dsn: string,
  settings: Partial<SessionSettings> = {},
  env: NodeJS.ProcessEnv = process.env,
): pg.ClientConfig {
  checkSessionSettings(settings);
  const opt = (values: Partial<SessionSettings>) =>
    Object.entries(values)
      .filter((e): e is [keyof SessionSettings, number] => e[1] !== undefined)
      .map(([key, value]) => `-c ${GUCS[key]}=${value}`);
  const options = [...opt(DEFAULT_SESSION_SETTINGS), ...(env.PGOPTIONS ? [env.PGOPTIONS] : []), ...opt(settings)].join(
    ' ',
  );
  return {
    connectionString: dsn,
    options,
    application_name: 'migrator',
    keepAlive: true,
    keepAliveInitialDelayMillis: (settings.tcpKeepalivesIdleS ?? DEFAULT_TCP_KEEPALIVES_IDLE_S) * 1000,
  };
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
  const poolForRef = (ref: string, what: string): pg.Pool => {
    let pool = pools.get(ref);
    if (!pool) {
      // One connection per concurrent activity: a smaller pool makes activities queue for a
      // connection inside their own timeouts; a larger one only holds server slots idle.
      pool = new pg.Pool({
        ...migrationConnectionConfig(resolveSecretRef(ref, what), options.session),
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
      pools.set(ref, pool);
    }
    return pool;
  };
  return {
    capabilities,
    backupDir: resolve(options.backupDir ?? process.env.MIGRATOR_BACKUP_DIR ?? DEFAULT_BACKUP_DIR),
    dsn: (name) => resolveSecretRef(capabilities.target(name).dsn, `the DSN of target "${name}"`),
    pool: (name) => poolForRef(capabilities.target(name).dsn, `the DSN of target "${name}"`),
    ddlPool: (name) => {
      const target = capabilities.target(name);
      return target.ddlDsn
        ? poolForRef(target.ddlDsn, `the DDL DSN of target "${name}"`)
        : poolForRef(target.dsn, `the DSN of target "${name}"`);
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
