// The sandbox lint rule (docs/design.md, law 1) really rejects I/O imports in workflows/ and lib/.
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Lints text as if it were an existing file of the folder (the type-aware parser needs a project file).
const eslint = new ESLint();

async function restricted(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

describe('workflow sandbox lint rule', () => {
  it.each([
    ["import { readFileSync } from 'node:fs';\nexport const x = readFileSync;", 'node built-in'],
    ["import pg from 'pg';\nexport const x = pg;", 'pg'],
    ["import Database from 'better-sqlite3';\nexport const x = Database;", 'better-sqlite3'],
    [
      "import { createActivities } from '../activities';\nexport const x = createActivities;",
      'value import of activities',
    ],
    ["import { freePort } from '../infra/ports';\nexport const x = freePort;", 'infra (I/O)'],
    ["import { z } from 'zod';\nexport const x = z;", 'any other package'],
  ])('rejects %s (%s)', async (code) => {
    expect(await restricted(code, 'workflows/window.ts')).not.toEqual([]);
  });

  it('accepts @temporalio/workflow, lib/, sibling files and type-only activity imports', async () => {
    const code = [
      "import { sleep } from '@temporalio/workflow';",
      "import { DEFAULT_CHUNK_ROWS } from '../lib/defaults';",
      "import { boundedWindow } from './window';",
      "import type { Activities } from '../activities';",
      'export type A = Activities;',
      'export const x = [sleep, DEFAULT_CHUNK_ROWS, boundedWindow];',
    ].join('\n');
    expect(await restricted(code, 'workflows/window.ts')).toEqual([]);
  });

  it.each([
    ["import pg from 'pg';\nexport const x = pg;", 'pg'],
    [
      "import { createActivities } from '../../activities';\nexport const x = createActivities;",
      'value import of activities',
    ],
    ["import { freePort } from '../../infra/ports';\nexport const x = freePort;", 'infra (I/O)'],
    ["import { x } from '../../../outside';\nexport const y = x;", 'outside the repository'],
  ])('rejects in a phase file %s (%s)', async (code) => {
    expect(await restricted(code, 'workflows/phases/indexes.ts')).not.toEqual([]);
  });

  it('accepts in a phase file: workflows/ siblings, lib/ and type-only activity imports', async () => {
    const code = [
      "import { ApplicationFailure } from '@temporalio/workflow';",
      "import { TABLE_ORDER } from '../../lib/mapping';",
      "import { required } from '../run-state';",
      "import type { Phase } from './phase';",
      "import type { Activities } from '../../activities';",
      'export type A = [Activities, Phase];',
      'export const x = [ApplicationFailure, TABLE_ORDER, required];',
    ].join('\n');
    expect(await restricted(code, 'workflows/phases/indexes.ts')).toEqual([]);
  });

  it('keeps lib/ free of I/O modules too', async () => {
    expect(await restricted("import pg from 'pg';\nexport const x = pg;", 'lib/defaults.ts')).not.toEqual([]);
  });
});
