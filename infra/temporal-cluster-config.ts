// The static config of a self-hosted Temporal server with PostgreSQL persistence (the shape of the
// server's own config/development-postgres12.yaml): one cluster, every service in one process, the
// `postgres12` SQL plugin for history and visibility. Pure, so a unit test can check what it writes.

/** Temporal server release the bench builds: the one the pinned CLI (v1.5.1) embeds. */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const PERSISTENCE_DATABASE = 'temporal';
export const VISIBILITY_DATABASE = 'temporal_visibility';

export interface ClusterPorts {
  frontend: number;
  frontendHttp: number;
  frontendMembership: number;
  history: number;
  historyMembership: number;
  matching: number;
  matchingMembership: number;
  worker: number;
  workerMembership: number;
  /** Prometheus endpoint of the server's own metrics. */
  metrics: number;
}

export interface ClusterConfigInput {
  pg: { host: string; port: number; user: string; password: string };
  ports: ClusterPorts;
  /** History shards: fixed for the life of the cluster's database (4 here; production sizes it once, e.g. 512+). */
  numHistoryShards: number;
  /** Absolute path of the dynamic config file the server polls. */
  dynamicConfigFile: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

/** Dynamic config: what the CLI dev server sets by default, plus Worker Versioning (deployments) switched on. */
export const DYNAMIC_CONFIG = `# written by infra/temporal-cluster.ts
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
frontend.persistenceMaxQPS:
  - value: 10000
history.persistenceMaxQPS:
  - value: 45000
system.enableDeploymentVersions:
  - value: true
system.enableDeployments:
  - value: true
frontend.workerVersioningWorkflowAPIs:
  - value: true
frontend.enableUpdateWorkflowExecution:
  - value: true
limit.maxIDLength:
  - value: 255
`;

function checkPort(name: string, port: number): void {
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new RangeError(`ports.${name}: not a TCP port (${port})`);
}

const q = (s: string): string => JSON.stringify(s); // a YAML double-quoted scalar is a JSON string

export function clusterConfigYaml(input: ClusterConfigInput): string {
  for (const [name, port] of Object.entries(input.ports)) checkPort(name, port);
  checkPort('pg.port', input.pg.port);
  if (new Set(Object.values(input.ports)).size !== Object.keys(input.ports).length)
    throw new RangeError('ports: every service needs a port of its own');
  if (!Number.isInteger(input.numHistoryShards) || input.numHistoryShards < 1)
    throw new RangeError(`numHistoryShards: expected a positive integer, got ${input.numHistoryShards}`);
  const { pg, ports } = input;
  const datastore = (database: string, maxConns: number): string => `      sql:
        pluginName: "postgres12"
        databaseName: ${q(database)}
        connectAddr: ${q(`${pg.host}:${pg.port}`)}
        connectProtocol: "tcp"
        user: ${q(pg.user)}
        password: ${q(pg.password)}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number, http?: number): string => `    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http === undefined ? '' : `\n      httpPort: ${http}`}`;
  return `# written by infra/temporal-cluster.ts (Temporal server ${TEMPORAL_SERVER_VERSION}, PostgreSQL persistence)
log:
  stdout: true
  level: ${input.logLevel ?? 'warn'}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: ${input.numHistoryShards}
  datastores:
    postgres-default:
${datastore(PERSISTENCE_DATABASE, 20)}
    postgres-visibility:
${datastore(VISIBILITY_DATABASE, 4)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  metrics:
    prometheus:
      framework: "tally"
      timerType: "histogram"
      listenAddress: ${q(`127.0.0.1:${ports.metrics}`)}

services:
  frontend:
${service(ports.frontend, ports.frontendMembership, ports.frontendHttp)}
  matching:
${service(ports.matching, ports.matchingMembership)}
  history:
${service(ports.history, ports.historyMembership)}
  worker:
${service(ports.worker, ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: ${q(`127.0.0.1:${ports.frontend}`)}

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${q(input.dynamicConfigFile)}
  pollInterval: "10s"
`;
}
