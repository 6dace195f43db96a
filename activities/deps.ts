// What activities share, owned by the worker process (docs/conventions.md §2): one pg.Pool per target
// reference, the backup directory, and per-user sealers built from the keyring.
import { resolve } from 'node:path';
import pg from 'pg';
import { DEFAULT_BACKUP_DIR, DEFAULT_STATEMENT_TIMEOUT_MS } from '../lib/defaults';
import { deriveEntityKey, openString, sealString } from '../lib/envelope';
import type { Sealer } from '../lib/mapping/types';
import { resolveTargetDsn, resolveUserKey } from './secrets';

// Return int8 as a JS number where safe (counts), timestamptz stays a Date.
pg.types.setTypeParser(20, (v) => {
  const n = Number(v);
  return Number.isSafeInteger(n) ? n : v;
});

export interface ActivityDeps {
  pool(targetRef: string): pg.Pool;
  dsn(targetRef: string): string;
  sealer(keyringRef: string, userId: string): Sealer;
  backupDir: string;
  close(): Promise<void>;
}

export function createDeps(options: { backupDir?: string } = {}): ActivityDeps {
  const pools = new Map<string, pg.Pool>();
  return {
    backupDir: resolve(options.backupDir ?? process.env.MIGRATOR_BACKUP_DIR ?? DEFAULT_BACKUP_DIR),
    dsn: resolveTargetDsn,
    pool(targetRef) {
      let pool = pools.get(targetRef);
      if (!pool) {
        pool = new pg.Pool({
          connectionString: resolveTargetDsn(targetRef),
          max: 8,
          statement_timeout: DEFAULT_STATEMENT_TIMEOUT_MS,
          application_name: 'migrator',
        });
        pool.on('error', () => undefined); // an idle client's broken connection is replaced on next use
        pools.set(targetRef, pool);
      }
      return pool;
    },
    sealer(keyringRef, userId) {
      const master = resolveUserKey(keyringRef, userId);
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
