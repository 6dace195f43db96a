// A self-hosted Temporal server with PostgreSQL persistence, the way a production cluster runs (not
// the CLI dev server's SQLite): the server and its schema tool are built from the Go module proxy
// (go.temporal.io/server, the release the pinned CLI embeds), the `temporal` and
// `temporal_visibility` databases are created and brought to the current schema with
// temporal-sql-tool, the server starts from a written config, and the `default` namespace and the
// migration's search attributes are registered. Every step is idempotent: a second run finds the
// tools, the databases, the schema and the namespace in place.
//
//   node --import tsx infra/temporal-cluster.ts [--tools-dir DIR] [--state-dir DIR] [--keep-running]
//
// sets everything up on a PostgreSQL of its own under <state-dir>/pg (or DATABASE_URL), starts the
// server, checks it answers, and stops it (or leaves it running and prints TEMPORAL_ADDRESS).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common/lib/time';
// @temporalio/proto is CommonJS whose named exports Node's ESM loader cannot see: take the default.
import proto from '@temporalio/proto';
import pg from 'pg';
import { startLocalPostgres, withDatabase } from './postgres';
import { waitFor } from './ports';
import { PROJECT_ROOT, SEARCH_ATTRIBUTES, temporalAnswers } from './temporal-cli';
import {
  clusterConfigYaml,
  DYNAMIC_CONFIG,
  PERSISTENCE_DATABASE,
  TEMPORAL_SERVER_VERSION,
  VISIBILITY_DATABASE,
  type ClusterPorts,
} from './temporal-cluster-config';

const SERVER_MODULE = 'go.temporal.io/server';
/** Where the two binaries go unless told otherwise (gitignored; .tools is shared with the main checkout). */
export const DEFAULT_CLUSTER_TOOLS = join(PROJECT_ROOT, '.cluster-tools', 'bin');
/** The role that owns Temporal's databases: not the migrator's, not a superuser. */
export const TEMPORAL_ROLE = { user: 'temporal', password: 'temporal' };

export class ClusterSetupError extends Error {}

export interface ClusterTools {
  server: string;
  sqlTool: string;
}

const log = (line: string): void => console.error(`[temporal-cluster] ${line}`);

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env, maxBuffer: 64 * 2 ** 20 });
  if (r.status !== 0)
    throw new ClusterSetupError(
      `${cmd} ${args.join(' ')} failed (exit ${r.status ?? r.signal}): ${(r.stderr || r.stdout || String(r.error)).trim().slice(-2000)}`,
    );
  return r.stdout;
}

/** The binary was built from the pinned server module (`go version -m` reads the build info). */
function builtFromPinned(binary: string): boolean {
  if (!existsSync(binary)) return false;
  const r = spawnSync('go', ['version', '-m', binary], { encoding: 'utf8' });
  return r.status === 0 && new RegExp(`\\smod\\s+${SERVER_MODULE}\\s+${TEMPORAL_SERVER_VERSION}\\s`).test(r.stdout);
}

/**
 * temporal-server and temporal-sql-tool in `dir`, built with `go install` when missing or of another
 * release (a few minutes on 2 cores the first time; the module cache keeps the sources).
 */
export function ensureClusterTools(dir = process.env.TEMPORAL_CLUSTER_TOOLS ?? DEFAULT_CLUSTER_TOOLS): ClusterTools {
  const tools = { server: join(dir, 'temporal-server'), sqlTool: join(dir, 'temporal-sql-tool') };
  if (builtFromPinned(tools.server) && builtFromPinned(tools.sqlTool)) return tools;
  if (spawnSync('go', ['version']).status !== 0)
    throw new ClusterSetupError(
      `no Go toolchain: cannot build ${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION} into ${dir} (install Go, or put temporal-server and temporal-sql-tool there)`,
    );
  const build = join(dir, `.build-${process.pid}`);
  mkdirSync(build, { recursive: true });
  log(`building temporal-server and temporal-sql-tool ${TEMPORAL_SERVER_VERSION} into ${dir} (minutes the first time)`);
  try {
    // `go install pkg@version` names the binaries after their packages: server, sql.
    run(
      'go',
      [
        'install',
        `${SERVER_MODULE}/cmd/server@${TEMPORAL_SERVER_VERSION}`,
        `${SERVER_MODULE}/cmd/tools/sql@${TEMPORAL_SERVER_VERSION}`,
      ],
      {
        ...process.env,
        GOBIN: build,
        GOFLAGS: '-mod=mod',
      },
    );
    renameSync(join(build, 'server'), tools.server);
    renameSync(join(build, 'sql'), tools.sqlTool);
  } finally {
    rmSync(build, { recursive: true, force: true });
  }
  return tools;
}

