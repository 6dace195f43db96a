import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { addChecksums, canonicalJson, ChecksumAccumulator, EMPTY_CHECKSUM, rowHash } from '../../lib/checksum';

const rows = Array.from({ length: 50 }, (_, i) => canonicalJson({ id: `row-${i}`, n: i, text: `värde ${i} 笔记` }));

const accumulate = (items: readonly string[]): ChecksumAccumulator => {
  const acc = new ChecksumAccumulator();
  for (const r of items) acc.add(r);
  return acc;
};

/** Deterministic Fisher–Yates shuffle (no Math.random: reproducible failures). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

describe('rowHash', () => {
  it('is the first 8 bytes of SHA-256 of the UTF-8 text, big-endian', () => {
    for (const text of ['', 'abc', '{"a":1}', 'ünïcødé 🎉']) {
      const expected = BigInt(`0x${createHash('sha256').update(text, 'utf8').digest().subarray(0, 8).toString('hex')}`);
      expect(rowHash(text)).toBe(expected);
    }
  });

  it('matches a known SHA-256 prefix ("abc" → ba7816bf8f01cfea)', () => {
    expect(rowHash('abc')).toBe(0xba7816bf8f01cfean);
  });
});

describe('ChecksumAccumulator', () => {
  it('starts empty', () => {
    const acc = new ChecksumAccumulator();
    expect(acc.hex()).toBe(EMPTY_CHECKSUM);
    expect(acc.count).toBe(0);
  });

  it('is 16 lower-case hex digits and counts rows', () => {
    const acc = accumulate(rows);
    expect(acc.hex()).toMatch(/^[0-9a-f]{16}$/);
    expect(acc.count).toBe(rows.length);
  });

  it('is the sum mod 2^64 of the row hashes', () => {
    const sum = rows.reduce((s, r) => (s + rowHash(r)) % 2n ** 64n, 0n);
    expect(accumulate(rows).hex()).toBe(sum.toString(16).padStart(16, '0'));
  });

  it('is independent of row order', () => {
    const expected = accumulate(rows).hex();
    for (const seed of [1, 2, 3, 42]) expect(accumulate(shuffled(rows, seed)).hex()).toBe(expected);
    expect(accumulate([...rows].reverse()).hex()).toBe(expected);
  });

  it('changes when a row changes, is added, or is removed', () => {
    const expected = accumulate(rows).hex();
    expect(accumulate([...rows.slice(1), canonicalJson({ id: 'row-0', n: 0, text: 'changed' })]).hex()).not.toBe(
      expected,
    );
    expect(accumulate([...rows, 'extra']).hex()).not.toBe(expected);
    expect(accumulate(rows.slice(1)).hex()).not.toBe(expected);
  });

  it('counts duplicates (a duplicated row is not absorbed)', () => {
    expect(accumulate(['a', 'a']).hex()).not.toBe(accumulate(['a']).hex());
  });
});

describe('addChecksums', () => {
  it('two partial accumulators add up to the accumulator over all rows', () => {
    const all = accumulate(rows).hex();
    for (const cut of [0, 1, 17, 25, rows.length]) {
      expect(addChecksums(accumulate(rows.slice(0, cut)).hex(), accumulate(rows.slice(cut)).hex())).toBe(all);
    }
  });

  it('any grouping and order of chunks gives the whole-table checksum', () => {
    const all = accumulate(rows).hex();
    const chunks = [rows.slice(0, 7), rows.slice(7, 30), rows.slice(30, 31), rows.slice(31)].map((c) =>
      accumulate(c).hex(),
    );
    expect(chunks.reduce(addChecksums, EMPTY_CHECKSUM)).toBe(all);
    expect([...chunks].reverse().reduce(addChecksums, EMPTY_CHECKSUM)).toBe(all);
    expect(addChecksums(addChecksums(chunks[0]!, chunks[3]!), addChecksums(chunks[2]!, chunks[1]!))).toBe(all);
  });

  it('EMPTY_CHECKSUM is the identity', () => {
    const x = accumulate(rows).hex();
    expect(addChecksums(x, EMPTY_CHECKSUM)).toBe(x);
    expect(addChecksums(EMPTY_CHECKSUM, x)).toBe(x);
  });

  it('wraps modulo 2^64 and zero-pads to 16 digits', () => {
    expect(addChecksums('ffffffffffffffff', '0000000000000001')).toBe('0000000000000000');
    expect(addChecksums('ffffffffffffffff', '0000000000000003')).toBe('0000000000000002');
    expect(addChecksums('8000000000000000', '8000000000000000')).toBe('0000000000000000');
    expect(addChecksums('0000000000000001', '0000000000000002')).toBe('0000000000000003');
  });

  it('the accumulator wraps the same way as addChecksums', () => {
    // Many rows push the running sum past 2^64 several times.
    const many = Array.from({ length: 300 }, (_, i) => `r${i}`);
    const whole = accumulate(many).hex();
    const parts = [0, 100, 200].map((s) => accumulate(many.slice(s, s + 100)).hex());
    expect(parts.reduce(addChecksums)).toBe(whole);
  });
});

describe('canonicalJson', () => {
  it('sorts object keys recursively', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: [{ z: 1, y: 2 }] } })).toBe('{"a":{"c":[{"y":2,"z":1}],"d":2},"b":1}');
  });

  it('gives the same text for objects built in different key orders', () => {
    const a = { id: 'x', title: 't', meta: { k2: [1, 2], k1: null } };
    const b = { meta: { k1: null, k2: [1, 2] }, title: 't', id: 'x' };
    expect(canonicalJson(a)).toBe(canonicalJson(b));
  });

  it('keeps array order', () => {
    expect(canonicalJson([3, 1, 2])).toBe('[3,1,2]');
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson([{ b: 1, a: 2 }, 'x'])).toBe('[{"a":2,"b":1},"x"]');
  });

  it('is parseable JSON equal in value to the input', () => {
    const value = {
      s: 'quote " backslash \\ newline \n ünï 🎉',
      n: -1.5,
      t: true,
      f: false,
      z: null,
      arr: [],
      obj: {},
    };
    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it('serialises scalars like JSON.stringify', () => {
    expect(canonicalJson(null)).toBe('null');
    expect(canonicalJson(1)).toBe('1');
    expect(canonicalJson('a"b')).toBe('"a\\"b"');
    expect(canonicalJson(true)).toBe('true');
    expect(canonicalJson(undefined)).toBe('null');
  });

  it.each([
    [{ a: 1 }, { a: '1' }],
    [{ a: 1 }, { a: 2 }],
    [{ a: null }, { a: false }],
    [{ a: null }, {}],
    [{ a: 1 }, { b: 1 }],
    [{ a: [1] }, { a: 1 }],
    [{ a: '' }, { a: null }],
    [{ a: { b: 1 } }, { a: { b: 1, c: 2 } }],
    [1700000000000, 1700000000001],
    ['x', 'X'],
  ])('differs for different values: %j vs %j', (a, b) => {
    expect(canonicalJson(a)).not.toBe(canonicalJson(b));
  });

  it('does not let keys and values run together ambiguously', () => {
    expect(canonicalJson({ 'a":"b': 'c' })).not.toBe(canonicalJson({ a: 'b":"c' }));
    expect(canonicalJson(['a,b'])).not.toBe(canonicalJson(['a', 'b']));
  });
});
