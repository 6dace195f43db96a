// The rest of a chunk's per-row CPU path, next to the envelope: the row checksum (native SHA-256,
// loop canonicalJson) and minted ids (cached namespaces) must give exactly what the pure-JS
// versions they replaced gave — checksums and ids of rows migrated before must not move.
import { describe, expect, it } from 'vitest';
import { previous } from '../../bench/previous-chunk-path';
import { canonicalJson, ChecksumAccumulator, rowHash } from '../../lib/checksum';
import { ID_NAMESPACE, targetId, userNamespace, uuidV5 } from '../../lib/ids';

/** The previous implementations, as they were (bench/previous-chunk-path.ts). */
const before = previous;

/** Deterministic pseudo-random JSON-ish values, including the odd ones canonicalJson must render the same. */
function value(seed: number, depth = 0): unknown {
  let s = seed;
  const next = (): number => (s = (s * 1103515245 + 12345) % 2 ** 31);
  const strings = [
    '',
    'a',
    'Zz',
    'ünï',
    '笔记',
    '🎉',
    'q"uote',
    'back\\slash',
    'nl\n',
    '\u0000',
    'lone\ud800',
    '\u2028',
  ];
  switch (next() % (depth > 3 ? 6 : 10)) {
    case 0:
      return null;
    case 1:
      return next() % 2 === 0;
    case 2:
      return [0, -0, 1.5, -7, 1e21, 1e-7, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY][next() % 9];
    case 3:
    case 4:
      return strings[next() % strings.length];
    case 5:
      return [undefined, () => 1, Symbol('s')][next() % 3];
    case 6:
    case 7: {
      const out: Record<string, unknown> = {};
      const n = next() % 6;
      for (let i = 0; i < n; i++)
        out[[...strings, 'id', 'b', 'A', '10', '2', '__proto__x'][next() % 18]!] = value(next(), depth + 1);
      return out;
    }
    case 8: {
      const arr = Array.from({ length: next() % 5 }, () => value(next(), depth + 1));
      if (arr.length > 2 && next() % 3 === 0) delete arr[1]; // a hole
      return arr;
    }
    default:
      return [new Date(0), Buffer.from('abcdefghijkl'), new Uint8Array([3, 1, 2]), new Map([[1, 2]])][next() % 4];
  }
}

describe('canonicalJson is unchanged', () => {
  it('for 3000 random nested values (holes, undefined, -0, NaN, Dates, Buffers, numeric keys, lone surrogates)', () => {
    for (let i = 1; i <= 3000; i++) {
      const v = value(i);
      expect(canonicalJson(v)).toBe(before.canonicalJson(v));
    }
  });

  it('for rows shaped like the mappings’ canonical rows', () => {
    const note = {
      id: 'x',
      user_id: 'u',
      title: 'T "1"',
      body: '# b\n'.repeat(200),
      metadata: { z: [1, { b: 2, a: 1 }], a: null },
      is_pinned: false,
      deleted: true,
      note_type: 'note',
      created_at: 1700000000000,
      updated_at: 1700000000000,
    };
    const task = { id: 't', labels: ['x', 'y'], due_date: null, parent_id: null, position: 3, content: 'do ✓' };
    for (const row of [note, task, {}, []]) expect(canonicalJson(row)).toBe(before.canonicalJson(row));
  });

  it('still renders a sparse array hole as empty text', () => {
    expect(canonicalJson([1, , 2])).toBe('[1,,2]');
  });
});

describe('the row checksum is unchanged', () => {
  it('rowHash equals the pure-JS SHA-256 prefix for random canonical texts (lone surrogates included)', () => {
    for (let i = 1; i <= 500; i++) {
      const text = canonicalJson(value(i));
      expect(rowHash(text)).toBe(before.rowHash(text));
    }
    for (const text of ['', 'a\ud800b', '\udc00', 'x'.repeat(100_000)])
      expect(rowHash(text)).toBe(before.rowHash(text));
  });

  it('an accumulated chunk checksum equals the pure-JS sum', () => {
    const rows = Array.from({ length: 400 }, (_, i) => canonicalJson(value(i + 7)));
    const acc = new ChecksumAccumulator();
    for (const r of rows) acc.add(r);
    const sum = rows.reduce((s, r) => (s + before.rowHash(r)) % 2n ** 64n, 0n);
    expect(acc.hex()).toBe(sum.toString(16).padStart(16, '0'));
  });
});

describe('minted ids are unchanged', () => {
  const users = [
    '4b1f6c2e-8d3a-4e5f-9a6b-7c8d9e0f1a2b',
    '4B1F6C2E-8D3A-4E5F-9A6B-7C8D9E0F1A2B',
    '9d7c3a4e-1b2f-4c5d-8e6f-7a8b9c0d1e2f',
  ];

  it('uuidV5 equals the uncached implementation for many names and namespaces (upper-case too)', () => {
    for (const ns of [ID_NAMESPACE, ID_NAMESPACE.toUpperCase(), ...users]) {
      for (let i = 0; i < 200; i++) {
        const name = `note_tasks:${String(value(i))}-${i}`;
        expect(uuidV5(name, ns)).toBe(before.uuidV5(name, ns));
      }
    }
  });

  it('userNamespace and targetId match the uncached derivation, per user, repeatedly', () => {
    for (let round = 0; round < 3; round++) {
      for (const user of users) {
        const ns = before.uuidV5(user.toLowerCase(), ID_NAMESPACE);
        expect(userNamespace(user)).toBe(ns);
        expect(targetId('local_notes', 'system_daily_standup', user)).toBe(
          before.uuidV5('local_notes:system_daily_standup', ns),
        );
      }
    }
    expect(userNamespace(users[0]!)).toBe(userNamespace(users[1]!));
    expect(userNamespace(users[0]!)).not.toBe(userNamespace(users[2]!));
  });
});
