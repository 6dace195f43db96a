import { describe, expect, it } from 'vitest';
import {
  DEFAULT_ERROR_RATE_THRESHOLD,
  DEFAULT_HEALTH_INTERVAL_MS,
  DEFAULT_LATENCY_FACTOR,
  DEFAULT_MIN_LATENCY_DELTA_MS,
  DEFAULT_MIN_SAMPLES,
  DEFAULT_SOAK_MS,
  DEFAULT_DELTA_THRESHOLD,
  DEFAULT_MAX_DELTA_PASSES,
  DEFAULT_STALL_PASSES,
  DEFAULT_CHUNK_ROWS,
  DEFAULT_CHUNK_BYTES,
  DEFAULT_CHUNKS_PER_EXECUTION,
  DEFAULT_HEARTBEAT_TIMEOUT_MS,
  DEFAULT_PARALLELISM,
  DEFAULT_QUARANTINE_THRESHOLD,
  DEFAULT_SAMPLE_SIZE,
} from '../../lib/defaults';
import {
  DEFAULT_CUTOVER_BUDGET_MS,
  DEFAULT_CUTOVER_MAX_ATTEMPTS,
  DEFAULT_CUTOVER_MAX_FINAL_CHANGES,
  DEFAULT_CUTOVER_RETRY_DELAY_MS,
  MAX_FREEZE_BUDGET_MS,
} from '../../lib/defaults';
import { InvalidInputError } from '../../lib/errors';
import { migrationWorkflowId, parseMigrationInput } from '../../lib/input';

const CUTOVER_DEFAULTS = {
  budgetMs: DEFAULT_CUTOVER_BUDGET_MS,
  maxAttempts: DEFAULT_CUTOVER_MAX_ATTEMPTS,
  retryDelayMs: DEFAULT_CUTOVER_RETRY_DELAY_MS,
  maxFinalChanges: DEFAULT_CUTOVER_MAX_FINAL_CHANGES,
};

const USER = '123e4567-e89b-12d3-a456-426614174000';
const OTHER_USER = '123e4567-e89b-12d3-a456-426614174001';
const valid = { source: '/data/user.db', userId: USER, target: 'notes-prod', keyring: 'default' };

function invalid(raw: unknown): InvalidInputError {
  try {
    parseMigrationInput(raw);
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidInputError);
    return err as InvalidInputError;
  }
  throw new Error(`expected InvalidInputError for ${JSON.stringify(raw)}`);
}

