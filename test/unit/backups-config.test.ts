// The backup settings of the worker config and the prune policy's duration parser: bad values are
// typed errors naming the field; secrets are references, never values.
import { describe, expect, it } from 'vitest';
import { parseAge } from '../../cli/commands/backups';
import { InvalidInputError } from '../../lib/errors';
import { parseWorkerConfig } from '../../lib/worker-config';

const target = { dsn: 'env:T_DSN', database: 'notes' };

describe('targets.<name>.scratchDsn and fullBackupMaxAgeHours', () => {
  it('accept a reference and a positive number of hours, and are optional', () => {
    const config = parseWorkerConfig({
      targets: { a: { ...target, scratchDsn: 'env:SCRATCH_DSN', fullBackupMaxAgeHours: 6 }, b: target },
    });
    expect(config.targets.a).toMatchObject({ scratchDsn: 'env:SCRATCH_DSN', fullBackupMaxAgeHours: 6 });
    expect(config.targets.b!.scratchDsn).toBeUndefined();
  });

  it('refuse a DSN written inline (it may hold a password) and a non-positive window, naming the field', () => {
    const inline = () =>
      parseWorkerConfig({ targets: { a: { ...target, scratchDsn: 'postgres://u:secret@host/db' } } });
    expect(inline).toThrow(InvalidInputError);
    expect(inline).toThrow(/workerConfig\.targets\.a\.scratchDsn/);
    expect(inline).not.toThrow(/secret/);
    expect(() => parseWorkerConfig({ targets: { a: { ...target, fullBackupMaxAgeHours: 0 } } })).toThrow(
      /workerConfig\.targets\.a\.fullBackupMaxAgeHours/,
    );
  });
});

describe('parseAge', () => {
  it('reads hours and days', () => {
    expect(parseAge('36h')).toBe(36);
    expect(parseAge('7d')).toBe(168);
    expect(parseAge('0h')).toBe(0);
  });
  it('refuses anything else naming --older-than', () => {
    for (const bad of ['7', '7w', '-1d', 'soon', '']) expect(() => parseAge(bad), bad).toThrow(/--older-than/);
  });
});
