import baseConfig from '@stm/eslint-config/base';
import reactConfig from '@stm/eslint-config/react';
import tseslint from 'typescript-eslint';

/** Type-aware rules read each file in the program `pnpm typecheck` checks it in. */
const program = (project) => ({ languageOptions: { parserOptions: { projectService: false, project } } });

export default tseslint.config(
  ...baseConfig,
  // Every Node package in one program: the API's sources, which other packages import, are loaded
  // once, not once per package as each package's nearest tsconfig.json (projectService) would.
  { files: ['**/*.ts', '**/*.tsx'], ...program('./tsconfig.check.json') },
  { files: ['apps/console/src/**'], ...program('./apps/console/tsconfig.json'), extends: [...reactConfig] },
  { files: ['apps/console/e2e/**', 'apps/console/vite.config.ts'], ...program('./apps/console/tsconfig.node.json') },
);
