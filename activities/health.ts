// The health guard's readings: the built-in probe timing the app's benchmark queries against the
// target, pluggable error-rate sources (a SQL query against the app's metrics,
// a Prometheus endpoint), and integrity (INVALID indexes). The workflow decides; this measures.
// Sources and webhooks are names resolved in the worker config (activities/capabilities.ts): their
// SQL and URLs never travel in workflow input, and errors name them, never print their URL.
import { log } from '@temporalio/activity';
import { readFileSync } from 'node:fs';
import type pg from 'pg';
import { BASELINE_PROBE_RUNS } from '../lib/defaults';
import type { HealthConfig } from '../lib/input';
import { quoteIdent, sqlFile, sqlFolder, sqlStatements } from '../infra/sql-files';
import type { ActivityDeps } from './deps';
import { ourIndexNames } from './indexes';
import { recordRollback } from './metrics';

export interface Counters {
  errors: number;
  total: number;
}

export interface HealthReading {
  latencyMs: number | null;
  baselineMs: number;
  errors: number;
  requests: number;
  errorRate: number | null;
  invalidIndexes: string[];
  /** Cumulative counters of Prometheus sources, keyed by source name (differenced next time). */
  counters: Record<string, Counters>;
  /** Why the guard must roll back, or null. */
  trigger: string | null;
}

/**
 * The probe runs the app's queries as a user of its own, not as the user being migrated: that
 * user's data grows from nothing to everything during the run, so its query times would trip the
 * latency trigger by design. The probe user's queries measure what the app's other users feel.
 */
export const PROBE_USER_ID = '00000000-0000-4000-8000-00000000f00d';

type Plan = { 'QUERY PLAN': [{ 'Planning Time': number; 'Execution Time': number }] };

/** PostgreSQL's own time for a statement (EXPLAIN ANALYZE planning + execution), in ms. */
async function timed(client: pg.PoolClient, statement: string, params: unknown[]): Promise<number> {
  const { rows } = await client.query<Plan>(`EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) ${statement}`, params);
  const plan = rows[0]!['QUERY PLAN'][0];
  return plan['Planning Time'] + plan['Execution Time'];
}

/**
 * One probe, timed by PostgreSQL itself so the worker's own event-loop stalls (it is busy
 * transforming and encrypting chunks) stay out of the reading. The app's benchmark queries run in a
 * READ ONLY transaction: the probe writes nothing the app can see, takes no row lock another probe or
 * the app could wait on, and fires none of the app's triggers (a write in a `benchmark` source is refused).
 * The write path is probed on the migrator's own table (migration.health_probe) under the run's key
 * (`runKey`: the migrating user, one run per user at a time by the lease), in a rolled-back transaction.
 */
