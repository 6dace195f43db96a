// The main job, as a user runs it: `migrator dev` starts its own PostgreSQL and Temporal dev
// server (with Web UI), generates a dataset, migrates it, prints the report and where to look,
// and leaves the run visible to `temporal workflow list`; `dev --stop` stops the servers.
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { resolveTemporalCli } from '../../infra/temporal-cli';
import { tempDir } from '../helpers/stack';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));
const run = promisify(execFile);

it('dev runs a demo migration on its own stack and leaves the run visible; dev --stop stops it', async () => {
  const dir = tempDir('migrator-dev-');
  chmodSync(dir, 0o755); // the cluster inside runs as the postgres user
  const { DATABASE_URL: _ignored, ...inherited } = process.env; // dev starts its own PostgreSQL
  const env = { ...inherited, MIGRATOR_DEV_DIR: dir };
  try {
    const { stdout } = await run(process.execPath, [BIN, 'dev', '--notes', '300'], { env, maxBuffer: 64 * 1024 * 1024 });
    expect(stdout).toMatch(/migration migrate-DEMO_TARGET_URL-\S+ \(run \S+\) completed, validation passed/);
    expect(stdout).toMatch(/local_notes\s+300\s+300/);
    const address = /--address (\S+) --workflow-id/.exec(stdout)![1]!;
    expect(stdout).toMatch(/Web UI:\s+http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows\/migrate-DEMO_TARGET_URL/);
    const list = execFileSync(resolveTemporalCli()!.path, ['workflow', 'list', '--address', address, '--query', "WorkflowType = 'migrationWorkflow'"], { encoding: 'utf8' });
    expect(list).toContain('migrate-DEMO_TARGET_URL-');
    expect(list).toContain('Completed');
  } finally {
    const stopped = await run(process.execPath, [BIN, 'dev', '--stop'], { env });
    expect(stopped.stdout).toContain('stopped Temporal dev server');
    expect(stopped.stdout).toContain('stopped PostgreSQL');
  }
});