describe('parseMigrationInput', () => {
  it('applies every default', () => {
    expect(parseMigrationInput(valid)).toEqual({
      ...valid,
      chunkRows: DEFAULT_CHUNK_ROWS,
      chunkBytes: DEFAULT_CHUNK_BYTES,
      parallelism: DEFAULT_PARALLELISM,
      quarantineThreshold: DEFAULT_QUARANTINE_THRESHOLD,
      sampleSize: DEFAULT_SAMPLE_SIZE,
      dryRun: false,
      sourceOwnershipUnverified: false,
      chunksPerExecution: DEFAULT_CHUNKS_PER_EXECUTION,
      heartbeatTimeoutMs: DEFAULT_HEARTBEAT_TIMEOUT_MS,
      health: {
        intervalMs: DEFAULT_HEALTH_INTERVAL_MS,
        soakMs: DEFAULT_SOAK_MS,
        errorRateThreshold: DEFAULT_ERROR_RATE_THRESHOLD,
        latencyFactor: DEFAULT_LATENCY_FACTOR,
        minLatencyDeltaMs: DEFAULT_MIN_LATENCY_DELTA_MS,
        minSamples: DEFAULT_MIN_SAMPLES,
        probe: { enabled: true },
        sources: [],
      },
      online: {
        enabled: false,
        deltaThreshold: DEFAULT_DELTA_THRESHOLD,
        maxDeltaPasses: DEFAULT_MAX_DELTA_PASSES,
        catchUpEstimate: true,
        stallPasses: DEFAULT_STALL_PASSES,
        cutover: CUTOVER_DEFAULTS,
      },
    });
  });

  it('online mode: off by default; bad settings name the field', () => {
    expect(parseMigrationInput({ ...valid, online: { enabled: true } }).online).toEqual({
      enabled: true,
      deltaThreshold: DEFAULT_DELTA_THRESHOLD,
      maxDeltaPasses: DEFAULT_MAX_DELTA_PASSES,
      catchUpEstimate: true,
      stallPasses: DEFAULT_STALL_PASSES,
      cutover: CUTOVER_DEFAULTS,
    });
    expect(invalid({ ...valid, online: { enabled: true, deltaThreshold: -1 } }).field).toBe('online.deltaThreshold');
    expect(invalid({ ...valid, online: { enabled: true, freeze: 'now' } }).field).toBe('online.freeze');
    expect(invalid({ ...valid, online: { enabled: true, stallPasses: -1 } }).field).toBe('online.stallPasses');
  });

  it('online cut-over: a hook name and bounds, each refusal naming the field', () => {
    const cutover = (c: Record<string, unknown>) => ({ ...valid, online: { enabled: true, cutover: c } });
    expect(parseMigrationInput(cutover({ freezeHook: 'app-flag', budgetMs: 800 })).online.cutover).toEqual({
      ...CUTOVER_DEFAULTS,
      freezeHook: 'app-flag',
      budgetMs: 800,
    });
    expect(invalid(cutover({ budgetMs: MAX_FREEZE_BUDGET_MS + 1 })).field).toBe('online.cutover.budgetMs');
    expect(invalid(cutover({ budgetMs: 0 })).field).toBe('online.cutover.budgetMs');
    expect(invalid(cutover({ maxAttempts: 0 })).field).toBe('online.cutover.maxAttempts');
    // A path or a command is not a hook name: hooks are the worker config's capability.
    expect(invalid(cutover({ freezeHook: '/tmp/flag.json' })).field).toBe('online.cutover.freezeHook');
    expect(parseMigrationInput(cutover({ switchHook: 'app-switch' })).online.cutover.switchHook).toBe('app-switch');
    expect(invalid(cutover({ switchHook: 'https://app/switch' })).field).toBe('online.cutover.switchHook');
    expect(invalid(cutover({ freezeCommand: ['touch', 'x'] })).field).toBe('online.cutover.freezeCommand');
  });

  it('refuses fault-injection switches in workflow input, naming the field', () => {
    const err = invalid({ ...valid, faults: { failAfterChunks: 1 } });
    expect(err.field).toBe('faults');
    expect(err.message).toMatch(/test mode/);
  });

  it('accepts health sources and a webhook by name only, refusing SQL and URLs with the field named', () => {
    expect(parseMigrationInput({ ...valid, health: { sources: ['app-errors'], webhook: 'ops' } }).health).toMatchObject(
      { sources: ['app-errors'], webhook: 'ops' },
    );
    const source = invalid({
      ...valid,
      health: { sources: [{ kind: 'sql', query: 'SELECT errors, requests FROM m' }] },
    });
    expect(source.field).toBe('health.sources.0');
    expect(source.message).toMatch(/worker config/);
    const extra = invalid({ ...valid, health: { probe: { extraSql: 'SELECT 1; COMMIT; DROP TABLE notes' } } });
    expect(extra.field).toBe('health.probe.extraSql');
    expect(extra.message).toMatch(/benchmark/);
    expect(extra.message).not.toContain('DROP');
    const hook = invalid({ ...valid, health: { webhookUrl: 'https://ops:hook-secret@hooks.example/x' } });
    expect(hook.field).toBe('health.webhookUrl');
    expect(hook.message).not.toContain('hook-secret');
    const url = invalid({ ...valid, health: { webhook: 'https://ops:hook-secret@hooks.example/x' } });
    expect(url.field).toBe('health.webhook');
    expect(url.message).not.toContain('hook-secret');
    expect(() => parseMigrationInput({ ...valid, health: { intervalMs: 5 } })).toThrow(
      expect.objectContaining({ field: 'health.intervalMs' }),
    );
  });

  it('keeps explicit values over defaults', () => {
    const cfg = parseMigrationInput({
      ...valid,
      chunkRows: 5,
      parallelism: 8,
      quarantineThreshold: 0,
      sampleSize: 0,
      dryRun: true,
      expectDatabase: 'notes_prod',
      chunksPerExecution: 3,
      heartbeatTimeoutMs: 1_000,
    });
    expect(cfg).toMatchObject({
      chunkRows: 5,
      parallelism: 8,
      quarantineThreshold: 0,
      sampleSize: 0,
      dryRun: true,
      expectDatabase: 'notes_prod',
      chunksPerExecution: 3,
      heartbeatTimeoutMs: 1_000,
    });
  });

  it('accepts names with dots, dashes and underscores, and an upper-case uuid', () => {
    expect(parseMigrationInput({ ...valid, keyring: 'keys.v2_eu-west' }).keyring).toBe('keys.v2_eu-west');
    expect(parseMigrationInput({ ...valid, userId: USER.toUpperCase() }).userId.toLowerCase()).toBe(USER);
  });

  it('does not leave an absent expectDatabase set', () => {
    expect(parseMigrationInput(valid)).not.toHaveProperty('expectDatabase');
  });

  it.each([
    ['a missing userId', { ...valid, userId: undefined }, 'userId', /userId/],
    ['a userId that is not a uuid', { ...valid, userId: 'not-a-uuid' }, 'userId', /must be a uuid/],
    ['a userId uuid without dashes', { ...valid, userId: USER.replace(/-/g, '') }, 'userId', /must be a uuid/],
    [
      'a target that is a DSN',
      { ...valid, target: 'postgres://migrator:secret@db:5432/notes' },
      'target',
      /name declared in the worker config.*never a DSN/,
    ],
    [
      'a target env: reference',
      { ...valid, target: 'env:HOME' },
      'target',
      /never a DSN, URL, path or env:\/file: reference/,
    ],
    ['a keyring path', { ...valid, keyring: '/secrets/keyring.json' }, 'keyring', /name declared in the worker config/],
    [
      'a file: keyring',
      { ...valid, keyring: 'file:/secrets/keyring.json' },
      'keyring',
      /name declared in the worker config/,
    ],
    ['an empty keyring', { ...valid, keyring: '' }, 'keyring', /name/],
    ['an empty source', { ...valid, source: '' }, 'source', /path to the source SQLite file/],
    ['chunkRows 0', { ...valid, chunkRows: 0 }, 'chunkRows', />=\s*1/],
    ['chunkRows 1.5', { ...valid, chunkRows: 1.5 }, 'chunkRows', /int/i],
    ['chunkRows as text', { ...valid, chunkRows: '1000' }, 'chunkRows', /number/],
    ['parallelism 65', { ...valid, parallelism: 65 }, 'parallelism', /<=\s*64/],
    ['quarantineThreshold 1.5', { ...valid, quarantineThreshold: 1.5 }, 'quarantineThreshold', /<=\s*1/],
    ['heartbeatTimeoutMs 10', { ...valid, heartbeatTimeoutMs: 10 }, 'heartbeatTimeoutMs', />=\s*1000/],
    ['dryRun as text', { ...valid, dryRun: 'yes' }, 'dryRun', /boolean/],
  ])('rejects %s, naming the field', (_name, raw, field, message) => {
    const err = invalid(raw);
    expect(err.field).toBe(field);
    expect(err.message).toContain(field);
    expect(err.message).toMatch(message);
    expect(err.type).toBe('InvalidInput');
    expect(err.nonRetryable).toBe(true);
  });

  it('rejects an unknown field, naming it', () => {
    const err = invalid({ ...valid, chunkSize: 100 });
    expect(err.field).toBe('chunkSize');
    expect(err.message).toMatch(/unknown field\(s\) chunkSize/);
  });

  it('names every unknown field', () => {
    const err = invalid({ ...valid, foo: 1, bar: 2 });
    expect(err.field.split(',').sort()).toEqual(['bar', 'foo']);
    expect(err.message).toMatch(/foo/);
    expect(err.message).toMatch(/bar/);
  });

  it('never echoes a DSN secret back in the error', () => {
    const err = invalid({ ...valid, target: 'postgres://migrator:s3cr3t-pw@db:5432/notes' });
    expect(err.message).not.toContain('s3cr3t-pw');
  });

  it.each([null, 'text', 42, []])('rejects a non-object input %j', (raw) => {
    expect(() => parseMigrationInput(raw)).toThrow(InvalidInputError);
  });
});

describe('migrationWorkflowId', () => {
  it('is stable', () => {
    expect(migrationWorkflowId({ target: 'env:TARGET_DSN', userId: USER })).toBe(
      migrationWorkflowId({ target: 'env:TARGET_DSN', userId: USER }),
    );
    expect(migrationWorkflowId({ target: 'notes-prod', userId: USER })).toBe(`migrate-notes-prod-${USER}`);
  });

  it('differs per user and per target', () => {
    const base = migrationWorkflowId({ target: 'env:TARGET_DSN', userId: USER });
    expect(migrationWorkflowId({ target: 'env:TARGET_DSN', userId: OTHER_USER })).not.toBe(base);
    expect(migrationWorkflowId({ target: 'env:OTHER_DSN', userId: USER })).not.toBe(base);
  });

  it('is the same for an upper-case spelling of the same user', () => {
    expect(migrationWorkflowId({ target: 'env:T', userId: USER.toUpperCase() })).toBe(
      migrationWorkflowId({ target: 'env:T', userId: USER }),
    );
  });

  it('accepts the parsed config directly', () => {
    const cfg = parseMigrationInput(valid);
    expect(migrationWorkflowId(cfg)).toBe(`migrate-notes-prod-${USER}`);
  });
});
