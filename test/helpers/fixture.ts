// The setup most migration tests share: one user's generated source file and keyring, a test worker,
// and a target database (optionally seeded with the app's tables, another user's rows and one of this
// user's own), created in beforeAll and closed in afterAll. Fields are read after beforeAll ran.
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { generateDataset } from '../../gen/generate';
import {
  createTargetDatabase,
  startTestWorker,
  tempDir,
  writeKeyring,
  type TestTarget,
  type TestWorker,
} from './stack';
import { seedTarget } from './target-state';

export interface MigrationFixture {
  readonly userId: string;
  readonly source: string;
  readonly keyring: ReturnType<typeof writeKeyring>;
  readonly worker: TestWorker;
  readonly target: TestTarget;
  /** The other user seedTarget wrote rows for (seeded targets only). */
  readonly otherUser: string;
}

export function migrationFixture(
  name: string,
  options: { seed: number; notes: number; seedTarget?: boolean },
): MigrationFixture {
  const userId = randomUUID();
  const source = join(tempDir(), `${name}.sqlite`);
  const keyring = writeKeyring([userId]);
  let worker: TestWorker | undefined;
  let target: TestTarget | undefined;
  let otherUser = '';
  beforeAll(async () => {
    generateDataset({ path: source, seed: options.seed, notes: options.notes });
    worker = await startTestWorker();
    target = await createTargetDatabase(name.replace(/[^a-z]/g, '').slice(0, 8) || 't');
    if (options.seedTarget) otherUser = (await seedTarget(target, userId)).otherUser;
  });
  afterAll(async () => {
    await worker?.stop();
    await target?.close();
  });
  const ready = <T>(value: T | undefined, what: string): T => {
    if (value === undefined) throw new Error(`migrationFixture(${name}): ${what} is set up in beforeAll`);
    return value;
  };
  return {
    userId,
    source,
    keyring,
    get worker() {
      return ready(worker, 'worker');
    },
    get target() {
      return ready(target, 'target');
    },
    get otherUser() {
      return otherUser;
    },
  };
}
