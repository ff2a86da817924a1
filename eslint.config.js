// ESLint flat config: the recommended rules of ESLint and typescript-eslint.
// The layering (what src/mesh/ may import, no cycles between folders) is
// checked by dependency-cruiser (.dependency-cruiser.cjs); the one thing it
// cannot see, the `process` global in src/mesh/, is checked here.
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'

export default tseslint.config(
  {ignores: ['dist/', 'build/', 'node_modules/', 'coverage/']},
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {globals: globals.node},
    rules: {
      // `const {secret: _s, ...rest} = obj` drops a field: the usual convention.
      '@typescript-eslint/no-unused-vars': ['error', {varsIgnorePattern: '^_', argsIgnorePattern: '^_', ignoreRestSiblings: true}],
      // `let [a, b] = …` where only a is reassigned stays one statement.
      'prefer-const': ['error', {destructuring: 'all'}],
      // Terminal output is stripped of ANSI escape sequences (ESC = \x1b) on purpose.
      'no-control-regex': 'off',
    },
  },
  {
    // Expected output holds YAML indentation: literal spaces read as what the user sees.
    files: ['test/**'],
    rules: {'no-regex-spaces': 'off'},
  },
  {
    // CommonJS on purpose: the single executable's loader (Node SEA runs CommonJS).
    files: ['**/*.cjs'],
    languageOptions: {sourceType: 'commonjs'},
    rules: {'@typescript-eslint/no-require-imports': 'off'},
  },
  {
    // src/mesh/ is pure: state in, objects or findings out (DESIGN.md). Imports are
    // checked by dependency-cruiser; the process global is checked here.
    files: ['src/mesh/**'],
    rules: {
      'no-restricted-globals': ['error', {name: 'process', message: 'src/mesh/ is pure: pass what you need in from the command or a reader (src/read/).'}],
      'no-restricted-imports': ['error', {paths: [
        {name: 'node:process', message: 'src/mesh/ is pure: no process.'},
        {name: 'process', message: 'src/mesh/ is pure: no process.'},
      ]}],
    },
  },
)
