// Online mode's pure parts: how logged changes coalesce into keys to re-read, and the freeze flag format.
import { describe, expect, it } from 'vitest';
import { CAPTURED_TABLES, coalesceChanges, parseFreezeFlag, type ChangeEntry } from '../../lib/capture';

const e = (seq: number, tbl: string, op: ChangeEntry['op'], old_key: string | null, new_key: string | null) => ({
  seq,
  tbl,
  op,
  old_key,
  new_key,
});

describe('coalesceChanges', () => {
  it('captures every mapped table with its key column', () => {
    expect(CAPTURED_TABLES).toEqual([
      { table: 'local_folders', key: 'id' },
      { table: 'local_notes', key: 'id' },
      { table: 'note_folders', key: 'note_id' },
      { table: 'note_tasks', key: 'id' },
    ]);
  });

  it('turns several changes of one key into one key to re-read, in first-change order', () => {
    const r = coalesceChanges(
      [
        e(11, 'local_notes', 'I', null, 'b'),
        e(12, 'local_notes', 'U', 'a', 'a'),
        e(13, 'local_notes', 'U', 'b', 'b'),
        e(14, 'local_notes', 'D', 'b', null),
        e(15, 'note_tasks', 'D', 't1', null),
      ],
      10,
    );
    expect(r.keys.get('local_notes')).toEqual(['b', 'a']);
    expect(r.keys.get('note_tasks')).toEqual(['t1']);
    expect(r.keys.has('local_folders')).toBe(false);
    expect(r.lastSeq).toBe(15);
    expect(r.changes).toBe(5);
  });

  it('a key change touches the old key (gone) and the new key', () => {
    const r = coalesceChanges([e(3, 'note_folders', 'U', 'n1', 'n2')], 0);
    expect(r.keys.get('note_folders')).toEqual(['n1', 'n2']);
  });

  it('ignores tables no mapping knows and keeps lastSeq at `after` for an empty batch', () => {
    const r = coalesceChanges([e(7, 'pending_ops', 'I', null, '1')], 5);
    expect(r.keys.size).toBe(0);
    expect(r.lastSeq).toBe(7);
    expect(coalesceChanges([], 42)).toEqual({ keys: new Map(), lastSeq: 42, changes: 0 });
  });
});

describe('parseFreezeFlag', () => {
  it('reads exactly {frozenUntilMs, runId}', () => {
    expect(parseFreezeFlag('{"frozenUntilMs": 1700000000000, "runId": "r1"}')).toEqual({
      frozenUntilMs: 1700000000000,
      runId: 'r1',
    });
  });
  it('is null for anything else', () => {
    expect(parseFreezeFlag('not json')).toBeNull();
    expect(parseFreezeFlag('{"frozenUntil": 1, "runId": "r"}')).toBeNull();
    expect(parseFreezeFlag('{"frozenUntilMs": "1", "runId": "r"}')).toBeNull();
  });
});
