import type { Command } from 'commander';
import { createDeps } from '../../activities/deps';
import { DEFAULT_TASK_QUEUE } from '../../lib/defaults';
import { createMigrationWorker } from '../../workers/worker';
import { connectWorker, temporalSettings } from '../connection';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description('run a migration worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (default localhost:7233, default)')
    .option('--task-queue <name>', 'task queue to poll', DEFAULT_TASK_QUEUE)
    .option('--backup-dir <dir>', 'where backups are written (default: $MIGRATOR_BACKUP_DIR or var/backups)')
    .option('--max-activities <n>', 'concurrent activity executions', '8')
    .action(async (opts: { taskQueue: string; backupDir?: string; maxActivities: string }) => {
      const settings = temporalSettings();
      const connection = await connectWorker(settings);
      const { worker, deps } = await createMigrationWorker({
        connection,
        namespace: settings.namespace,
        taskQueue: opts.taskQueue,
        deps: createDeps({ backupDir: opts.backupDir }),
        worker: { maxConcurrentActivityTaskExecutions: Number(opts.maxActivities) },
      });
      console.error(`migrator worker: polling task queue "${opts.taskQueue}" on ${settings.address} namespace ${settings.namespace} (Ctrl-C to stop)`);
      await worker.run();
      await deps.close();
      await connection.close();
    });
}
