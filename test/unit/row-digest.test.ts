// The worker's half of the target-row digest (activities/row-digest.ts): the canonical text pieces, the
// jsonb text PostgreSQL prints, and sums mod 2^64. (PostgreSQL's half is compared with it in
// test/integration/row-digest.test.ts.)
import { expect, it } from 'vitest';
import { addDigests, DigestAccumulator, pgJsonbText, rowDigest, rowText } from '../../activities/row-digest';
import { previousRowDigest, previousRowText } from '../../bench/previous-row-digest';

it('prints jsonb as PostgreSQL does: keys shorter first then bytewise, ", " and ": ", numbers without exponent', () => {
  expect(pgJsonbText({ b: 1, aa: 2, a: [] })).toBe('{"a": [], "b": 1, "aa": 2}');
  expect(pgJsonbText({ é: 1, z: 2 })).toBe('{"z": 2, "é": 1}'); // 'é' is two UTF-8 bytes
  expect(pgJsonbText([1e21, 1e-7, -1.5e-7, 2.5e25, 0.1, -0])).toBe(
    '[1000000000000000000000, 0.0000001, -0.00000015, 25000000000000000000000000, 0.1, 0]',
  );
  expect(pgJsonbText({ s: 'a"b\\c\n\u0001' })).toBe('{"s": "a\\"b\\\\c\\n\\u0001"}');
  expect(pgJsonbText(null)).toBe('null');
});

it('builds one length-prefixed piece per column, NULL as ~', () => {
  expect(
    rowText(
      ['uuid', 'bytea', 'bool', 'int', 'text', 'ts', 'jsonb', 'text'],
      [
        'A0000000-0000-4000-8000-00000000000B',
        Buffer.from([0, 255]),
        false,
        -3,
        'ü,x',
        '1970-01-01T00:00:00.001Z',
        '{"k":1}',
        null,
      ],
    ),
  ).toBe('a0000000-0000-4000-8000-00000000000b,00ff,false,-3,4:ü,x,1000,8:{"k": 1},~');
  expect(() => rowText(['uuid'], [])).toThrow(/0 values for 1 columns/);
});

it('sums digests mod 2^64, in any order and grouping, from PostgreSQL numeric text too', () => {
  const a = rowDigest(['text'], ['a']);
  const b = rowDigest(['text'], ['b']);
  const acc = new DigestAccumulator();
  acc.add(['text'], ['b']);
  acc.add(['text'], ['a']);
  expect(acc.value()).toBe(addDigests(a, b));
  expect(addDigests('18446744073709551615', '1')).toBe('0');
  expect(addDigests('-1')).toBe('18446744073709551615');
});

it('gives the same text and digest as the previous implementation (bench/previous-row-digest.ts)', () => {
  const kinds = ['uuid', 'bytea', 'bytea', 'ts', 'ts', 'ts', 'ts', 'jsonb', 'jsonb', 'text', 'int', 'bool'] as const;
  const rows: unknown[][] = [
    [
      'A0000000-0000-4000-8000-00000000000B',
      Buffer.from([0, 1, 254, 255]),
      new Uint8Array([9, 8, 7]),
      new Date(0),
      new Date(-1),
      '2026-12-03T20:40:37.123Z',
      new Date(8.64e15),
      { é: 1, z: [1, { b: null, aa: 'x', a: 2.5e25 }], ab: true, b: -0, 'a"b': 'é\n' },
      '{"zz": [], "z": {"é": 1, "e": 2}, "": 0}',
      'ü,x',
      -3,
      false,
    ],
    [
      'b0000000-0000-4000-8000-00000000000c',
      null,
      Buffer.alloc(0),
      null,
      new Date(1),
      null,
      null,
      null,
      [],
      '',
      0,
      true,
    ],
  ];
  for (const row of rows) {
    expect(rowText(kinds, row)).toBe(previousRowText(kinds, row));
    expect(rowDigest(kinds, row)).toBe(previousRowDigest(kinds, row));
  }
});
