// Lint rules that keep the architecture honest (docs/design.md §2, docs/conventions.md §1):
// - workflows/** is deterministic sandbox code: it may import only @temporalio/workflow,
//   pure shared code in lib/, other workflow files, and *type-only* imports of activities.
// - lib/** is pure shared code: no Node built-ins, no database drivers, no Temporal worker/client.
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];

/** workflows/ is sandbox code; `up` is the relative prefix that reaches the repository root from the files. */
function sandboxRule(files, up) {
  const root = up.split('|').at(-1);
  return {
    files: [files],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          paths: [
            ...nodeBuiltins,
            'pg',
            'better-sqlite3',
            '@temporalio/worker',
            '@temporalio/client',
            '@temporalio/activity',
          ].map((name) => ({ name, message: 'workflows/ is deterministic sandbox code: no I/O modules.' })),
          patterns: [
            {
              regex: `^(${root})activities(/|$)`,
              allowTypeImports: true,
              message: 'Only type-only imports of activities are allowed in workflows/.',
            },
            {
              regex: `^(?!@temporalio/(workflow|common)$|\\./|${up.includes('|') ? `${up.split('|')[0]}|` : ''}(${root})lib(/|$)|(${root})activities(/|$))`,
              message:
                'workflows/ may import only @temporalio/workflow (and its pure @temporalio/common), lib/ (pure code) and type-only activities.',
            },
          ],
        },
      ],
    },
  };
}

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
  sandboxRule('workflows/*.ts', '\\.\\./'),
  // Phase files sit one folder down: `../` is workflows/ itself, `../../` reaches lib/ and activities/ only.
  sandboxRule('workflows/phases/*.ts', '\\.\\./(?!\\.\\./)|\\.\\./\\.\\./'),
  // Workflow code stays readable in one screen per function: the driver delegates to phase files.
  {
    files: ['workflows/**/*.ts'],
    rules: { 'max-lines-per-function': ['error', { max: 80, skipBlankLines: true, skipComments: true }] },
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
