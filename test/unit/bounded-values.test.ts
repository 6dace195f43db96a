// Resource bounds that protect the worker from a single row: the JSON depth bound (a 6,000-deep array
// is quarantined, not a stack overflow), the chunk byte bound, and the input's chunk byte budget.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CHUNK_BYTES, MAX_CHUNK_BYTES, MAX_JSON_DEPTH, MIN_CHUNK_BYTES } from '../../lib/defaults';
import { InvalidInputError } from '../../lib/errors';
import { parseMigrationInput } from '../../lib/input';
import { chunkLength, type KeySize } from '../../lib/mapping/bounds';
import { notesMapping } from '../../lib/mapping/notes';
import { tasksMapping } from '../../lib/mapping/tasks';
import { jsonDepthExceeds, optionalJson, RowRejection } from '../../lib/mapping/values';
import { QuarantineReason } from '../../lib/reasons';

const nested = (depth: number, open = '[', close = ']'): string => open.repeat(depth) + close.repeat(depth);
const ctx = { userId: '0b7e7a4c-3c1d-4a8e-9f6b-2d5c1e8a9f01', asOfSeconds: 1_735_689_600 };

function rejection(fn: () => unknown): RowRejection {
  try {
    fn();
  } catch (err) {
    if (err instanceof RowRejection) return err;
    throw err;
  }
  throw new Error('expected a RowRejection');
}

describe('JSON depth bound', () => {
  it('counts arrays and objects, not brackets inside strings', () => {
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH), MAX_JSON_DEPTH)).toBe(false);
    expect(jsonDepthExceeds(nested(MAX_JSON_DEPTH + 1), MAX_JSON_DEPTH)).toBe(true);
    expect(jsonDepthExceeds('{"a":{"b":[1,{"c":2}]}}', 4)).toBe(false);
    expect(jsonDepthExceeds('{"a":{"b":[1,{"c":2}]}}', 3)).toBe(true);
    expect(jsonDepthExceeds(`["${'['.repeat(10_000)}"]`, 1)).toBe(false);
    // An escaped quote does not end the string: the brackets after it are still inside.
    expect(jsonDepthExceeds(`["a\\"${'['.repeat(100)}"]`, 1)).toBe(false);
    expect(jsonDepthExceeds('[[1],[2],[3]]', 2)).toBe(false);
  });

  it('a 6,000-deep value is INVALID_JSON, not a RangeError, in every JSON column', () => {
    const deep = nested(6_000);
    expect(rejection(() => optionalJson({ m: deep }, 'm'))).toMatchObject({
      reason: QuarantineReason.INVALID_JSON,
      column: 'm',
    });
    expect(rejection(() => optionalJson({ m: Buffer.from(nested(6_000, '{"a":', '}')) }, 'm')).reason).toBe(
      QuarantineReason.INVALID_JSON,
    );
    const note = {
      id: 'n1',
      title: Buffer.from('t'),
      body: Buffer.from('b'),
      updated_at: 1_700_000_000,
      deleted: 0,
      encrypted_metadata: Buffer.from(deep),
      is_pinned: 0,
      note_type: 0,
    };
    expect(rejection(() => notesMapping.transform(note, ctx))).toMatchObject({
      reason: 'INVALID_JSON',
      column: 'encrypted_metadata',
    });
    const task = {
      id: 't1',
      note_id: Buffer.from('n1'),
      content: Buffer.from('c'),
      status: 0,
      priority: 1,
      position: 0,
      labels: Buffer.from(deep),
      created_at: 1_700_000_000,
      updated_at: 1_700_000_000,
      deleted: 0,
    };
    expect(rejection(() => tasksMapping.transform(task, ctx))).toMatchObject({
      reason: 'INVALID_JSON',
      column: 'labels',
    });
  });

  it('a value at the bound still parses and keeps its shape', () => {
    const parsed = optionalJson({ m: nested(MAX_JSON_DEPTH) }, 'm');
    let depth = 0;
    for (let v: unknown = parsed; Array.isArray(v); v = v[0]) depth++;
    expect(depth).toBe(MAX_JSON_DEPTH);
  });
});

describe('chunk size bound', () => {
  const rows = (...bytes: number[]): KeySize[] => bytes.map((b, i) => ({ k: `k${i}`, bytes: b }));

  it('ends a chunk at the row limit or the byte budget, whichever comes first', () => {
    expect(chunkLength(rows(10, 10, 10, 10), 3, 1_000)).toBe(3);
    expect(chunkLength(rows(10, 10, 10, 10), 10, 25)).toBe(2);
    expect(chunkLength(rows(10, 10, 10, 10), 10, 30)).toBe(3);
    // 1,000 notes of 300 KB: the byte budget, not the row count, ends the chunk.
    const notes = rows(...Array.from({ length: 1_001 }, () => 300_000));
    const n = chunkLength(notes, 1_000, DEFAULT_CHUNK_BYTES);
    expect(n).toBe(Math.floor(DEFAULT_CHUNK_BYTES / 300_000));
    expect(n * 300_000).toBeLessThanOrEqual(DEFAULT_CHUNK_BYTES);
  });

  it('a row larger than the budget is a chunk of its own, so planning always progresses', () => {
    expect(chunkLength(rows(5_000, 10), 1_000, 100)).toBe(1);
    expect(chunkLength(rows(10, 5_000, 10), 1_000, 100)).toBe(1);
    expect(chunkLength([], 1_000, 100)).toBe(0);
  });

  it('the chunk byte budget from input is bounded and names the field', () => {
    const base = { source: '/x.sqlite', userId: ctx.userId, target: 'pg', keyring: 'keys' };
    expect(parseMigrationInput(base).chunkBytes).toBe(DEFAULT_CHUNK_BYTES);
    expect(parseMigrationInput({ ...base, chunkBytes: MIN_CHUNK_BYTES }).chunkBytes).toBe(MIN_CHUNK_BYTES);
    for (const bad of [MIN_CHUNK_BYTES - 1, MAX_CHUNK_BYTES + 1, 1.5, '16MiB']) {
      expect(() => parseMigrationInput({ ...base, chunkBytes: bad })).toThrow(InvalidInputError);
      expect(() => parseMigrationInput({ ...base, chunkBytes: bad })).toThrow(/chunkBytes/);
    }
  });
});
