import type { Command } from 'commander';
import { fetchHistories, readHistoryFile, replayHistories, type ReplayEntry } from '../../workers/replay';
import { connectClient, temporalSettings } from '../connection';

export function registerReplay(program: Command): void {
  program
    .command('replay')
    .description(
      "replay a run's history against the current workflow code and report determinism errors (exit 1 on any)",
    )
    .option('--workflow-id <id>', "fetch this workflow's histories (every run) from the server")
    .option('--with-children', 'with --workflow-id: also replay its child workflows (transferTable)')
    .option(
      '--file <path...>',
      'history JSON files ({workflowId, history} as recorded, or `temporal workflow show -o json`)',
    )
    .option('--json', 'JSON output')
    .action(async (o: { workflowId?: string; withChildren?: boolean; file?: string[]; json?: boolean }) => {
      if (!o.workflowId && !o.file?.length) {
        console.error('replay: give --workflow-id ID or --file PATH');
        process.exitCode = 2;
        return;
      }
      const entries: ReplayEntry[] = (o.file ?? []).flatMap(readHistoryFile);
      if (o.workflowId) {
        const { client, close } = await connectClient(temporalSettings());
        try {
          entries.push(...(await fetchHistories(client, o.workflowId, Boolean(o.withChildren))));
        } finally {
          await close();
        }
      }
      const outcomes = await replayHistories(entries);
      if (o.json) console.log(JSON.stringify(outcomes, null, 2));
      else
        for (const r of outcomes)
          console.log(`${r.ok ? 'ok  ' : 'FAIL'} ${r.label}${r.error ? `\n     ${r.error}` : ''}`);
      if (outcomes.some((r) => !r.ok)) process.exitCode = 1;
    });
}
