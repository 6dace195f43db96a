import type { Command } from 'commander';
import { runBenchmark } from '../../bench/migration-bench';
import { DEFAULT_CHUNK_ROWS, DEFAULT_PARALLELISM } from '../../lib/defaults';
import { positiveInt } from '../args';

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('end-to-end benchmark on a throwaway stack: rows/s and peak worker memory next to a plain COPY of the same rows')
    .option('--notes <n>', 'notes in the generated dataset (tasks ≈ 2x)', positiveInt('--notes'), 200_000)
    .option('--chunk-rows <n>', 'rows per chunk', positiveInt('--chunk-rows'), DEFAULT_CHUNK_ROWS)
    .option('--parallelism <n>', 'chunks in flight', positiveInt('--parallelism'), DEFAULT_PARALLELISM)
    .option('--source <path>', 'use (or create) this dataset file instead of a temporary one')
    .action(async (opts: { notes: number; chunkRows: number; parallelism: number; source?: string }) => {
      await runBenchmark(opts);
    });
}
