import { defineConfig } from 'vitest/config';

// The native Temporal bridge does not survive worker threads: every test file runs in its own
// forked process. Integration tests share one Temporal dev server and one PostgreSQL cluster,
// started once by the global setup and handed to tests through `inject()`.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    maxWorkers: 2,
  },
});
