// Every recorded history replays against the current workflow code. A failure here means a
// workflow change is not replay-safe for runs in flight: guard it with patched() (or a new
// workflow type), then re-record with `npm run record-histories` once no old runs remain.
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readHistoryFile, replayHistories, type ReplayEntry } from '../../workers/replay';

const DIR = fileURLToPath(new URL('./histories/', import.meta.url));
const files = readdirSync(DIR)
  .filter((f) => f.endsWith('.json'))
  .sort();

function entriesOf(file: string): ReplayEntry[] {
  return readHistoryFile(`${DIR}${file}`);
}

describe('recorded histories replay on the current workflow code', () => {
  it('has the recorded scenarios', () => {
    const names = files.map((f) => f.replace(/^sdk-[\d.]+_migration-v\d+_/, '').replace(/\.json$/, ''));
    expect(names).toEqual(
      expect.arrayContaining(['success', 'quarantine-heavy', 'abort-rollback', 'health-rollback', 'rollout']),
    );
  });

  it.each(files)('%s', async (file) => {
    const entries = entriesOf(file);
    expect(entries.length).toBeGreaterThan(0);
    const outcomes = await replayHistories(entries);
    expect(outcomes.filter((o) => !o.ok)).toEqual([]);
    expect(outcomes).toHaveLength(entries.length);
  });

  it('fails on a deliberately non-deterministic workflow (the check can fail)', async () => {
    const success = files.find((f) => f.includes('_success'))!;
    const parent = entriesOf(success).filter((e) => !e.workflowId.includes('/'));
    const outcomes = await replayHistories(
      parent,
      fileURLToPath(new URL('./fixtures/nondeterministic-workflows.ts', import.meta.url)),
    );
    expect(outcomes).toHaveLength(parent.length);
    expect(outcomes.every((o) => !o.ok)).toBe(true);
    expect(outcomes[0]!.error).toMatch(/[Nn]ondeterminism|DeterminismViolation/);
  });
});
