// Small tmpfs filesystems for the disk-full cases: mounted as root (the suite and CI run as root),
// filled on purpose with a ballast file, unmounted in cleanup. A mount that fails throws: the
// cases that need one fail loudly, they never skip.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Mounts a tmpfs of `sizeMb` at `dir` (created when missing), mode 0755 (`mode` to change it). */
export function mountTmpfs(dir: string, sizeMb: number, mode = '0755'): void {
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m,mode=${mode}`, 'tmpfs', dir], {
    encoding: 'utf8',
  });
  if (r.status !== 0)
    throw new Error(
      `mount -t tmpfs at ${dir} failed (the disk-full fault cases need root and mount): ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`,
    );
}

/** A fresh directory under the system temp dir, traversable by the `postgres` user, with a tmpfs on it. */
export function tmpfsForPostgres(prefix: string, sizeMb: number): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  mountTmpfs(dir, sizeMb);
  return dir;
}

/** Unmounts `dir` (lazily, so a process still holding a file cannot keep it) and removes it when asked. */
export function unmountTmpfs(dir: string, remove = false): void {
  const r = spawnSync('umount', ['-l', dir], { encoding: 'utf8' });
  if (r.status !== 0) console.error(`[faults] umount ${dir}: ${(r.stderr || `exit ${r.status}`).trim()}`);
  if (remove) rmSync(dir, { recursive: true, force: true });
}

/** Free bytes on the filesystem of `dir`. */
export function freeBytes(dir: string): number {
  const fs = statfsSync(dir);
  return fs.bavail * fs.bsize;
}
