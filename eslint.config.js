import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering: the parts of tradewatch and the parts each may import (docs/architecture.md draws the same graph).
 * A part is imported only through its public surface (index.js); `common` is a toolbox of leaf modules, imported
 * file by file, and imports nothing. A test (test/layering.unit.test.ts) checks that this table has no cycle and
 * that no module imports itself in a circle.
 */
export const LAYERS = {
  common: [],
  schema: ['common'],
  storage: ['common', 'schema'],
  sdk: ['common', 'schema', 'storage'],
  questdb: ['common'],
  simulator: ['common'],
  grafana: ['common', 'schema'],
  demo: ['common', 'sdk'],
  // The daemon records through the sdk; it uses storage only to read (the SQL client measuring table sizes).
  daemon: ['common', 'schema', 'sdk', 'storage'],
  exporter: ['common', 'schema', 'sdk', 'storage'],
  // The one configuration composes each part's own settings schema.
  config: ['common', 'storage', 'daemon', 'grafana'],
  generate: ['common', 'schema', 'sdk', 'grafana'],
  cli: ['common', 'schema', 'storage', 'sdk', 'questdb', 'simulator', 'grafana', 'demo', 'daemon', 'exporter', 'config'],
};

/** Where the parts live: each root holds `<part>/` folders (npm workspaces: add `packages/sdk/src`, `packages/cli/src`). */
const PART_ROOTS = ['src'];
/** Package names under which a part is published too (`@tradewatch/sdk/<part>` subpath imports). */
const PART_PACKAGES = ['@tradewatch/sdk', 'tradewatch'];

const escape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** no-restricted-imports patterns for the files of `part`. */
function layeringPatterns(part) {
  const allowed = new Set(LAYERS[part]);
  const patterns = [];
  for (const other of Object.keys(LAYERS)) {
    if (other === part) continue;
    const relative = `^(\\.\\.?/)+(\\.\\./)*${other}(/|$)`;
    const packaged = PART_PACKAGES.map((pkg) => `^${escape(pkg)}/${other}(/|$)`);
    if (!allowed.has(other)) {
      patterns.push({ regex: [relative, ...packaged].join('|'), message: `${part} may not depend on ${other} (eslint.config.js LAYERS, docs/architecture.md).` });
    } else if (other !== 'common') {
      const deep = `^(\\.\\.?/)+(\\.\\./)*${other}/(?!index\\.js$)`;
      const packagedDeep = PART_PACKAGES.map((pkg) => `^${escape(pkg)}/${other}/.`);
      patterns.push({ regex: [deep, ...packagedDeep].join('|'), message: `import ${other} through its index.js, its public surface.` });
    }
  }
  return patterns;
}

const layering = Object.keys(LAYERS).map((part) => ({
  files: PART_ROOTS.map((root) => `${root}/${part}/**/*.ts`),
  rules: { 'no-restricted-imports': ['error', { patterns: layeringPatterns(part) }] },
}));

export default tseslint.config(
  { ignores: ['dist/', '.scratch/', 'node_modules/', '.cache/', 'deploy/', 'bench/results/', '.venv/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  ...layering,
  {
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly' } },
  },
);
