import baseConfig from '@stm/eslint-config/base';
import reactConfig from '@stm/eslint-config/react';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  ...baseConfig,
  {
    // The root Vitest config is checked with the Vitest tooling's tsconfig, which projectService (it looks for the nearest tsconfig.json) does not find.
    files: ['vitest.config.ts'],
    languageOptions: { parserOptions: { projectService: false, project: './tooling/vitest/tsconfig.json' } },
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
