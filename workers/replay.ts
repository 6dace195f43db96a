// Replays workflow histories against the current workflow code (docs/design.md, law 1): a history that
// no longer replays means a change needs patched() or a new workflow type before it ships.
import { readFileSync } from 'node:fs';
import type { Client } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { WORKFLOWS_PATH } from './worker';

export interface ReplayEntry {
  workflowId: string;
  history: unknown;
  label: string;
}

export interface ReplayOutcome {
  label: string;
  workflowId: string;
  ok: boolean;
  error?: string;
}

let quiet = false;
function quietRuntime(): void {
  if (quiet) return;
  try {
    Runtime.install({ logger: new DefaultLogger('ERROR') });
  } catch {
    /* a Runtime is already installed */
  }
  quiet = true;
}

export async function replayHistories(
  entries: ReplayEntry[],
  workflowsPath = WORKFLOWS_PATH,
): Promise<ReplayOutcome[]> {
  quietRuntime();
  const out: ReplayOutcome[] = [];
  const histories = entries.map((e) => ({
    workflowId: e.workflowId,
    history: isProtoHistory(e.history) ? e.history : historyFromJSON(e.history),
  }));
  let i = 0;
  // Results come back in the order the histories were given (several runs share a workflow id).
  for await (const r of Worker.runReplayHistories({ workflowsPath, replayName: 'migrator-replay' }, histories)) {
    const e = entries[i++]!;
    out.push({
      label: e.label,
      workflowId: r.workflowId,
      ok: !r.error,
      ...(r.error ? { error: `${r.error.name}: ${r.error.message}` } : {}),
    });
  }
  return out;
}

/** A History message as the client fetched it (enum values are numbers), not its JSON form. */
function isProtoHistory(h: unknown): h is History {
  const first = (h as { events?: { eventType?: unknown }[] } | null)?.events?.[0];
  return typeof first?.eventType === 'number';
}

/** A history file: a recorded scenario `{ entries }`, `{ workflowId, history }`, or a bare history (`temporal workflow show -o json`). */
export function readHistoryFile(path: string): ReplayEntry[] {
  const json = JSON.parse(readFileSync(path, 'utf8')) as {
    workflowId?: string;
    history?: unknown;
    entries?: ReplayEntry[];
  };
  if (json.entries) return json.entries.map((e) => ({ ...e, label: `${path}: ${e.label}` })); // a recorded scenario (test/replay/record.ts)
  if (json.history) return [{ workflowId: json.workflowId ?? path, history: json.history, label: path }];
  return [{ workflowId: path, history: json, label: path }];
}

/** Every run of a workflow id (continue-as-new chains included), and, on request, of its children. */
export async function fetchHistories(
  client: Client,
  workflowId: string,
  withChildren: boolean,
): Promise<ReplayEntry[]> {
  const entries: ReplayEntry[] = [];
  const runs: string[] = [];
  for await (const w of client.workflow.list({ query: `WorkflowId = '${workflowId.replace(/'/g, "''")}'` }))
    runs.push(w.runId);
  if (runs.length === 0) runs.push('');
  for (const runId of runs) {
    const history = await client.workflow.getHandle(workflowId, runId || undefined).fetchHistory();
    entries.push({ workflowId, history, label: `${workflowId}${runId ? ` run ${runId}` : ''}` });
    if (!withChildren) continue;
    for (const event of history.events ?? []) {
      const child = event.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId;
      if (child) entries.push(...(await fetchHistories(client, child, true)));
    }
  }
  return entries;
}