async function probeOnce(pool: pg.Pool, schema: string, runKey: string, extra: string[] = []): Promise<number> {
  const client = await pool.connect();
  let total = 0;
  try {
    await client.query('BEGIN READ ONLY');
    const app = { schema: quoteIdent(schema) };
    const statements = [...sqlFolder('health').flatMap((file) => sqlStatements(file, app)), ...extra];
    for (const statement of statements)
      total += await timed(client, statement, statement.includes('$1') ? [PROBE_USER_ID] : []);
    await client.query('ROLLBACK');
    total += await writeProbe(client, runKey).catch(async (err: { code?: string }) => {
      // 42P01: a target whose control schema predates the probe table (a run resumed on a newer worker).
      if (err.code !== '42P01') throw err;
      await client.query('ROLLBACK');
      await client.query(sqlFile('control/020_health_probe.sql'));
      return writeProbe(client, runKey);
    });
    return total;
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

async function writeProbe(client: pg.PoolClient, runKey: string): Promise<number> {
  await client.query('BEGIN');
  const ms = await timed(client, sqlFile('health/write/health_probe.sql'), [runKey]);
  await client.query('ROLLBACK');
  return ms;
}

/** Statements of a SQL file named by the worker config (split like sql/ files: `;` at a line end). */
function statementsOf(file: string, name: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(
      `health source "${name}": cannot read its SQL file (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return text
    .split(/;\s*(?:\n|$)/)
    .map((s) => s.replace(/^\s*--.*$/gm, '').trim())
    .filter((s) => s.length > 0);
}

/**
 * The guard's latency measure (the built-in probe plus the run's `benchmark` sources), for the copy's
 * throttle (activities/load.ts): the throttle compares the very number the guard rolls back on.
 * `runKey` keys the write probe; the throttle uses a key of its own, so it never waits on the guard's.
 */
export function guardProbeLatency(deps: ActivityDeps, target: string, runKey: string, health: HealthConfig) {
  const extra = health.sources.flatMap((name, i) => {
    const source = deps.capabilities.healthSource(name, `health.sources.${i}`);
    return source.kind === 'benchmark' ? statementsOf(source.file, name) : [];
  });
  return probeOnce(deps.pool(target), deps.schema(target), runKey, extra);
}

/** fetch() refuses URLs with credentials: they go as Basic auth, and the URL in errors is the source's name. */
export async function fetchConfigured(url: string, name: string, init: RequestInit = {}): Promise<Response> {
  const u = new URL(url);
  const headers = new Headers(init.headers);
  if (u.username || u.password) {
    headers.set(
      'authorization',
      `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`,
    );
    u.username = '';
    u.password = '';
  }
  try {
    return await fetch(u, { ...init, headers, signal: init.signal ?? AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new Error(
      `${name}: request failed (${(err as { cause?: { code?: string } }).cause?.code ?? (err as Error).name})`,
    );
  }
}

/** Sums every series of a metric in Prometheus text format. */
export function promCounter(text: string, metric: string): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+([^\s]+)/.exec(line);
    if (m && m[1] === metric) sum += Number(m[3]);
  }
  return sum;
}

export function createHealthActivities(deps: ActivityDeps) {
  return {
    async measureBaseline(input: { target: string; userId: string; health: HealthConfig }): Promise<number> {
      if (!input.health.probe.enabled) return 0;
      const runs: number[] = [];
      const schema = deps.schema(input.target);
      await probeOnce(deps.pool(input.target), schema, input.userId); // warm-up: plans and caches
      for (let i = 0; i < BASELINE_PROBE_RUNS; i++)
        runs.push(await probeOnce(deps.pool(input.target), schema, input.userId));
      runs.sort((a, b) => a - b);
      return runs[Math.floor(runs.length / 2)]!;
    },

    async healthCheck(input: {
      target: string;
      userId: string;
      baselineMs: number;
      health: HealthConfig;
      previous: Record<string, Counters>;
    }): Promise<HealthReading> {
      const h = input.health;
      const triggers: string[] = [];
      let latencyMs: number | null = null;
      const sources = h.sources.map((name, i) => ({
        name,
        source: deps.capabilities.healthSource(name, `health.sources.${i}`),
      }));
      if (h.probe.enabled) {
        const extra = sources.flatMap(({ name, source }) =>
          source.kind === 'benchmark' ? statementsOf(source.file, name) : [],
        );
        latencyMs = await probeOnce(deps.pool(input.target), deps.schema(input.target), input.userId, extra);
        if (latencyMs > input.baselineMs * h.latencyFactor && latencyMs - input.baselineMs > h.minLatencyDeltaMs) {
          triggers.push(
            `latency ${latencyMs.toFixed(1)} ms > ${h.latencyFactor}x baseline ${input.baselineMs.toFixed(1)} ms`,
          );
        }
      }
      let errors = 0;
      let requests = 0;
      const counters: Record<string, Counters> = {};
      for (const { name, source } of sources) {
        if (source.kind === 'sql') {
          const pool = source.dsn ? deps.poolForRef(source.dsn) : deps.pool(input.target);
          const [query] = statementsOf(source.file, name);
          if (!query) throw new Error(`health source "${name}": its SQL file holds no statement`);
          const row = (await pool.query<{ errors: string | number; requests: string | number }>(query)).rows[0];
          errors += Number(row?.errors ?? 0);
          requests += Number(row?.requests ?? 0);
        } else if (source.kind === 'prometheus') {
          const res = await fetchConfigured(source.url, `health source "${name}"`);
          if (!res.ok) throw new Error(`health source "${name}" answered ${res.status}`);
          const text = await res.text();
          const now = { errors: promCounter(text, source.errorsMetric), total: promCounter(text, source.totalMetric) };
          const before = input.previous[name];
          counters[name] = now;
          if (before) {
            errors += Math.max(0, now.errors - before.errors);
            requests += Math.max(0, now.total - before.total);
          }
        }
      }
      const errorRate = requests > 0 ? errors / requests : null;
      if (errorRate !== null && requests >= h.minSamples && errorRate > h.errorRateThreshold) {
        triggers.push(
          `error rate ${(errorRate * 100).toFixed(2)} % over ${requests} requests > ${(h.errorRateThreshold * 100).toFixed(2)} %`,
        );
      }
      const invalidIndexes = (
        await deps
          .pool(input.target)
          .query<{ name: string }>(sqlFile('queries/invalid_indexes.sql'), [deps.schema(input.target)])
      ).rows.map((r) => r.name);
      const foreign = invalidIndexes.filter((n) => !OUR_INDEXES.has(n));
      if (foreign.length) triggers.push(`INVALID index(es) in the target: ${foreign.join(', ')}`);
      return {
        latencyMs,
        baselineMs: input.baselineMs,
        errors,
        requests,
        errorRate,
        invalidIndexes,
        counters,
        trigger: triggers.length ? triggers.join('; ') : null,
      };
    },

    /** Rollback notifications: a structured log entry always (the worker's logger: its file, and the
     * console at WARN for a rollback that started or failed), a JSON POST when a webhook is configured. */
    async notify(input: {
      webhook?: string;
      event: 'rollback-started' | 'rollback-succeeded' | 'rollback-failed';
      details: Record<string, unknown>;
    }): Promise<void> {
      if (input.event === 'rollback-succeeded') log.info(input.event, input.details);
      else log.warn(input.event, input.details);
      if (input.event !== 'rollback-started')
        recordRollback(String(input.details.cause), input.event === 'rollback-succeeded');
      if (!input.webhook) return;
      const url = deps.capabilities.webhookUrl(input.webhook, 'health.webhook');
      const res = await fetchConfigured(url, `webhook "${input.webhook}"`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ event: input.event, ...input.details }),
      });
      if (!res.ok) throw new Error(`webhook "${input.webhook}" answered ${res.status}`);
    },
  };
}

/** Indexes this project builds: their validity is checked by the build itself, not the guard. */
const OUR_INDEXES = new Set(ourIndexNames());
