import { resolve } from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import {
  DEFAULT_CHUNK_BYTES,
  DEFAULT_CHUNK_ROWS,
  DEFAULT_PARALLELISM,
  DEFAULT_QUARANTINE_THRESHOLD,
  DEFAULT_SAMPLE_SIZE,
  DEFAULT_TASK_QUEUE,
} from '../../lib/defaults';
import { parseMigrationInput, type MigrationInput } from '../../lib/input';
import { connectClient, temporalSettings } from '../connection';
import { fraction, positiveInt } from '../args';
import { formatReport, startMigration, waitWithProgress } from '../start-migration';
import { failureMessage } from '../failures';

interface MigrateOptions {
  source: string;
  userId: string;
  target: string;
  keyring: string;
  chunkRows: number;
  chunkBytes: number;
  parallelism: number;
  quarantineThreshold: number;
  sampleSize: number;
  expectDatabase?: string;
  dryRun?: boolean;
  sourceOwnershipUnverified?: boolean;
  wait?: boolean;
  json?: boolean;
  taskQueue: string;
  workflowId?: string;
}

export function registerMigrate(program: Command): void {
  program
    .command('migrate')
    .alias('start')
    .description("start a migration of one user's source file (a worker must be running: `migrator worker`)")
    .requiredOption('--source <path>', 'source SQLite file (Drift v12), as the worker sees it')
    .requiredOption('--user-id <uuid>', 'owner of the source file')
    .requiredOption('--target <name>', 'a target declared in the worker config (its DSN stays with the worker)')
    .requiredOption('--keyring <name>', 'a keyring declared in the worker config')
    .option('--chunk-rows <n>', 'source rows per chunk', positiveInt('--chunk-rows'), DEFAULT_CHUNK_ROWS)
    .option(
      '--chunk-bytes <n>',
      'source bytes per chunk (a chunk ends at whichever bound comes first)',
      positiveInt('--chunk-bytes'),
      DEFAULT_CHUNK_BYTES,
    )
    .option('--parallelism <n>', 'chunk activities in flight', positiveInt('--parallelism'), DEFAULT_PARALLELISM)
    .option(
      '--quarantine-threshold <f>',
      'fraction of a table that may be quarantined',
      fraction('--quarantine-threshold'),
      DEFAULT_QUARANTINE_THRESHOLD,
    )
    .option(
      '--sample-size <n>',
      'rows per table deep-compared in validation',
      positiveInt('--sample-size'),
      DEFAULT_SAMPLE_SIZE,
    )
    .option('--expect-database <name>', 'refuse unless the target is this database (the worker config names one too)')
    .option('--dry-run', 'transform and validate every row, write nothing')
    .option(
      '--source-ownership-unverified',
      "accept a source file without the app's user marker (you checked whose it is; recorded on the run)",
    )
    .option('--wait', 'wait for the result and print it (exit 0 only if completed and validated)')
    .option('--json', 'with --wait: print the result object alone on stdout')
    .option('--task-queue <name>', 'task queue of the workers', DEFAULT_TASK_QUEUE)
    .option('--workflow-id <id>', 'override the workflow id (default: from target and user)')
    .action(async (opts: MigrateOptions) => {
      const input: MigrationInput = {
        source: resolve(opts.source),
        userId: opts.userId,
        target: opts.target,
        keyring: opts.keyring,
        chunkRows: opts.chunkRows,
        chunkBytes: opts.chunkBytes,
        parallelism: opts.parallelism,
        quarantineThreshold: opts.quarantineThreshold,
        sampleSize: opts.sampleSize,
        dryRun: Boolean(opts.dryRun),
        ...(opts.sourceOwnershipUnverified ? { sourceOwnershipUnverified: true } : {}),
        ...(opts.expectDatabase ? { expectDatabase: opts.expectDatabase } : {}),
      };
      try {
        parseMigrationInput(input); // a bad argument fails before anything connects
      } catch (err) {
        console.error(`migrator migrate: ${(err as Error).message}`);
        process.exitCode = 2;
        return;
      }
      const settings = temporalSettings();
      const { client, close } = await connectClient(settings);
      try {
        const handle = await startMigration(client, input, { taskQueue: opts.taskQueue, workflowId: opts.workflowId });
        if (!opts.wait) {
          const out = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
          console.log(
            opts.json
              ? JSON.stringify(out)
              : `started ${out.workflowId} (run ${out.runId}); follow it with: temporal workflow describe --workflow-id ${out.workflowId}`,
          );
          return;
        }
        if (!opts.json) console.error(`started ${handle.workflowId}; waiting for the result…`);
        try {
          const result = await waitWithProgress(handle, { quiet: opts.json });
          console.log(opts.json ? JSON.stringify(result, null, 2) : formatReport(result));
          process.exitCode = result.validation.ok || result.dryRun ? 0 : 1;
        } catch (err) {
          if (!(err instanceof WorkflowFailedError)) throw err;
          console.error(`migration ${handle.workflowId} failed: ${failureMessage(err)}`);
          process.exitCode = 1;
        }
      } finally {
        await close();
      }
    });
}
