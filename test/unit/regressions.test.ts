// Regression tests for bugs found by the unit-test review of lib/ (each names what it pins).
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { deriveEntityKey, EnvelopeError, openString } from '../../lib/envelope';
import { parseMigrationInput } from '../../lib/input';
import { notesMapping } from '../../lib/mapping/notes';
import { optionalJson, RowRejection, time } from '../../lib/mapping/values';

const base = { source: '/x.sqlite', target: 'T', keyring: 'K' };

describe('regressions', () => {
  it('openString of the JSON text null is an EnvelopeError, not a TypeError', () => {
    const key = deriveEntityKey(new Uint8Array(randomBytes(32)), 'id');
    expect(() => openString(key, Buffer.from('null'))).toThrow(EnvelopeError);
  });

  it('an upper-case userId is lower-cased, so source and target checksums agree', () => {
    const cfg = parseMigrationInput({ ...base, userId: '0B7E7A4C-1111-4222-8333-444455556666' });
    expect(cfg.userId).toBe('0b7e7a4c-1111-4222-8333-444455556666');
  });

  it('REAL seconds round to whole milliseconds (what the target keeps)', () => {
    expect(time({ t: 1700000000.0004 }, 't', 1800000000)).toBe(1700000000000);
    expect(time({ t: 1700000000.5 }, 't', 1800000000)).toBe(1700000000500);
  });

  it('JSON numbers beyond the double range (1e400 → Infinity → null) are quarantined', () => {
    expect(() => optionalJson({ m: Buffer.from('{"x":1e400}') }, 'm')).toThrow(
      expect.objectContaining({ reason: 'UNSUPPORTED_NUMBER', column: 'm' }),
    );
    expect(optionalJson({ m: Buffer.from('{"x":1.5e-300,"y":-2.25}') }, 'm')).toEqual({ x: 1.5e-300, y: -2.25 });
  });

  it('JSON integers beyond 2^53 are quarantined instead of silently rounded', () => {
    const row = {
      id: 'n1',
      title: Buffer.from('t'),
      body: Buffer.from('b'),
      updated_at: 1700000000,
      deleted: 0,
      encrypted_metadata: Buffer.from('{"n":12345678901234567890}'),
      is_pinned: 0,
      note_type: 0,
    };
    let error: unknown;
    try {
      notesMapping.transform(row, { userId: 'u', asOfSeconds: 1800000000 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RowRejection);
    expect(error).toMatchObject({ reason: 'UNSUPPORTED_NUMBER', column: 'encrypted_metadata' });
  });
});
