import type { Command } from 'commander';
import { DEFAULT_RESULTS_FILE, runBenchmark } from '../../bench/migration-bench';
import { DEFAULT_CHUNK_ROWS, DEFAULT_PARALLELISM } from '../../lib/defaults';
import { positiveInt } from '../args';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description(
      'one-run comparison on a throwaway stack: plain COPY + keys (the limit), pgloader (installed with apt-get when possible) and this migration end to end; wall time, rows/s, ratios, phases, peak RSS, history events',
    )
    .option('--notes <n>', 'notes in the generated dataset (tasks ≈ 2x)', positiveInt('--notes'), 200_000)
    .option('--chunk-rows <n>', 'rows per chunk', positiveInt('--chunk-rows'), DEFAULT_CHUNK_ROWS)
    .option('--parallelism <n>', 'chunks in flight', positiveInt('--parallelism'), DEFAULT_PARALLELISM)
    .option(
      '--workers <n>',
      'worker processes polling the task queue (the chunks in flight spread over them)',
      positiveInt('--workers'),
      1,
    )
    .option(
      '--source <path>',
      'dataset file: reused when it exists, generated there otherwise (default var/bench/notes-<n>-seed42.sqlite)',
    )
    .option('--no-pgloader', 'skip the pgloader comparison')
    .option('--results <file>', 'JSON Lines file each run is appended to', DEFAULT_RESULTS_FILE)
    .action(
      async (opts: {
        notes: number;
        chunkRows: number;
        parallelism: number;
        workers: number;
        source?: string;
        pgloader: boolean;
        results: string;
      }) => {
        await runBenchmark({ ...opts, resultsFile: opts.results });
      },
    );
}
