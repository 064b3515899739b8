import nx from '@nx/eslint-plugin';
import tsdoc from 'eslint-plugin-tsdoc';
import tseslint from 'typescript-eslint';

/**
 * Which projects may import which, by tag. Apps use libraries; the core depends on nothing of
 * ours; runtime and adapters depend on the core. With `testing`, tests and benchmarks may also use
 * the local Google Cloud stack (scope:testing), which production code may not.
 */
function moduleBoundaries({ testing }) {
  const extra = testing ? ['scope:testing'] : [];
  return [
    'error',
    {
      enforceBuildableLibDependency: true,
      allow: [],
      depConstraints: [
        { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:lib'] },
        // The tributary command composes the apps themselves (their ./app and ./config exports).
        { sourceTag: 'type:cli', onlyDependOnLibsWithTags: ['type:lib', 'type:app'] },
        { sourceTag: 'type:lib', onlyDependOnLibsWithTags: ['type:lib'] },
        { sourceTag: 'scope:core', onlyDependOnLibsWithTags: ['scope:core', ...extra] },
        { sourceTag: 'scope:runtime', onlyDependOnLibsWithTags: ['scope:core', ...extra] },
        { sourceTag: 'scope:adapters', onlyDependOnLibsWithTags: ['scope:core', ...extra] },
        { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:core'] },
      ],
    },
  ];
}

export default tseslint.config(
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  {
    ignores: [
      '**/dist',
      '.tributary',
      'dist-bundle',
      '**/out-tsc',
      '**/node_modules',
      '**/.nx',
      'coverage',
    ],
  },
  {
    files: ['packages/**/*.ts', 'apps/**/*.ts'],
    ignores: ['**/vitest.config.ts'],
    extends: [tseslint.configs.strictTypeChecked],
    plugins: { tsdoc },
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'tsdoc/syntax': 'error',
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/switch-exhaustiveness-check': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/only-throw-error': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@nx/enforce-module-boundaries': moduleBoundaries({ testing: false }),
    },
  },
  {
    files: ['**/*.test.ts', '**/bench/**/*.ts', '**/test-support/**/*.ts'],
    rules: {
      '@nx/enforce-module-boundaries': moduleBoundaries({ testing: true }),
      // Fakes and examples implement async ports with bodies that need no await.
      '@typescript-eslint/require-await': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-member-access': 'off',
    },
  },
);