/** The server module's PostgreSQL schema directory (schema/postgresql/v12), from the Go module cache. */
export function postgresSchemaDir(): string {
  const out = run('go', ['mod', 'download', '-json', `${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`]);
  const dir = (JSON.parse(out) as { Dir?: string }).Dir;
  const schema = dir && join(dir, 'schema', 'postgresql', 'v12');
  if (!schema || !existsSync(join(schema, 'temporal', 'versioned')))
    throw new ClusterSetupError(`${SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}: no schema/postgresql/v12 in ${dir}`);
  return schema;
}

/** The `temporal` role and its two databases (created when missing), then both schemas brought up to date. */
export async function setupPersistence(adminUrl: string, tools: ClusterTools): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const role = await admin.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [TEMPORAL_ROLE.user]);
    if (role.rowCount === 0) {
      log(`creating role ${TEMPORAL_ROLE.user}`);
      await admin.query(`CREATE ROLE ${TEMPORAL_ROLE.user} LOGIN PASSWORD '${TEMPORAL_ROLE.password}'`);
    }
    for (const db of [PERSISTENCE_DATABASE, VISIBILITY_DATABASE]) {
      const found = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [db]);
      if (found.rowCount === 0) {
        log(`creating database ${db}`);
        await admin.query(`CREATE DATABASE ${db} OWNER ${TEMPORAL_ROLE.user}`);
      }
    }
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  const schema = postgresSchemaDir();
  const common = ['--plugin', 'postgres12', '--ep', url.hostname, '-p', url.port || '5432'];
  common.push('-u', TEMPORAL_ROLE.user, '--pw', TEMPORAL_ROLE.password);
  for (const [db, dir] of [
    [PERSISTENCE_DATABASE, 'temporal'],
    [VISIBILITY_DATABASE, 'visibility'],
  ] as const) {
    // setup-schema -v 0.0 only creates the version tables (IF NOT EXISTS); update-schema applies
    // the versioned steps above the recorded version, so both are no-ops on an up-to-date database.
    run(tools.sqlTool, [...common, '--db', db, 'setup-schema', '-v', '0.0']);
    run(tools.sqlTool, [...common, '--db', db, 'update-schema', '-d', join(schema, dir, 'versioned')]);
    log(`schema of ${db} is current`);
  }
}

/** Whether `port` can be bound on 127.0.0.1 right now. */
function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Free ports for every service, below 32768: the SQL persistence stores membership ports in a
 * smallint column, so the kernel's ephemeral range (32768+, what port 0 hands out) fails at start.
 */
async function freePorts(): Promise<ClusterPorts> {
  const names: (keyof ClusterPorts)[] = [
    'frontend',
    'frontendHttp',
    'frontendMembership',
    'history',
    'historyMembership',
    'matching',
    'matchingMembership',
    'worker',
    'workerMembership',
    'metrics',
  ];
  const ports = {} as ClusterPorts;
  const taken = new Set<number>();
  for (const name of names) {
    for (let attempt = 0; ; attempt++) {
      if (attempt > 200) throw new ClusterSetupError('no free TCP port found in 20000..32767');
      const port = 20_000 + Math.floor(Math.random() * 12_768);
      if (taken.has(port) || !(await bindable(port))) continue;
      taken.add(port);
      ports[name] = port;
      break;
    }
  }
  return ports;
}

/** The `default` namespace (1 day retention) and the migration's Keyword search attributes, when missing. */
export async function registerNamespace(address: string, namespace = 'default'): Promise<void> {
  const connection = await Connection.connect({ address });
  try {
    const svc = connection.workflowService;
    const exists = await svc.describeNamespace({ namespace }).then(
      () => true,
      () => false,
    );
    if (!exists) {
      log(`registering namespace ${namespace}`);
      await svc.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') });
    }
    // The frontend's namespace registry refreshes every few seconds: wait until it knows the namespace.
    let listed: Awaited<ReturnType<typeof connection.operatorService.listSearchAttributes>> | null = null;
    await waitFor(
      `namespace ${namespace} in the frontend's registry`,
      async () => !!(listed = await connection.operatorService.listSearchAttributes({ namespace })),
      60_000,
    );
    const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (listed!.customAttributes ?? {})));
    if (missing.length > 0) {
      log(`adding search attributes ${missing.join(', ')}`);
      await connection.operatorService.addSearchAttributes({
        namespace,
        searchAttributes: Object.fromEntries(
          missing.map((name) => [name, proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD]),
        ),
      });
    }
  } finally {
    await connection.close();
  }
}

