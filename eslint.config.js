// Lint rules that keep the architecture honest (DESIGN.md §2, STYLE.md §1):
// - workflows/** is deterministic sandbox code: it may import only @temporalio/workflow,
//   pure shared code in lib/, other workflow files, and *type-only* imports of activities.
// - lib/** is pure shared code: no Node built-ins, no database drivers, no Temporal worker/client.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

export default tseslint.config(
  { ignores: ['node_modules/**', '.tools/**', 'var/**', 'coverage/**'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    files: ['workflows/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'pg', 'better-sqlite3', '@temporalio/worker', '@temporalio/client', '@temporalio/activity'].map(
            (name) => ({ name, message: 'workflows/ is deterministic sandbox code: no I/O modules.' }),
          ),
          patterns: [
            { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'Only type-only imports of activities are allowed in workflows/.' },
            {
              regex: '^(?!@temporalio/(workflow|common)$|\\./|\\.\\./lib(/|$)|\\.\\./activities(/|$))',
              message: 'workflows/ may import only @temporalio/workflow (and its pure @temporalio/common), lib/ (pure code) and type-only activities.',
            },
          ],
        },
      ],
    },
  },
  {
    files: ['lib/**/*.ts'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'pg', 'better-sqlite3', '@temporalio/worker', '@temporalio/client'].map((name) => ({
            name,
            message: 'lib/ is pure shared code (also bundled into workflows): no I/O modules.',
          })),
        },
      ],
    },
  },
);
