// Temporal connection settings, precedence explicit > environment > defaults (docs/conventions.md §6): the
// standard TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE / TEMPORAL_PROFILE / TEMPORAL_API_KEY variables and
// config profiles through @temporalio/envconfig.
import { Client, Connection } from '@temporalio/client';
import { DefaultFailureConverter } from '@temporalio/common';
import { loadClientConnectConfig } from '@temporalio/envconfig';
import { NativeConnection } from '@temporalio/worker';
import { DEFAULT_TEMPORAL_ADDRESS, DEFAULT_TEMPORAL_NAMESPACE } from '../lib/defaults';
import { codecFromEnv } from '../workers/payload-codec';

export interface TemporalSettings {
  address: string;
  namespace: string;
  options: Record<string, unknown>;
}

export function temporalSettings(explicit: { address?: string; namespace?: string } = {}): TemporalSettings {
  const { connectionOptions, namespace } = loadClientConnectConfig();
  return {
    address: explicit.address ?? connectionOptions.address ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: explicit.namespace ?? namespace ?? DEFAULT_TEMPORAL_NAMESPACE,
    options: connectionOptions as Record<string, unknown>,
  };
}

export async function connectClient(settings: TemporalSettings): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ ...settings.options, address: settings.address }).catch(
    (err: Error) => {
      throw new Error(
        `cannot reach Temporal at ${settings.address} (${err.message}); set TEMPORAL_ADDRESS or start a server (npx migrator dev starts one)`,
      );
    },
  );
  const codec = codecFromEnv();
  const dataConverter = codec
    ? { payloadCodecs: [codec], failureConverter: new DefaultFailureConverter({ encodeCommonAttributes: true }) }
    : undefined;
  return {
    client: new Client({ connection, namespace: settings.namespace, dataConverter }),
    close: () => connection.close(),
  };
}

export async function connectWorker(settings: TemporalSettings): Promise<NativeConnection> {
  return NativeConnection.connect({ ...settings.options, address: settings.address }).catch((err: Error) => {
    throw new Error(
      `cannot reach Temporal at ${settings.address} (${err.message}); set TEMPORAL_ADDRESS or start a server (npx migrator dev starts one)`,
    );
  });
}

/** Runs `fn` with a client from the standard settings, closing the connection afterwards. */
export async function withTemporalClient(fn: (client: Client) => Promise<void>): Promise<void> {
  const { client, close } = await connectClient(temporalSettings());
  try {
    await fn(client);
  } finally {
    await close();
  }
}
