// The compiled CLI the test suite runs (plain JavaScript, so that packages/cli/bin/tradewatch.js can load it without
// tsx). Tests spawn `tradewatch` hundreds of times; run from the TypeScript source, each start registers tsx and
// transpiles the CLI (`tradewatch --version`: ~0.67 s of CPU against ~0.22 s compiled).
//
//   node scripts/compiled-cli.js     builds it when the source changed since the last build, else does nothing
//
// It is transpiled with esbuild, file by file (the packages' `npm run build` is tsc: ~27 s of CPU on these 2 cores,
// against ~0.3 s; the suite type-checks everything with tsc in a lane of its own, and the packaging test builds and
// packs with the packages' own tsc build). esbuild is also what tsx runs the source with, so the compiled CLI is the
// code `tradewatch` runs from a checkout, and what it emits does what tsc's emit does for this source (no decorators,
// no cross-file const enums, ES2022 class fields as in tsconfig.json). It goes to packages/cli/.test-build, not
// packages/*/dist: the packaging test's `npm pack` runs the packages' prepack, which deletes and rebuilds dist while
// other test files run the CLI. The copy has the installed layout: the CLI's modules at the top (so that they find
// packages/cli/package.json and packages/cli/scenarios as from dist/) and the SDK, with its package.json, in its own
// node_modules/@tradewatch/sdk, which Node's resolution finds before the workspace link.
//
// A fingerprint of the sources (path, size and mtime of every file the build reads) is taken before the build and
// written next to the copy once it is complete: the copy is current only while the sources still have that same
// fingerprint. Any edit, new, removed or restored file since makes it stale, and the bin then refuses to run it.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set (to 1) by scripts/test.sh once the copy is current: the bin then runs it instead of the source. */
export const COMPILED_CLI_ENV = 'TRADEWATCH_TEST_COMPILED_CLI';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
export const TEST_BUILD_DIR = join(REPO, 'packages', 'cli', '.test-build');
export const TEST_BUILD_MAIN = join(TEST_BUILD_DIR, 'cli', 'main.js');
const FINGERPRINT_FILE = join(TEST_BUILD_DIR, 'source-fingerprint');

/**
 * What the copy is built from: both packages' source, package.json and build settings (tsconfig.json, which esbuild
 * reads; the packages' tsconfig.build.json too, so that a setting changed for the published build refreshes the copy),
 * and the lockfile.
 */
const SOURCE_DIRS = ['packages/sdk/src', 'packages/cli/src'];
const SOURCE_FILES = [
  'tsconfig.json',
  'package-lock.json',
  'packages/sdk/package.json',
  'packages/sdk/tsconfig.build.json',
  'packages/cli/package.json',
  'packages/cli/tsconfig.build.json',
];

function* filesUnder(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* filesUnder(path);
    else yield path;
  }
}

/** Path, size and mtime of every source file, hashed: ~170 stats, a few milliseconds. */
export function sourceFingerprint() {
  const files = [...SOURCE_DIRS.flatMap((dir) => [...filesUnder(join(REPO, dir))]), ...SOURCE_FILES.map((file) => join(REPO, file))];
  const lines = files.sort().map((file) => {
    const { size, mtimeMs } = statSync(file);
    return `${relative(REPO, file)}\t${size}\t${mtimeMs}`;
  });
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}

/** Why the copy cannot be run (missing, or built from other sources than the current ones); undefined if current. */
export function staleness() {
  if (!existsSync(FINGERPRINT_FILE) || !existsSync(TEST_BUILD_MAIN)) return `${relative(REPO, TEST_BUILD_DIR)} is missing or incomplete`;
  if (readFileSync(FINGERPRINT_FILE, 'utf8') !== sourceFingerprint()) return `the source changed since ${relative(REPO, TEST_BUILD_DIR)} was built`;
  return undefined;
}

/** Every .ts file under `srcDir` to ES module JavaScript under `outDir`, the same relative paths (.ts → .js). */
async function transpile(srcDir, outDir) {
  const entryPoints = [...filesUnder(srcDir)].filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts'));
  // Loaded here, not at the top: the bin and the tests import this module's staleness check, which needs no esbuild.
  const { build: esbuild } = await import('esbuild');
  // Each file as it is (bundle: false, imports untouched); the source's tsconfig.json gives target and class fields.
  await esbuild({ entryPoints, outdir: outDir, outbase: srcDir, bundle: false, format: 'esm', platform: 'node', target: 'node20', logLevel: 'warning' });
}

/** Builds and stages the copy unless it is current. */
async function build() {
  if (staleness() === undefined) {
    console.log(`compiled CLI: ${relative(REPO, TEST_BUILD_DIR)} is current`);
    return;
  }
  const fingerprint = sourceFingerprint();
  const staging = `${TEST_BUILD_DIR}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  const sdk = join(staging, 'node_modules', '@tradewatch', 'sdk');
  await transpile(join(REPO, 'packages', 'cli', 'src'), staging);
  await transpile(join(REPO, 'packages', 'sdk', 'src'), join(sdk, 'dist'));
  cpSync(join(REPO, 'packages', 'sdk', 'package.json'), join(sdk, 'package.json'));
  // Written last: a build that failed half-way leaves no fingerprint, so never a copy that passes for current.
  writeFileSync(join(staging, 'source-fingerprint'), fingerprint);
  rmSync(TEST_BUILD_DIR, { recursive: true, force: true });
  renameSync(staging, TEST_BUILD_DIR);
  console.log(`compiled CLI: built into ${relative(REPO, TEST_BUILD_DIR)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await build();
