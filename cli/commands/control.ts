// Operating live runs: status, watch (progress bar), pause, resume, abort, cutover-now, postpone-cutover, set-chunk-size, set-throttle, list.
import { WorkflowFailedError, WorkflowUpdateFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Command } from 'commander';
import {
  abortUpdate,
  cutoverNowUpdate,
  postponeCutoverUpdate,
  pauseUpdate,
  progressQuery,
  resumeUpdate,
  setChunkSizeUpdate,
  setThrottleUpdate,
  type MigrationResult,
} from '../../workflows/definitions';
import { positiveInt } from '../args';
import { withTemporalClient } from '../connection';
import { failureMessage } from '../failures';
import { renderBar } from '../progress-bar';
import { formatReport } from '../start-migration';

const FAILED = new Set(['FAILED', 'CANCELLED', 'TERMINATED', 'TIMED_OUT']);

/** Waits for a run's end and prints its report or failure; sets the exit code (0 = completed and validated). */
async function finish(client: Client, workflowId: string, json?: boolean): Promise<void> {
  try {
    const result = (await client.workflow.getHandle(workflowId).result()) as MigrationResult;
    console.log(json ? JSON.stringify(result, null, 2) : formatReport(result));
    process.exitCode = result.validation.ok || result.dryRun ? 0 : 1;
  } catch (err) {
    if (!(err instanceof WorkflowFailedError)) throw err;
    console.log(
      json
        ? JSON.stringify({ workflowId, failed: true, message: failureMessage(err) })
        : `migration ${workflowId} failed: ${failureMessage(err)}`,
    );
    process.exitCode = 1;
  }
}

type ControlUpdate =
  | typeof pauseUpdate
  | typeof resumeUpdate
  | typeof abortUpdate
  | typeof setChunkSizeUpdate
  | typeof cutoverNowUpdate
  | typeof postponeCutoverUpdate;

function update(
  program: Command,
  name: string,
  update: ControlUpdate,
  description: string,
  withArg?: 'reason' | 'rows',
): void {
  const cmd = program
    .command(name)
    .description(description)
    .requiredOption('--workflow-id <id>', 'the migration run')
    .option('--json', 'print the answer as JSON');
  if (withArg === 'reason') cmd.option('--reason <text>', 'recorded in the rollback report');
  if (withArg === 'rows') cmd.argument('<rows>', 'new chunk size (rows)', positiveInt('<rows>'));
  cmd.action(async (...args: unknown[]) => {
    const rows = withArg === 'rows' ? (args[0] as number) : undefined;
    const opts = (withArg === 'rows' ? args[1] : args[0]) as { workflowId: string; json?: boolean; reason?: string };
    await withTemporalClient(async (client) => {
      try {
        const handle = client.workflow.getHandle(opts.workflowId);
        const answer =
          update === setChunkSizeUpdate
            ? await handle.executeUpdate(setChunkSizeUpdate, { args: [rows!] })
            : update === abortUpdate
              ? await handle.executeUpdate(abortUpdate, { args: [opts.reason] })
              : await handle.executeUpdate(update as typeof pauseUpdate);
        console.log(opts.json ? JSON.stringify(answer) : `${name}: ${JSON.stringify(answer)}`);
      } catch (err) {
        if (!(err instanceof WorkflowUpdateFailedError)) throw err;
        console.error(`${name} refused: ${failureMessage(err)}`);
        process.exitCode = 1;
      }
    });
  });
}

