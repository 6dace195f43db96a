import { resolve } from 'node:path';
import type { Command } from 'commander';
import { generateDataset } from '../../gen/generate';
import { plantBadRows } from '../../gen/plant-bad-rows';
import { positiveInt } from '../args';

export function registerGenerate(program: Command): void {
  program
    .command('generate')
    .description('write a deterministic Duru Notes Drift v12 SQLite file (tasks and folders in proportion to notes)')
    .requiredOption('--out <path>', 'file to create (refuses an existing file)')
    .option('--notes <n>', 'number of notes', positiveInt('--notes'), 10_000)
    .option('--seed <n>', 'PRNG seed: same seed and size give the same content', positiveInt('--seed'), 1)
    .option('--canary <text>', 'append this string to every title, body and task content')
    .option(
      '--user-id <uuid>',
      "write the app's user marker (app_meta.user_id): the migration checks it against the run's user",
    )
    .option('--plant-bad-rows', 'also plant one malformed row per mapping rule (ids prefixed bad_)')
    .option('--json', 'print the summary as JSON')
    .action(
      (opts: {
        out: string;
        notes: number;
        seed: number;
        canary?: string;
        userId?: string;
        plantBadRows?: boolean;
        json?: boolean;
      }) => {
        const started = Date.now();
        const summary = generateDataset({
          path: resolve(opts.out),
          seed: opts.seed,
          notes: opts.notes,
          canary: opts.canary,
          ...(opts.userId ? { userId: opts.userId } : {}),
        });
        const planted = opts.plantBadRows ? plantBadRows(resolve(opts.out)) : [];
        if (opts.json) console.log(JSON.stringify({ ...summary, planted: planted.length }, null, 2));
        else {
          console.log(
            `wrote ${summary.path}: ${summary.notes} notes, ${summary.tasks} tasks, ${summary.folders} folders, ${summary.noteFolders} note_folders` +
              `${planted.length ? `, ${planted.length} planted bad rows` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
          );
        }
      },
    );
}
