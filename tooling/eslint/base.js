// The shared lint for every package: ESLint's recommended rules, typescript-eslint's strictest
// type-checked set, and a rule against import cycles. Each file's types come from its nearest
// tsconfig.json (projectService) unless the repository's config names the program (it does: the
// ones `pnpm typecheck` checks).
import js from '@eslint/js';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import globals from 'globals';
import tseslint from 'typescript-eslint';

/** Files no rule reads: build output, caches, generated files. */
export const ignores = [
  '**/node_modules/**',
  '**/dist/**',
  '**/.turbo/**',
  '**/.vite/**',
  '**/coverage/**',
  '**/release/**',
  '**/.data/**',
  '**/test-results/**',
];

/** Test files: Vitest tests, browser tests and their helpers. */
export const testFiles = ['**/test/**', '**/e2e/**', '**/*.test.ts', '**/fixtures/**', 'tooling/vitest/**'];

export default tseslint.config(
  { ignores },
  { linterOptions: { reportUnusedDisableDirectives: 'error' } },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true },
      globals: { ...globals.node },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ alwaysTryTypes: true })] },
    rules: {
      'import-x/no-cycle': 'error',
      // The house writes `import type` where only types are used (verbatimModuleSyntax needs it).
      '@typescript-eslint/consistent-type-imports': ['error', { prefer: 'type-imports', fixStyle: 'inline-type-imports' }],
      // A leading underscore marks a deliberately unused binding; `{ secret, ...rest }` is how the house omits fields.
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrorsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', ignoreRestSiblings: true },
      ],
      // Numbers and booleans in messages and SQL fragments read as themselves; objects still may not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // Handlers are written `onClick={() => setOpen(false)}`; a braced body would say nothing more.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
    },
  },
  {
    // Migrations and backups work on schemas that the Database interface does not describe (a past one, or any).
    files: ['**/migrations/**', '**/backup/**', '**/migrate.ts'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: testFiles,
    rules: {
      // Under noUncheckedIndexedAccess, `rows[0]!` in a test states what it expects; if wrong, the test fails.
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Tests assert on JSON bodies that the HTTP layer types as `any` (`response.json()`); the assertion is the check.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      // A `let` that beforeAll sets is typed as set, but afterAll also runs when beforeAll failed: `await api?.close()` is deliberate.
      '@typescript-eslint/no-unnecessary-condition': 'off',
    },
  },
  {
    // Scripts outside every tsconfig (build scripts, workers, the CLI's launcher) get the rules that need no types.
    files: ['**/*.js', '**/*.mjs', '**/*.cjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    files: ['**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
  },
);