export interface TemporalCluster {
  address: string;
  metricsUrl: string;
  configDir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** A superuser connection URL of the PostgreSQL that holds Temporal's databases. */
  adminUrl: string;
  /** Config and log go here. */
  stateDir: string;
  toolsDir?: string;
  numHistoryShards?: number;
}

/** Builds (if missing), sets up (if needed) and starts the server; resolves once `default` is usable. */
export async function startTemporalCluster(options: ClusterOptions): Promise<TemporalCluster> {
  const tools = ensureClusterTools(options.toolsDir);
  await setupPersistence(options.adminUrl, tools);
  const configDir = join(resolve(options.stateDir), 'config');
  mkdirSync(configDir, { recursive: true });
  const dynamicConfigFile = join(configDir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, DYNAMIC_CONFIG);
  const url = new URL(options.adminUrl);
  const ports = await freePorts();
  writeFileSync(
    join(configDir, 'cluster.yaml'),
    clusterConfigYaml({
      pg: { host: url.hostname, port: Number(url.port || 5432), ...TEMPORAL_ROLE },
      ports,
      numHistoryShards: options.numHistoryShards ?? 4,
      dynamicConfigFile,
    }),
  );
  const logFile = join(resolve(options.stateDir), 'server.log');
  const out = openSync(logFile, 'a');
  const child = spawn(
    tools.server,
    ['--root', resolve(options.stateDir), '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'],
    { stdio: ['ignore', out, out] },
  );
  closeSync(out);
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await done;
    clearTimeout(timer);
  };
  const address = `127.0.0.1:${ports.frontend}`;
  const died = new Promise<never>((_, reject) =>
    child.once('exit', () => reject(new ClusterSetupError(`temporal-server ${exited} (see ${logFile})`))),
  );
  died.catch(() => undefined); // observed by the race below; after a normal stop nobody waits on it
  try {
    await Promise.race([
      died,
      waitFor(
        `temporal-server on ${address}`,
        async () => {
          if (exited) throw new ClusterSetupError(`temporal-server ${exited} (see ${logFile})`);
          return temporalAnswers(address);
        },
        120_000,
      ),
    ]);
    await Promise.race([died, registerNamespace(address)]);
  } catch (err) {
    await stop();
    throw err;
  }
  log(`temporal-server ${TEMPORAL_SERVER_VERSION} on ${address} (PostgreSQL ${url.host}); log ${logFile}`);
  return { address, metricsUrl: `http://127.0.0.1:${ports.metrics}/metrics`, configDir, process: child, stop };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'tools-dir': { type: 'string' },
      'state-dir': { type: 'string', default: join(PROJECT_ROOT, 'var', 'cluster') },
      'keep-running': { type: 'boolean', default: false },
    },
  });
  const stateDir = resolve(values['state-dir']);
  const local = process.env.DATABASE_URL
    ? null
    : await startLocalPostgres({ dataDir: join(stateDir, 'pg'), durable: true });
  const adminUrl = process.env.DATABASE_URL ?? withDatabase(local!.url, 'postgres');
  try {
    const cluster = await startTemporalCluster({ adminUrl, stateDir, toolsDir: values['tools-dir'] });
    try {
      const connection = await Connection.connect({ address: cluster.address });
      const ns = await connection.workflowService.describeNamespace({ namespace: 'default' });
      const sa = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
      await connection.close();
      console.log(
        `TEMPORAL_ADDRESS=${cluster.address} namespace=${ns.namespaceInfo?.name} search attributes: ${Object.keys(sa.customAttributes ?? {}).join(', ')} metrics: ${cluster.metricsUrl}`,
      );
      if (values['keep-running']) {
        console.log('running; Ctrl-C stops the server and PostgreSQL');
        await new Promise<void>((r) => process.once('SIGINT', () => r()));
      }
    } finally {
      await cluster.stop();
    }
  } finally {
    local?.stop();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(PROJECT_ROOT, 'infra', 'temporal-cluster.ts')) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
