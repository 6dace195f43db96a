// The worker's name and path checks (activities/capabilities.ts) on their own: what the trust-boundary
// integration test relies on, including the cases a prefix comparison would get wrong.
import { mkdirSync, mkdtempSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capabilitiesOf } from '../../activities/capabilities';
import { NotPermittedError } from '../../lib/errors';
import { parseWorkerConfig } from '../../lib/worker-config';

const root = realpathSync(mkdtempSync(join(tmpdir(), 'migrator-caps-')));
const allowed = join(root, 'allowed');
const sibling = join(root, 'allowed-evil'); // shares the prefix "allowed"
mkdirSync(join(allowed, 'sub'), { recursive: true });
mkdirSync(sibling);
writeFileSync(join(allowed, 'a.sqlite'), 'x');
writeFileSync(join(sibling, 'b.sqlite'), 'x');
symlinkSync(join(sibling, 'b.sqlite'), join(allowed, 'sub', 'out.sqlite'));
symlinkSync(join(allowed, 'a.sqlite'), join(allowed, 'sub', 'in.sqlite'));
symlinkSync(allowed, join(root, 'link-to-allowed'));

const caps = capabilitiesOf(
  parseWorkerConfig({
    targets: { 'notes-prod': { dsn: 'env:NOTES_DSN', database: 'notes' } },
    sourceDirs: [allowed, join(root, 'link-to-allowed')],
    keyrings: { default: 'file:/etc/keys.json' },
  }),
);

function refused(fn: () => unknown): NotPermittedError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NotPermittedError);
    return err as NotPermittedError;
  }
  throw new Error('expected NotPermittedError');
}

describe('sourcePath', () => {
  it('grants a file inside, and one reached through a symlink that stays inside', () => {
    expect(caps.sourcePath(join(allowed, 'a.sqlite'))).toBe(join(allowed, 'a.sqlite'));
    expect(caps.sourcePath(join(allowed, 'sub', 'in.sqlite'))).toBe(join(allowed, 'a.sqlite'));
    expect(caps.sourcePath(join(root, 'link-to-allowed', 'a.sqlite'))).toBe(join(allowed, 'a.sqlite'));
  });

  it('refuses a sibling directory sharing the prefix, a symlink out, .., relative paths and the directory itself', () => {
    expect(refused(() => caps.sourcePath(join(sibling, 'b.sqlite'))).message).toMatch(/outside/);
    expect(refused(() => caps.sourcePath(join(allowed, 'sub', 'out.sqlite'))).message).toMatch(/symbolic link/);
    expect(refused(() => caps.sourcePath(`${allowed}/sub/../a.sqlite`)).message).toMatch(/"\.\." segment/);
    expect(refused(() => caps.sourcePath('allowed/a.sqlite')).message).toMatch(/absolute path/);
    expect(refused(() => caps.sourcePath(allowed)).field).toBe('source');
  });
});

describe('names', () => {
  it('grants declared names and refuses others, naming the field and the declared names', () => {
    expect(caps.target('notes-prod').database).toBe('notes');
    const err = refused(() => caps.target('notes-staging'));
    expect(err.field).toBe('target');
    expect(err.message).toMatch(/"notes-staging" is not a target .* \(declared: "notes-prod"\)/);
    expect(refused(() => caps.keyringRef('constructor')).field).toBe('keyring'); // no prototype lookups
    expect(refused(() => caps.webhookUrl('ops')).message).toMatch(/declared: none/);
  });

  it('never echoes a refused value that is not a name', () => {
    const err = refused(() => caps.target('postgres://u:s3cret@db/notes'));
    expect(err.message).not.toContain('s3cret');
  });
});