export function registerControl(program: Command): void {
  program
    .command('status')
    .description("a run's status: live progress while it runs, the report once it ended (exit 1 if it failed)")
    .requiredOption('--workflow-id <id>', 'the migration run')
    .option('--json', 'JSON output')
    .action(async (o: { workflowId: string; json?: boolean }) => {
      await withTemporalClient(async (client) => {
        const handle = client.workflow.getHandle(o.workflowId);
        const d = await handle.describe();
        const status = d.status.name;
        if (status === 'RUNNING') {
          // A query needs a worker to answer it; what the server knows (retries) is shown without one.
          const p = await handle.query(progressQuery).catch((err: Error) => err);
          const retrying = await retryingActivities(client, d.raw);
          const progress = p instanceof Error ? null : p;
          console.log(
            o.json
              ? JSON.stringify(
                  { status, progress, ...(p instanceof Error ? { progressError: p.message } : {}), retrying },
                  null,
                  2,
                )
              : [
                  `${o.workflowId} RUNNING`,
                  p instanceof Error
                    ? `progress unavailable (no worker answered the query: ${p.message})`
                    : renderBar(p),
                  ...retrying.map((r) => `retrying ${r.activity} (attempt ${r.attempt}): ${r.lastFailure}`),
                ].join('\n'),
          );
          return;
        }
        if (FAILED.has(status)) {
          const message = await handle.result().then(
            () => '',
            (e: unknown) => failureMessage(e),
          );
          console.log(o.json ? JSON.stringify({ status, message }) : `${o.workflowId} ${status}: ${message}`);
          process.exitCode = 1;
          return;
        }
        await finish(client, o.workflowId, o.json);
      });
    });

  program
    .command('watch')
    .description('follow a run with a live progress bar (phase, table, rows, rate, ETA), then print its report')
    .requiredOption('--workflow-id <id>', 'the migration run')
    .option('--interval-ms <ms>', 'refresh interval', positiveInt('--interval-ms'), 1000)
    .action(async (o: { workflowId: string; intervalMs: number }) => {
      await withTemporalClient(async (client) => {
        const handle = client.workflow.getHandle(o.workflowId);
        const tty = process.stdout.isTTY;
        let done = false;
        const ended = handle.result().then(
          () => undefined,
          () => undefined,
        );
        void ended.then(() => (done = true));
        while (!done) {
          const p = await handle.query(progressQuery).catch(() => null);
          if (p)
            process.stdout.write(
              tty
                ? `\r\x1b[2K${renderBar(p, Math.max(10, Math.min(40, (process.stdout.columns ?? 120) - 90)))}`
                : `${renderBar(p)}\n`,
            );
          await Promise.race([ended, new Promise((r) => setTimeout(r, o.intervalMs))]);
        }
        if (tty) process.stdout.write('\n');
        await finish(client, o.workflowId);
      });
    });

  update(program, 'pause', pauseUpdate, 'pause a run: no new chunks or phases start (chunks in flight finish)');
  update(program, 'resume', resumeUpdate, 'resume a paused run');
  update(program, 'abort', abortUpdate, 'abort a run: it rolls back and proves the target restored', 'reason');
  update(
    program,
    'cutover-now',
    cutoverNowUpdate,
    'online runs: cut over at the next chance (no wait for the delta threshold or a retry delay; ends a postponement)',
  );
  update(
    program,
    'postpone-cutover',
    postponeCutoverUpdate,
    'online runs: hold the cut-over (delta passes keep the target close) until cutover-now or resume',
  );
  update(program, 'set-chunk-size', setChunkSizeUpdate, 'change the chunk size of chunks planned from now on', 'rows');

  program
    .command('set-throttle')
    .description(
      "change a run's throttle live: the copy waits while the target is over a threshold (given ones replace the current)",
    )
    .requiredOption('--workflow-id <id>', 'the migration run')
    .option(
      '--max-probe-latency-ms <ms>',
      'probe latency (below health.minLatencyDeltaMs)',
      positiveInt('--max-probe-latency-ms'),
    )
    .option(
      '--max-active-backends <n>',
      "active client backends (not the migrator's)",
      positiveInt('--max-active-backends'),
    )
    .option(
      '--max-replication-lag-ms <ms>',
      'replay lag of the slowest standby',
      positiveInt('--max-replication-lag-ms'),
    )
    .option('--max-wal-bytes-per-sec <n>', 'WAL written per second', positiveInt('--max-wal-bytes-per-sec'))
    .option('--check-interval-ms <ms>', 'least time between load checks', positiveInt('--check-interval-ms'))
    .option('--max-backoff-ms <ms>', 'longest wait between checks while throttled', positiveInt('--max-backoff-ms'))
    .option('--json', 'print the answer as JSON')
    .action(async (o: { workflowId: string; json?: boolean } & Record<string, number | undefined>) => {
      const keys = [
        'maxProbeLatencyMs',
        'maxActiveBackends',
        'maxReplicationLagMs',
        'maxWalBytesPerSec',
        'checkIntervalMs',
        'maxBackoffMs',
      ] as const;
      const patch = Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
      await withTemporalClient(async (client) => {
        try {
          const answer = await client.workflow
            .getHandle(o.workflowId)
            .executeUpdate(setThrottleUpdate, { args: [patch] });
          console.log(o.json ? JSON.stringify(answer) : `set-throttle: ${JSON.stringify(answer.throttle)}`);
        } catch (err) {
          if (!(err instanceof WorkflowUpdateFailedError)) throw err;
          console.error(`set-throttle refused: ${failureMessage(err)}`);
          process.exitCode = 1;
        }
      });
    });

  program
    .command('list')
    .description(
      'migration runs, filtered by the search attributes MigrationStatus / MigrationPhase / MigrationUser / MigrationTarget',
    )
    .option('--status <s>', 'running, completed, rolled-back, rollback-failed, failed, …')
    .option('--phase <p>', 'preflight, backup, schema, indexes, transfer, validation, post-migration, …')
    .option('--user <uuid>', 'the user id')
    .option('--target <name>', 'the target name (as in the worker config)')
    .option('--limit <n>', 'at most this many', positiveInt('--limit'), 50)
    .option('--json', 'JSON output')
    .action(
      async (o: { status?: string; phase?: string; user?: string; target?: string; limit: number; json?: boolean }) => {
        const clauses = ["WorkflowType = 'migrationWorkflow'"];
        const add = (attr: string, v?: string) => v && clauses.push(`${attr} = '${v.replace(/'/g, "''")}'`);
        add('MigrationStatus', o.status);
        add('MigrationPhase', o.phase);
        add('MigrationUser', o.user?.toLowerCase());
        add('MigrationTarget', o.target);
        await withTemporalClient(async (client) => {
          const rows: Record<string, unknown>[] = [];
          for await (const w of client.workflow.list({ query: clauses.join(' AND ') })) {
            const sa = w.typedSearchAttributes;
            const get = (name: string) => sa.getAll().find((p) => p.key.name === name)?.value ?? '';
            rows.push({
              workflowId: w.workflowId,
              status: w.status.name,
              phase: get('MigrationPhase'),
              migrationStatus: get('MigrationStatus'),
              user: get('MigrationUser'),
              started: w.startTime.toISOString(),
            });
            if (rows.length >= o.limit) break;
          }
          if (o.json) console.log(JSON.stringify(rows, null, 2));
          else if (rows.length === 0) console.log('(no runs match)');
          else console.table(rows);
        });
      },
    );
}

