import { resolve } from 'node:path';
import { InvalidArgumentError, type Command } from 'commander';
import { runLoad } from '../../infra/load-generator';
import { positiveInt } from '../args';

/** "60s", "2m", "500ms" or a number of seconds. */
function duration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError(`--duration must look like 60s, 2m or 500ms, got "${value}"`);
  const n = Number(m[1]);
  return Math.round(m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : n * 1000);
}

export function registerLoad(program: Command): void {
  program
    .command('load')
    .description(
      'write load on a live source file as the app would (notes, tasks, folders, links: inserts, updates, soft and hard deletes); every acknowledged write is logged as a JSON line',
    )
    .requiredOption('--source <file>', 'the source SQLite file to write to')
    .requiredOption(
      '--log <file>',
      'JSON Lines file of acknowledged writes ({op, table, key, contentHash, lockedAtMs})',
    )
    .option('--rate <n>', 'writes per second', positiveInt('--rate'), 200)
    .option('--duration <d>', 'how long to write (60s, 2m, 500ms)', duration, 60_000)
    .option('--user <uuid>', "the source's user (reported with the summary)")
    .option('--freeze-flag <file>', 'do not write while this file holds {"frozenUntilMs": <future epoch ms>, "runId"}')
    .option('--seed <n>', 'PRNG seed', positiveInt('--seed'))
    .option('--json', 'print the summary as JSON')
    .action(
      async (o: {
        source: string;
        log: string;
        rate: number;
        duration: number;
        user?: string;
        freezeFlag?: string;
        seed?: number;
        json?: boolean;
      }) => {
        const controller = new AbortController();
        // SIGTERM/SIGINT end the load after the write in progress (its log line is written).
        for (const sig of ['SIGTERM', 'SIGINT'] as const) process.once(sig, () => controller.abort());
        const summary = await runLoad({
          source: resolve(o.source),
          log: resolve(o.log),
          rate: o.rate,
          durationMs: o.duration,
          freezeFlag: o.freezeFlag ? resolve(o.freezeFlag) : undefined,
          seed: o.seed,
          signal: controller.signal,
        });
        if (o.json) console.log(JSON.stringify({ user: o.user ?? null, ...summary }));
        else
          console.log(
            `load: ${summary.acknowledged} writes acknowledged in ${(summary.elapsedMs / 1000).toFixed(1)} s` +
              ` (${((summary.acknowledged * 1000) / Math.max(1, summary.elapsedMs)).toFixed(0)}/s); longest lock wait ${summary.maxLockWaitMs} ms` +
              `${summary.flagWaitMs ? `; ${summary.flagWaitMs} ms waiting on the freeze flag` : ''}`,
          );
      },
    );
}
