// A worker in its own OS process (`migrator worker`), so a test can kill it like a crash would
// and read everything it logged.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { inject } from 'vitest';
import { writeWorkerConfig } from './stack';

const BIN = fileURLToPath(new URL('../../bin/migrator.js', import.meta.url));

export interface WorkerProcess {
  process: ChildProcess;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** `configFile`: the worker config (default: the test worker config as it is now, written to a file). */
export async function spawnWorker(options: {
  taskQueue: string;
  env: Record<string, string>;
  backupDir: string;
  testFaultsFile?: string;
  configFile?: string;
}): Promise<WorkerProcess> {
  let out = '';
  const faults = options.testFaultsFile ? ['--test-faults', options.testFaultsFile] : [];
  const config = ['--config', options.configFile ?? writeWorkerConfig()];
  const child = spawn(
    process.execPath,
    [BIN, 'worker', '--task-queue', options.taskQueue, '--backup-dir', options.backupDir, ...config, ...faults],
    {
      env: {
        ...process.env,
        ...options.env,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_NAMESPACE: 'default',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const deadline = Date.now() + 60_000;
  while (!/Worker state changed[\s\S]*RUNNING/.test(out)) {
    if (child.exitCode !== null) throw new Error(`worker process exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) throw new Error(`worker process did not start within 60 s:\n${out}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    process: child,
    output: () => out,
    async kill(signal = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
