import baseConfig from '@stm/eslint-config/base';
import reactConfig from '@stm/eslint-config/react';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  ...baseConfig,
  {
    // The root Vitest config belongs to no package's tsconfig.
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['vitest.config.ts'] } } },
  },
  {
    files: ['apps/console/src/**'],
    extends: [...reactConfig],
  },
  {
    // These are checked by tsconfig.node.json, which projectService (it looks for tsconfig.json) does not find.
    files: ['apps/console/e2e/**', 'apps/console/vite.config.ts'],
    languageOptions: { parserOptions: { projectService: false, project: './apps/console/tsconfig.node.json' } },
  },
);
