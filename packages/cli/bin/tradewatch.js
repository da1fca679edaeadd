#!/usr/bin/env node
// Installed, this runs the compiled CLI. In the repository's own checkout (TypeScript source beside it and tsx
// installed) it runs the source through tsx instead, so a stale build can never be what a developer runs.
// One exception, for the test suite: with TRADEWATCH_TEST_COMPILED_CLI=1 (set by scripts/test.sh once it has built
// the CLI for the run) a checkout runs that compiled copy (packages/cli/.test-build, see scripts/compiled-cli.js):
// tests start the CLI hundreds of times, and tsx costs each start about half a second of CPU. The copy is checked
// against the source first; if it is missing or the source changed since it was built, the bin exits with an error
// naming the variable rather than fall back to tsx: the variable is the runner's promise that the build is current
// (a source edited during a run breaks it, and should be seen), and a silent fallback would hide both that and the
// lost speed. Its status, 70 (EX_SOFTWARE), is one no tradewatch command uses: no test expecting a failure passes on it.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const packageRoot = dirname(dirname(fileURLToPath(import.meta.url)));
const source = join(packageRoot, 'src', 'cli', 'main.ts');
const repoTsconfig = join(packageRoot, '..', '..', 'tsconfig.json');
const inCheckout = existsSync(source) && existsSync(repoTsconfig);
const compiledForTests = process.env.TRADEWATCH_TEST_COMPILED_CLI;
if (inCheckout && compiledForTests !== undefined && !['', '0', '1'].includes(compiledForTests)) {
  process.stderr.write(`tradewatch: TRADEWATCH_TEST_COMPILED_CLI must be 1 (run the compiled copy) or 0 (the source), got ${JSON.stringify(compiledForTests)}\n`);
  process.exit(70);
}
if (inCheckout && compiledForTests === '1') {
  await runTestBuild();
} else if (inCheckout && (await canImport('tsx/esm/api'))) {
  const { register } = await import('tsx/esm/api');
  register({ tsconfig: repoTsconfig });
  await import(pathToFileURL(source).href);
} else {
  await import(pathToFileURL(join(packageRoot, 'dist', 'cli', 'main.js')).href);
}

async function runTestBuild() {
  const { COMPILED_CLI_ENV, TEST_BUILD_MAIN, staleness } = await import(pathToFileURL(join(packageRoot, '..', '..', 'scripts', 'compiled-cli.js')).href);
  const stale = staleness();
  if (stale !== undefined) {
    process.stderr.write(`tradewatch: ${COMPILED_CLI_ENV} is set, but ${stale}: run \`node scripts/compiled-cli.js\` (scripts/test.sh does), or unset ${COMPILED_CLI_ENV} to run the source\n`);
    process.exit(70);
  }
  await import(pathToFileURL(TEST_BUILD_MAIN).href);
}

async function canImport(specifier) {
  try {
    await import.meta.resolve(specifier);
    return true;
  } catch {
    return false;
  }
}
