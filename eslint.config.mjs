// ESLint with typescript-eslint's recommended rules, run by `npm test` (and `npm run lint`).
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['build/**', 'node_modules/**', 'charts/**', 'dist/**', 'lib/imports/**', 'bench/results/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      // Generated Kubernetes objects and parsed YAML are untyped JSON; `any` is how they are read.
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  // The plain Node scripts are CommonJS.
  { files: ['**/*.js'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
