// The disk-full classifiers (lib/errors.ts): which failures become TargetDiskFull and
// BackupDirectoryFull, and what their messages tell the operator. The fault suite's disk cases
// (test/faults/cases-resources.ts) exercise them against a real full tmpfs.
import { describe, expect, it } from 'vitest';
import {
  asBackupDirectoryFull,
  asTargetDiskFull,
  BackupDirectoryFullError,
  ChildProcessError,
  InsufficientSpaceError,
  NON_RETRYABLE_TYPES,
  TargetDiskFullError,
} from '../../lib/errors';

describe('disk-full classification', () => {
  it('PostgreSQL 53100 becomes a retryable TargetDiskFull naming the step and what to do', () => {
    const pgError = Object.assign(new Error('could not extend file "pg_tblspc/1/2/3": No space left on device'), {
      code: '53100',
    });
    const e = asTargetDiskFull(pgError, 'writing a chunk of notes');
    expect(e).toBeInstanceOf(TargetDiskFullError);
    expect((e as TargetDiskFullError).nonRetryable).toBe(false);
    expect(NON_RETRYABLE_TYPES).not.toContain('TargetDiskFull');
    expect((e as Error).message).toMatch(/SQLSTATE 53100.*writing a chunk of notes.*could not extend file.*free space/);
  });

  it('other PostgreSQL errors pass through unchanged', () => {
    const other = Object.assign(new Error('deadlock detected'), { code: '40P01' });
    expect(asTargetDiskFull(other, 'x')).toBe(other);
    expect(asTargetDiskFull(null, 'x')).toBe(null);
  });

  it('ENOSPC, SQLITE_FULL and a child reporting ENOSPC become BackupDirectoryFull naming the directory', () => {
    const fromChild = new ChildProcessError(
      'pg_dump',
      1,
      null,
      'pg_dump: error: could not write to output file: No space left on device',
      'target backup (pg_dump)',
    );
    for (const err of [
      Object.assign(new Error('write failed'), { code: 'ENOSPC' }),
      Object.assign(new Error('database or disk is full'), { code: 'SQLITE_FULL' }),
      fromChild,
    ]) {
      const e = asBackupDirectoryFull(err, '/backups/run', 'the target dump (pg_dump)');
      expect(e).toBeInstanceOf(BackupDirectoryFullError);
      expect((e as Error).message).toMatch(/backup directory \/backups\/run is full.*MIGRATOR_BACKUP_DIR/);
    }
  });

  it('a failure on a filesystem the caller found full is BackupDirectoryFull (pg_dump exits 0 on ENOSPC)', () => {
    const short = new ChildProcessError('pg_restore', 1, null, 'input file is too short', 'verification');
    expect(asBackupDirectoryFull(short, '/b', 'the target dump')).toBe(short);
    const e = asBackupDirectoryFull(short, '/b', 'the target dump', true);
    expect(e).toBeInstanceOf(BackupDirectoryFullError);
    expect((e as Error).message).toContain('input file is too short');
  });

  it('the free-space refusal stays a non-retryable refusal on a filesystem found full (it wrote nothing)', () => {
    const refusal = new InsufficientSpaceError('/b', 2048, 10, 'the source backup of source.sqlite');
    expect(asBackupDirectoryFull(refusal, '/b', 'the source backup', true)).toBe(refusal);
    expect(refusal.nonRetryable).toBe(true);
    expect(NON_RETRYABLE_TYPES).toContain('BackupInsufficientSpace');
  });
});
