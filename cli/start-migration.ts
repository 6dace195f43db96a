// Starts a migration workflow from a client: validated input, id from target + user with conflict
// policy FAIL, initial search attributes and a memo naming source and target (no secrets).
import { basename } from 'node:path';
import type { Client, WorkflowHandle, WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { DEFAULT_TASK_QUEUE } from '../lib/defaults';
import { migrationWorkflowId, parseMigrationInput, type MigrationInput } from '../lib/input';
import { progressQuery, type MigrationResult, type OnlineReport } from '../workflows/definitions';
import { ProgressDisplay } from './progress';
import { MigrationStatus, MigrationTarget, MigrationUser } from '../workflows/search-attributes';

export async function startMigration(
  client: Client,
  input: MigrationInput,
  options: { taskQueue?: string; workflowId?: string } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId> {
  const cfg = parseMigrationInput(input); // fail fast with the field's name, before anything starts
  return client.workflow.start('migrationWorkflow', {
    taskQueue: options.taskQueue ?? DEFAULT_TASK_QUEUE,
    workflowId: options.workflowId ?? migrationWorkflowId(cfg),
    workflowIdConflictPolicy: 'FAIL',
    args: [input],
    memo: { source: basename(cfg.source), target: cfg.target, dryRun: cfg.dryRun },
    typedSearchAttributes: [
      { key: MigrationUser, value: cfg.userId.toLowerCase() },
      { key: MigrationTarget, value: cfg.target },
      { key: MigrationStatus, value: 'running' },
    ],
  });
}

/**
 * Waits for the result while showing the live progress display (cli/progress.ts) on `output`
 * (default stderr), polling the progress query every `intervalMs`.
 */
export async function waitWithProgress(
  handle: WorkflowHandle,
  options: { quiet?: boolean; intervalMs?: number; output?: NodeJS.WriteStream; summaryEveryMs?: number } = {},
): Promise<MigrationResult> {
  const result = handle.result() as Promise<MigrationResult>;
  if (options.quiet) return result;
  const stream = options.output ?? process.stderr;
  const display = new ProgressDisplay(
    { isTTY: stream.isTTY === true, columns: stream.columns, write: (text) => void stream.write(text) },
    { summaryEveryMs: options.summaryEveryMs },
  );
  let polling = false;
  let done = false;
  const poll = () => {
    if (polling) return; // a slow query is not stacked up behind another
    polling = true;
    handle
      .query(progressQuery)
      .then((p) => done || display.update(p))
      .catch(() => undefined) // the workflow may be between tasks or just closed: the next poll tells
      .finally(() => (polling = false));
  };
  poll();
  const timer = setInterval(poll, options.intervalMs ?? 500);
  let finished: MigrationResult | undefined;
  try {
    finished = await result;
    return finished;
  } finally {
    clearInterval(timer);
    done = true;
    display.finish(finished);
  }
}

/** A human-readable report of a result: counts, checksums, durations, backups. */
/** Online runs: the write freeze, the attempts and the delta passes, on one line. */
export function formatOnline(o: OnlineReport): string {
  const attempts = o.attempts ?? [];
  const failed = attempts.filter((a) => a.outcome !== 'done').map((a) => `${a.outcome} ${Math.round(a.windowMs)} ms`);
  const freeze = o.freezeMs === null ? 'not yet' : `${o.freezeMs.toFixed(0)} ms`;
  return (
    `online: write freeze ${freeze}${o.budgetMs ? ` (budget ${o.budgetMs} ms, hook ${o.freezeHook ?? 'none: source lock only'})` : ''}; ` +
    `${attempts.length} cut-over attempt(s)${failed.length ? ` (${failed.join(', ')})` : ''}; ` +
    `${o.passes} delta passes, ${o.changesApplied} changes applied`
  );
}

export function formatReport(r: MigrationResult): string {
  const lines = [
    `migration ${r.workflowId} (run ${r.runId}) ${r.status}${r.validation.ok ? ', validation passed' : ''}`,
  ];
  lines.push('  table          source  migrated  inserted  quarantined  repaired  checksum          target checksum');
  for (const [table, t] of Object.entries(r.tables)) {
    lines.push(
      `  ${table.padEnd(13)} ${String(t.sourceRows).padStart(7)} ${String(t.migrated).padStart(9)} ${String(t.inserted).padStart(9)} ${String(t.quarantined).padStart(12)} ${String(t.repaired).padStart(9)}  ${t.checksum}  ${t.targetChecksum ?? '-'}`,
    );
  }
  lines.push(
    `  phases: ${Object.entries(r.phaseDurationsMs)
      .map(([p, ms]) => `${p} ${(ms / 1000).toFixed(1)} s`)
      .join(', ')}`,
  );
  if (r.online) lines.push(`  ${formatOnline(r.online)}`);
  if (r.throttledMs !== undefined)
    lines.push(`  throttled: ${(r.throttledMs / 1000).toFixed(1)} s waiting on the target's load`);
  for (const b of r.backups)
    lines.push(
      `  backup ${b.backupId} (${b.kind}, ${b.bytes} bytes, sha256 ${b.sha256.slice(0, 16)}…, verified ${b.verified})`,
    );
  if (r.uncovered.tables.length || r.uncovered.columns.length) {
    lines.push(
      `  not migrated (not in the mapping): tables ${r.uncovered.tables.join(', ') || '-'}; columns ${r.uncovered.columns.join(', ') || '-'}`,
    );
  }
  if (r.indexes.created.length) lines.push(`  indexes created: ${r.indexes.created.join(', ')}`);
  return lines.join('\n');
}
