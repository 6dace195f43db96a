import { DefaultLogger, Runtime } from '@temporalio/worker';
import type { Command } from 'commander';
import { loadWorkerConfig } from '../../activities/capabilities';
import { createDeps } from '../../activities/deps';
import { HISTOGRAM_BUCKETS } from '../../activities/metrics';
import { DEFAULT_TASK_QUEUE } from '../../lib/defaults';
import { TestFaults } from '../../workers/test-faults';
import { createMigrationWorker } from '../../workers/worker';
import { connectWorker, temporalSettings } from '../connection';

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(
      'run a migration worker against TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE (default localhost:7233, default)',
    )
    .option('--task-queue <name>', 'task queue to poll', DEFAULT_TASK_QUEUE)
    .option('--backup-dir <dir>', 'where backups are written (default: $MIGRATOR_BACKUP_DIR or var/backups)')
    .option('--max-activities <n>', 'concurrent activity executions', '8')
    .option(
      '--metrics-port <n>',
      'expose Prometheus metrics (SDK + migrator_*) on 127.0.0.1:<n>/metrics (default: $MIGRATOR_METRICS_PORT, off)',
    )
    .option('--metrics-host <ip>', 'bind address of the metrics endpoint', '127.0.0.1')
    .option(
      '--config <file>',
      'the worker config: targets, source directories, keyrings, health sources and webhooks runs may use (default: $MIGRATOR_WORKER_CONFIG; docs/security.md)',
    )
    .option(
      '--test-faults <file>',
      'TEST MODE: inject the faults planned in FILE ({"<workflowId>": plan}); never on a production worker',
    )
    .action(
      async (opts: {
        taskQueue: string;
        backupDir?: string;
        maxActivities: string;
        metricsPort?: string;
        metricsHost: string;
        testFaults?: string;
        config?: string;
      }) => {
        // Every capability a run may use comes from here: without a config the worker would grant nothing.
        const configPath = opts.config ?? process.env.MIGRATOR_WORKER_CONFIG;
        if (!configPath)
          throw new Error(
            'migrator worker needs a worker config: --config <file> or MIGRATOR_WORKER_CONFIG (docs/security.md "Trust model")',
          );
        const config = loadWorkerConfig(configPath);
        const metricsPort = opts.metricsPort ?? process.env.MIGRATOR_METRICS_PORT;
        Runtime.install({
          logger: new DefaultLogger((process.env.MIGRATOR_LOG_LEVEL as 'INFO' | undefined) ?? 'INFO'),
          ...(metricsPort
            ? {
                telemetryOptions: {
                  metrics: {
                    prometheus: {
                      bindAddress: `${opts.metricsHost}:${metricsPort}`,
                      histogramBucketOverrides: HISTOGRAM_BUCKETS,
                    },
                  },
                },
              }
            : {}),
        });
        if (metricsPort)
          console.error(`migrator worker: Prometheus metrics on http://${opts.metricsHost}:${metricsPort}/metrics`);
        const maxActivities = Number(opts.maxActivities);
        const settings = temporalSettings();
        const connection = await connectWorker(settings);
        const { worker, deps } = await createMigrationWorker({
          connection,
          namespace: settings.namespace,
          taskQueue: opts.taskQueue,
          deps: createDeps({ backupDir: opts.backupDir, activityConcurrency: maxActivities, config }),
          worker: { maxConcurrentActivityTaskExecutions: maxActivities },
          ...(opts.testFaults ? { testFaults: new TestFaults(opts.testFaults) } : {}),
        });
        if (opts.testFaults) console.error(`migrator worker: TEST MODE, faults planned in ${opts.testFaults}`);
        console.error(
          `migrator worker: config ${configPath} grants targets ${Object.keys(config.targets).join(', ') || '(none)'}; keyrings ${Object.keys(config.keyrings).join(', ') || '(none)'}; ${config.sourceDirs.length} source director(ies)`,
        );
        console.error(
          `migrator worker: polling task queue "${opts.taskQueue}" on ${settings.address} namespace ${settings.namespace} (Ctrl-C to stop)`,
        );
        await worker.run();
        await deps.close();
        await connection.close();
      },
    );
}
