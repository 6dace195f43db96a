// One real Temporal dev server and one real PostgreSQL for the whole test run. If either cannot
// start, the run fails here with a message saying what to install or set: nothing is skipped.
import type { TestProject } from 'vitest/node';
import { startLocalPostgres, type LocalPostgres } from '../../infra/postgres';
import { startDevServer, temporalCliVersion } from '../../infra/temporal-cli';

declare module 'vitest' {
  export interface ProvidedContext {
    pgUrl: string;
    temporalAddress: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  let pg: LocalPostgres | null = null;
  const pgUrl = process.env.DATABASE_URL ?? (pg = await startLocalPostgres()).url;
  const temporal = await startDevServer({ headless: true }).catch(async (err: Error) => {
    pg?.stop();
    throw err;
  });
  const version = temporal.cli.source === 'SDK download' ? '' : ` ${temporalCliVersion(temporal.cli.path)}`;
  console.log(
    `[test stack] Temporal dev server ${temporal.address} from ${temporal.cli.source} (${temporal.cli.path}${version})`,
  );
  console.log(
    `[test stack] PostgreSQL ${process.env.DATABASE_URL ? 'from DATABASE_URL' : `throwaway cluster ${pg!.dataDir}`}`,
  );
  project.provide('pgUrl', pgUrl);
  project.provide('temporalAddress', temporal.address);
  return async () => {
    await temporal.stop();
    pg?.stop();
  };
}
