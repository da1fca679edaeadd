/**
 * The layering the linter enforces (eslint.config.js LAYERS, no-restricted-imports per part), checked from the other
 * side: every part is in the table and on the architecture page, the table itself has no cycle, the real imports
 * follow it, and no module imports itself in a circle (the linter cannot see cycles).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const eslintConfig = '../eslint.config.js';
const { LAYERS, PART_ROOTS } = (await import(eslintConfig)) as { LAYERS: Record<string, string[]>; PART_ROOTS: string[] };
const roots = PART_ROOTS.map((r) => path.join(root, r));
/** `@tradewatch/sdk/<part>` as the CLI package imports it, resolved to the part's index. */
const SDK_PACKAGE = '@tradewatch/sdk';

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    return entry.isDirectory() ? sourceFiles(full) : entry.name.endsWith('.ts') ? [full] : [];
  });
}

/** Relative imports of a file, resolved to source files, with whether each is type-only. */
function importsOf(file: string): { target: string; typeOnly: boolean }[] {
  const text = fs.readFileSync(file, 'utf8');
  const found: { target: string; typeOnly: boolean }[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?(?:[^'";]*?\sfrom\s+)?'([^']+)'/gm)) {
    const spec = m[3]!;
    let target: string | undefined;
    if (spec.startsWith('.')) target = path.resolve(path.dirname(file), spec).replace(/\.js$/, '.ts');
    else if (spec === SDK_PACKAGE) target = path.join(root, 'packages/sdk/src/index.ts');
    else if (spec.startsWith(`${SDK_PACKAGE}/`)) target = path.join(root, 'packages/sdk/src', spec.slice(SDK_PACKAGE.length + 1), 'index.ts');
    if (target) found.push({ target, typeOnly: m[2] !== undefined });
  }
  return found;
}

const partOf = (file: string) => {
  const base = roots.find((r) => file.startsWith(r + path.sep));
  return base ? path.relative(base, file).split(path.sep)[0]! : '';
};
const files = roots.flatMap(sourceFiles);
const parts = [...new Set(files.map(partOf).filter((p) => !p.endsWith('.ts')))];

test('every part is in the layering table and on the architecture page', () => {
  const architecture = fs.readFileSync(path.join(root, 'docs', 'architecture.md'), 'utf8');
  for (const part of parts) {
    assert.ok(part in LAYERS, `src/${part} is not in eslint.config.js LAYERS`);
    assert.ok(PART_ROOTS.some((r) => architecture.includes(`\`${r}/${part}\``)), `docs/architecture.md does not list ${part}`);
  }
  for (const [part, deps] of Object.entries(LAYERS)) for (const dep of deps) assert.ok(dep in LAYERS, `${part} → unknown part ${dep}`);
});

test('the layering table has no cycle: parts depend downward', () => {
  const state = new Map<string, 'open' | 'done'>();
  const visit = (part: string, trail: string[]) => {
    if (state.get(part) === 'done') return;
    assert.notEqual(state.get(part), 'open', `cycle: ${[...trail, part].join(' → ')}`);
    state.set(part, 'open');
    for (const dep of LAYERS[part]!) visit(dep, [...trail, part]);
    state.set(part, 'done');
  };
  for (const part of Object.keys(LAYERS)) visit(part, []);
});

test('real imports follow the table', () => {
  const violations: string[] = [];
  for (const file of files) {
    const from = partOf(file);
    if (!(from in LAYERS)) continue; // src/index.ts, the package entry, re-exports the public parts
    for (const { target } of importsOf(file)) {
      const to = partOf(target);
      if (to !== from && !LAYERS[from]!.includes(to)) violations.push(`${path.relative(root, file)} → ${path.relative(root, target)}`);
    }
  }
  assert.deepEqual(violations, []);
});

test('no module imports itself in a circle', () => {
  const graph = new Map(files.map((file) => [file, importsOf(file).map((i) => i.target)]));
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].map((f) => path.relative(root, f)).join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of files) if (!state.has(file)) visit(file);
  assert.deepEqual(cycles, []);
});
