import { describe, expect, it } from 'vitest';
import { clusterConfigYaml, type ClusterConfigInput } from '../../infra/temporal-cluster-config';

const input = (over: Partial<ClusterConfigInput> = {}): ClusterConfigInput => ({
  pg: { host: '127.0.0.1', port: 5433, user: 'temporal', password: 'temporal' },
  ports: {
    frontend: 21001,
    frontendHttp: 21002,
    frontendMembership: 21003,
    history: 21004,
    historyMembership: 21005,
    matching: 21006,
    matchingMembership: 21007,
    worker: 21008,
    workerMembership: 21009,
    metrics: 21010,
  },
  numHistoryShards: 4,
  dynamicConfigFile: '/state/config/dynamicconfig.yaml',
  ...over,
});

/** The indented block under `key:` (up to the next line at the same or a lower indent). */
function block(yaml: string, key: string): string {
  const lines = yaml.split('\n');
  const start = lines.findIndex((l) => l.trim() === `${key}:`);
  expect(start, `${key} present`).toBeGreaterThanOrEqual(0);
  const indent = lines[start]!.search(/\S/);
  const end = lines.findIndex((l, i) => i > start && l.trim() !== '' && l.search(/\S/) <= indent);
  return lines.slice(start + 1, end === -1 ? undefined : end).join('\n');
}

describe('clusterConfigYaml', () => {
  it('points history and visibility at their own PostgreSQL databases with the postgres12 plugin', () => {
    const yaml = clusterConfigYaml(input());
    expect(block(yaml, 'postgres-default')).toMatch(
      /pluginName: "postgres12"\n\s+databaseName: "temporal"\n\s+connectAddr: "127.0.0.1:5433"/,
    );
    expect(block(yaml, 'postgres-visibility')).toMatch(/databaseName: "temporal_visibility"/);
    expect(yaml).toMatch(
      /defaultStore: postgres-default\n\s+visibilityStore: postgres-visibility\n\s+numHistoryShards: 4\n/,
    );
  });

  it('gives each service its own ports and names the frontend as the cluster address', () => {
    const yaml = clusterConfigYaml(input());
    expect(block(yaml, 'frontend')).toMatch(
      /grpcPort: 21001\n\s+membershipPort: 21003\n\s+bindOnLocalHost: true\n\s+httpPort: 21002/,
    );
    expect(block(yaml, 'history')).toMatch(/grpcPort: 21004\n\s+membershipPort: 21005/);
    expect(block(yaml, 'matching')).toMatch(/grpcPort: 21006\n\s+membershipPort: 21007/);
    expect(block(yaml, 'worker')).toMatch(/grpcPort: 21008\n\s+membershipPort: 21009/);
    expect(yaml).toContain('rpcAddress: "127.0.0.1:21001"');
    expect(yaml).toContain('listenAddress: "127.0.0.1:21010"');
    expect(yaml).toContain('filepath: "/state/config/dynamicconfig.yaml"');
  });

  it('quotes the password as a YAML string, so a quote or colon in it cannot change the document', () => {
    const yaml = clusterConfigYaml(input({ pg: { host: 'db', port: 5432, user: 'temporal', password: 'a"b: c' } }));
    expect(yaml).toContain('password: "a\\"b: c"');
  });

  it('refuses a shared port, a port out of range and a bad shard count, naming the field', () => {
    const ports = input().ports;
    expect(() => clusterConfigYaml(input({ ports: { ...ports, metrics: ports.frontend } }))).toThrow(
      /ports: every service/,
    );
    expect(() => clusterConfigYaml(input({ ports: { ...ports, history: 70_000 } }))).toThrow(/ports.history/);
    expect(() => clusterConfigYaml(input({ numHistoryShards: 0 }))).toThrow(/numHistoryShards/);
  });
});
