// A rollout's users file: JSON Lines of {"userId","source"}, read by the worker page by page, so a
// rollout of any size keeps its workflow input and every activity result small. Every page
// re-checks the file's sha256: a file edited mid-rollout would shift cohorts under it.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { InvalidInputError } from '../lib/errors';

const Line = z.object({ userId: z.string().uuid(), source: z.string().min(1) }).strict();
export type RolloutUser = z.infer<typeof Line>;

function load(path: string): { text: string; sha256: string } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new InvalidInputError(
      'usersFile',
      `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  return { text, sha256: createHash('sha256').update(text).digest('hex') };
}

function lines(text: string): string[] {
  return text.split('\n').filter((l) => l.trim() !== '');
}

/** Validates every line (naming the first bad one) and counts the users. */
export function describeUsersFile(path: string): { users: number; sha256: string } {
  const { text, sha256 } = load(path);
  const all = lines(text);
  const seen = new Set<string>();
  all.forEach((l, i) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(l);
    } catch {
      throw new InvalidInputError('usersFile', `${path} line ${i + 1}: not JSON`);
    }
    const r = Line.safeParse(parsed);
    if (!r.success)
      throw new InvalidInputError(
        'usersFile',
        `${path} line ${i + 1}: ${r.error.issues[0]!.path.join('.') || 'line'} ${r.error.issues[0]!.message}`,
      );
    const id = r.data.userId.toLowerCase();
    if (seen.has(id)) throw new InvalidInputError('usersFile', `${path} line ${i + 1}: user ${id} listed twice`);
    seen.add(id);
  });
  if (all.length === 0) throw new InvalidInputError('usersFile', `${path} lists no users`);
  return { users: all.length, sha256 };
}

/** Users [offset, offset + limit) of the file, refusing a file that changed since it was described. */
export function usersFilePage(path: string, sha256: string, offset: number, limit: number): RolloutUser[] {
  const current = load(path);
  if (current.sha256 !== sha256)
    throw new InvalidInputError(
      'usersFile',
      `${path} changed since the rollout started (sha256 ${sha256.slice(0, 12)}…, now ${current.sha256.slice(0, 12)}…): restore it or start a new rollout`,
    );
  return lines(current.text)
    .slice(offset, offset + limit)
    .map((l) => Line.parse(JSON.parse(l)));
}
