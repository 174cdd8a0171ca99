// The console's additions: the rules of hooks and accessibility checks on JSX.
import jsxA11y from 'eslint-plugin-jsx-a11y';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    files: ['**/*.tsx'],
    ...jsxA11y.flatConfigs.strict,
  },
  {
    files: ['**/*.tsx'],
    rules: {
      // Tables laid out as cards (CSS display) spell out their roles, which browsers otherwise drop; td as cell is no downgrade.
      'jsx-a11y/no-redundant-roles': ['error', { nav: ['navigation'], thead: ['rowgroup'], tbody: ['rowgroup'] }],
      'jsx-a11y/no-interactive-element-to-noninteractive-role': ['error', { td: ['cell'] }],
    },
  },
  {
    files: ['**/*.ts', '**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      // Props are declared in method shorthand (`onClose(): void`) and always called as plain functions, never with a `this`.
      '@typescript-eslint/unbound-method': 'off',
    },
    languageOptions: { globals: { ...globals.browser } },
  },
);
