// The compiled CLI the test suite runs (plain JavaScript, so that packages/cli/bin/tradewatch.js can load it without
// tsx). Tests spawn `tradewatch` hundreds of times; run from the TypeScript source, each start registers tsx and
// transpiles the CLI (`tradewatch --version`: ~0.67 s of CPU against ~0.22 s compiled).
//
//   node scripts/compiled-cli.js     builds it when the source changed since the last build, else does nothing
//
// The build is the packages' own (`npm run build`: what `npm pack` ships), then staged as a copy in
// packages/cli/.test-build: the packaging test packs the packages, and their prepack deletes and rebuilds
// packages/*/dist while other test files run the CLI. The copy keeps the installed layout: the CLI's modules at the
// top (so that they find packages/cli/package.json and packages/cli/scenarios as from dist/) and the SDK, with its
// package.json, in its own node_modules/@tradewatch/sdk, which Node's resolution finds before the workspace link.
//
// A fingerprint of the sources (path, size and mtime of every file the build reads) is taken before the build and
// written next to the copy once it is complete: the copy is current only while the sources still have that same
// fingerprint. Any edit, new, removed or restored file since makes it stale, and the bin then refuses to run it.
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Set (to 1) by scripts/test.sh once the copy is current: the bin then runs it instead of the source. */
export const COMPILED_CLI_ENV = 'TRADEWATCH_TEST_COMPILED_CLI';

const REPO = dirname(dirname(fileURLToPath(import.meta.url)));
export const TEST_BUILD_DIR = join(REPO, 'packages', 'cli', '.test-build');
export const TEST_BUILD_MAIN = join(TEST_BUILD_DIR, 'cli', 'main.js');
const FINGERPRINT_FILE = join(TEST_BUILD_DIR, 'source-fingerprint');

/** Everything `npm run build` reads from the repository: both packages' source and build settings, the lockfile. */
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

/** Builds and stages the copy unless it is current. */
function build() {
  if (staleness() === undefined) {
    console.log(`compiled CLI: ${relative(REPO, TEST_BUILD_DIR)} is current`);
    return;
  }
  const fingerprint = sourceFingerprint();
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: REPO, stdio: 'inherit' });
  const staging = `${TEST_BUILD_DIR}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  cpSync(join(REPO, 'packages', 'cli', 'dist'), staging, { recursive: true });
  const sdk = join(staging, 'node_modules', '@tradewatch', 'sdk');
  cpSync(join(REPO, 'packages', 'sdk', 'dist'), join(sdk, 'dist'), { recursive: true });
  cpSync(join(REPO, 'packages', 'sdk', 'package.json'), join(sdk, 'package.json'));
  // Written last: a build that failed half-way leaves no fingerprint, so never a copy that passes for current.
  writeFileSync(join(staging, 'source-fingerprint'), fingerprint);
  rmSync(TEST_BUILD_DIR, { recursive: true, force: true });
  renameSync(staging, TEST_BUILD_DIR);
  console.log(`compiled CLI: built into ${relative(REPO, TEST_BUILD_DIR)}`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) build();
