// Staged rollouts: start one, watch its cohorts and gates, approve or reject a held cohort, and
// schedule stages at given times with Temporal Schedules (overlap skip, paused on failure).
import { readFileSync } from 'node:fs';
import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Command } from 'commander';
import { DEFAULT_TASK_QUEUE } from '../../lib/defaults';
import { parseRolloutInput, type RolloutInput } from '../../lib/input';
import { approveUpdate, rejectUpdate, rolloutStatusQuery, type RolloutStatus } from '../../workflows/definitions';
import { withTemporalClient } from '../connection';
import { failureMessage } from '../failures';

function manifest(path: string, overrides: Partial<RolloutInput>): RolloutInput {
  const input = { ...(JSON.parse(readFileSync(path, 'utf8')) as RolloutInput), ...overrides };
  parseRolloutInput(input); // fail fast, naming the field
  return input;
}

function printStatus(s: RolloutStatus, json?: boolean): void {
  if (json) return void console.log(JSON.stringify(s, null, 2));
  console.log(
    `rollout ${s.status}${s.waitingForApproval !== null ? ` — cohort ${s.waitingForApproval} waits for approval (migrator rollout approve)` : ''}`,
  );
  console.table(
    s.cohorts.map(({ failures, ...c }) => ({
      ...c,
      failures: failures.map((f) => `${f.userId}: ${f.type}`).join('; '),
    })),
  );
}

export function registerRollout(program: Command): void {
  const rollout = program
    .command('rollout')
    .description("staged rollouts over many users' source files (cohorts, gates, Schedules)");
  const common = (c: Command) =>
    c
      .requiredOption(
        '--manifest <file>',
        'JSON: {"target":"<target name>","keyring":"<keyring name>","users":[{"userId","source"}] (up to 2,000) or "usersFile":"/path/users.jsonl", "cohorts"?, "concurrency"?, "maxFailureRate"?, "migration"?}',
      )
      .option('--cohorts <fractions>', 'cumulative fractions, e.g. 0.01,0.1,0.5,1')
      .option('--concurrency <n>', 'migrations in flight per cohort')
      .option('--always-approve', 'ask for approval before every cohort')
      .option('--task-queue <name>', 'task queue of the workers', DEFAULT_TASK_QUEUE);
  const overrides = (o: {
    cohorts?: string;
    concurrency?: string;
    alwaysApprove?: boolean;
  }): Partial<RolloutInput> => ({
    ...(o.cohorts ? { cohorts: o.cohorts.split(',').map(Number) } : {}),
    ...(o.concurrency ? { concurrency: Number(o.concurrency) } : {}),
    ...(o.alwaysApprove ? { alwaysApprove: true } : {}),
  });

  common(rollout.command('start').description('start a staged rollout'))
    .option('--workflow-id <id>', 'workflow id', `rollout-${new Date().toISOString().replace(/[:.]/g, '-')}`)
    .option('--wait', 'wait for the end and print the cohorts')
    .option('--json', 'JSON output')
    .action(
      async (o: {
        manifest: string;
        workflowId: string;
        taskQueue: string;
        wait?: boolean;
        json?: boolean;
        cohorts?: string;
        concurrency?: string;
        alwaysApprove?: boolean;
      }) => {
        const input = manifest(o.manifest, overrides(o));
        await withTemporalClient(async (client) => {
          const handle = await client.workflow.start('stagedRollout', {
            taskQueue: o.taskQueue,
            workflowId: o.workflowId,
            args: [input],
            workflowIdConflictPolicy: 'FAIL',
          });
          if (!o.wait)
            return void console.log(
              o.json ? JSON.stringify({ workflowId: handle.workflowId }) : `started rollout ${handle.workflowId}`,
            );
          const status = (await handle.result()) as RolloutStatus;
          printStatus(status, o.json);
          process.exitCode = status.status === 'completed' && status.cohorts.every((c) => c.failed === 0) ? 0 : 1;
        });
      },
    );

  rollout
    .command('status')
    .description('cohorts, counts and gates of a rollout')
    .requiredOption('--workflow-id <id>', 'the rollout')
    .option('--json', 'JSON output')
    .action(async (o: { workflowId: string; json?: boolean }) => {
      await withTemporalClient(async (client) =>
        printStatus(await client.workflow.getHandle(o.workflowId).query(rolloutStatusQuery), o.json),
      );
    });

  for (const name of ['approve', 'reject'] as const) {
    rollout
      .command(name)
      .description(`${name} the cohort a rollout holds at a gate`)
      .requiredOption('--workflow-id <id>', 'the rollout')
      .option('--note <text>', 'recorded with the decision')
      .action(async (o: { workflowId: string; note?: string }) => {
        await withTemporalClient(async (client) => {
          try {
            const handle = client.workflow.getHandle(o.workflowId);
            const options = { args: [o.note] as [string | undefined] };
            const result =
              name === 'approve'
                ? await handle.executeUpdate(approveUpdate, options)
                : await handle.executeUpdate(rejectUpdate, options);
            console.log(JSON.stringify(result));
          } catch (err) {
            if (!(err instanceof WorkflowUpdateFailedError)) throw err;
            console.error(`${name} refused: ${failureMessage(err)}`);
            process.exitCode = 1;
          }
        });
      });
  }

  common(
    rollout
      .command('schedule')
      .description('create one Temporal Schedule per stage: stage i runs cohorts 0..i at the i-th time (UTC)'),
  )
    .requiredOption(
      '--at <times>',
      'comma-separated ISO times, one per cohort, e.g. 2026-12-01T02:00:00Z,2026-12-02T02:00:00Z,…',
    )
    .option('--id <prefix>', 'schedule id prefix', 'rollout')
    .action(
      async (o: {
        manifest: string;
        at: string;
        id: string;
        taskQueue: string;
        cohorts?: string;
        concurrency?: string;
        alwaysApprove?: boolean;
      }) => {
        const input = manifest(o.manifest, overrides(o));
        const times = o.at.split(',').map((t) => new Date(t));
        if (times.some((t) => Number.isNaN(t.getTime()))) throw new Error(`--at: not ISO times: ${o.at}`);
        await withTemporalClient(async (client) => {
          for (const [i, at] of times.entries()) {
            const scheduleId = `${o.id}-stage-${i}`;
            await client.schedule.create({
              scheduleId,
              spec: {
                cronExpressions: [
                  `${at.getUTCMinutes()} ${at.getUTCHours()} ${at.getUTCDate()} ${at.getUTCMonth() + 1} *`,
                ],
              },
              action: {
                type: 'startWorkflow',
                workflowType: 'stagedRollout',
                taskQueue: o.taskQueue,
                workflowId: `${scheduleId}-run`,
                args: [{ ...input, throughCohort: i }],
              },
              policies: { overlap: 'SKIP', pauseOnFailure: true },
              state: { remainingActions: 1, note: `stage ${i} of ${o.id}: cohorts 0..${i} at ${at.toISOString()}` },
            });
            console.log(
              `schedule ${scheduleId}: cohorts 0..${i} at ${at.toISOString()} (overlap skip, paused on failure)`,
            );
          }
        });
      },
    );
}
