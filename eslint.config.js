import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * Layering: the parts of tradewatch and the parts each may import (docs/architecture.md draws the same graph).
 * A part is imported only through its public surface: its index.js (relative, inside a package) or
 * `@tradewatch/sdk/<part>` (from the CLI package), plus the extra entry points listed in ENTRY_POINTS. `common`
 * imports nothing, and inside the SDK package its leaf modules may be imported file by file.
 * test/layering.unit.test.ts checks that this table has no cycle, that the real imports follow it, and that no
 * module imports itself in a circle.
 */
export const LAYERS = {
  common: [],
  schema: ['common'],
  storage: ['common', 'schema'],
  sdk: ['common', 'schema', 'storage'],
  questdb: ['common'],
  simulator: ['common'],
  // Setting types shared by the CLI parts' zod schemas (imports only zod).
  settings: [],
  grafana: ['common', 'schema', 'settings'],
  // The demo runs the whole stack: QuestDB, the simulator, the daemon, the exporter and a paper strategy.
  demo: ['common', 'schema', 'storage', 'sdk', 'config', 'questdb', 'simulator', 'daemon', 'exporter'],
  // The daemon records through the sdk; it uses storage only to read (the SQL client measuring table sizes).
  daemon: ['common', 'schema', 'sdk', 'storage', 'settings'],
  exporter: ['common', 'schema', 'sdk', 'storage'],
  // The alert-history receiver: Grafana's webhook payloads into tw_alert_events through the writer.
  alerts: ['common', 'schema', 'storage'],
  // The one configuration composes each part's own settings schema (retention: one setting per schema table).
  config: ['common', 'schema', 'storage', 'daemon', 'grafana', 'settings'],
  // Generated files: docs, Grafana provisioning, the Python catalog (schema, storage limits, metric catalog).
  generate: ['common', 'schema', 'storage', 'sdk', 'grafana'],
  cli: ['common', 'schema', 'storage', 'sdk', 'settings', 'questdb', 'simulator', 'grafana', 'demo', 'daemon', 'exporter', 'alerts', 'config'],
};

/** A part's public surfaces besides index.js. */
export const ENTRY_POINTS = {
  // A part's settings schema is an entry point of its own, so the config composes it without loading the part and
  // its optional dependencies (ccxt, the Grafana SDK) for the light commands.
  daemon: ['config-schema.js'],
  grafana: ['alerting/index.js', 'alerting/config.js'],
  // The pinned version alone, so that top-level help loads nothing but commander.
  questdb: ['version.js'],
};

/** Where the parts live: each root holds `<part>/` folders. */
export const PART_ROOTS = ['packages/sdk/src', 'packages/cli/src'];
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
      const entries = ['index.js', ...(ENTRY_POINTS[other] ?? [])].map(escape).join('|');
      const deep = `^(\\.\\.?/)+(\\.\\./)*${other}/(?!(${entries})$)`;
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
  { ignores: ['**/dist/', '**/.test-build/', '.scratch/', '**/node_modules/', '.cache/', 'deploy/', 'bench/results/', '.venv/'] },
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