type Described = Awaited<ReturnType<WorkflowHandle['describe']>>['raw'];

/**
 * Activities the server is retrying, with their last failure (e.g. TargetDiskFull while the target's
 * disk is full): a run that only waits on retries looks healthy in the progress query alone. The
 * chunks run in child workflows (one per table and continue-as-new window), so their pending
 * activities are looked up too, two levels down.
 */
async function retryingActivities(
  client: Client,
  raw: Described,
  depth = 0,
): Promise<{ workflowId: string; activity: string; attempt: number; lastFailure: string }[]> {
  const workflowId = raw.workflowExecutionInfo?.execution?.workflowId ?? '';
  const own = (raw.pendingActivities ?? [])
    .filter((a) => (a.attempt ?? 1) > 1 && a.lastFailure?.message)
    .map((a) => ({
      workflowId,
      activity: a.activityType?.name ?? '?',
      attempt: a.attempt ?? 0,
      lastFailure: a.lastFailure!.message!,
    }));
  if (depth >= 2) return own;
  const children = await Promise.all(
    (raw.pendingChildren ?? []).map(async (c) => {
      try {
        const d = await client.workflow.getHandle(c.workflowId ?? '', c.runId ?? undefined).describe();
        return await retryingActivities(client, d.raw, depth + 1);
      } catch {
        return []; // ended between the two calls
      }
    }),
  );
  return [...own, ...children.flat()];
}
