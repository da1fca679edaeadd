// The bin's test-runner switch (TRADEWATCH_TEST_COMPILED_CLI, packages/cli/bin/tradewatch.js) against a stand-in
// checkout in a temp directory: the real bin and scripts/compiled-cli.js copied into the layout they expect, a
// one-line "compiled CLI" that says where it ran from. The real checkout's copy is never touched, so this can run
// beside test files that use it.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const repo = dirname(dirname(fileURLToPath(import.meta.url)));
const checkout = mkdtempSync(join(tmpdir(), 'tw-compiled-cli-'));
after(() => rmSync(checkout, { recursive: true, force: true }));

const put = (path: string, content: string) => {
  mkdirSync(dirname(join(checkout, path)), { recursive: true });
  writeFileSync(join(checkout, path), content);
};
for (const path of ['packages/cli/bin/tradewatch.js', 'scripts/compiled-cli.js']) {
  mkdirSync(dirname(join(checkout, path)), { recursive: true });
  copyFileSync(join(repo, path), join(checkout, path));
}
put('package.json', '{ "type": "module" }');
for (const path of ['tsconfig.json', 'package-lock.json', 'packages/sdk/package.json', 'packages/sdk/tsconfig.build.json', 'packages/cli/tsconfig.build.json']) put(path, '{}');
put('packages/cli/package.json', '{ "type": "module" }');
put('packages/sdk/src/index.ts', 'export const sdk = 1;\n');
put('packages/cli/src/cli/main.ts', 'console.log("source");\n');
put('packages/cli/.test-build/cli/main.js', 'console.log("compiled");\n');

/** The stand-in's bin with TRADEWATCH_TEST_COMPILED_CLI=`value`: its exit status and output. */
async function bin(value: string): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [join(checkout, 'packages/cli/bin/tradewatch.js')], {
      env: { PATH: process.env.PATH ?? '', TRADEWATCH_TEST_COMPILED_CLI: value },
      timeout: 60_000,
    });
    return { code: 0, ...r };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** What scripts/compiled-cli.js writes once a build is staged: the sources' fingerprint as they are now. */
async function markBuilt(): Promise<void> {
  const { sourceFingerprint } = (await import(`${pathToFileURL(join(checkout, 'scripts/compiled-cli.js')).href}?${Date.now()}`)) as { sourceFingerprint: () => string };
  put('packages/cli/.test-build/source-fingerprint', sourceFingerprint());
}

test('TRADEWATCH_TEST_COMPILED_CLI=1 with no built copy: status 70 naming the variable, nothing run', async () => {
  const r = await bin('1');
  assert.equal(r.code, 70);
  assert.match(r.stderr, /TRADEWATCH_TEST_COMPILED_CLI is set, but packages\/cli\/\.test-build is missing or incomplete/);
  assert.equal(r.stdout, '');
});

test('a copy built from the current sources is what runs; any later change to a source makes the bin refuse it', async () => {
  await markBuilt();
  assert.deepEqual(await bin('1'), { code: 0, stdout: 'compiled\n', stderr: '' });

  // An edit (a new mtime), an mtime restored to an older one, a new file, a removed file: each is a change.
  const source = join(checkout, 'packages/cli/src/cli/main.ts');
  const changes: Array<[string, () => void]> = [
    ['edited', () => utimesSync(source, new Date(), new Date(Date.now() + 5_000))],
    ['restored to an older mtime', () => utimesSync(source, new Date(0), new Date(0))],
    ['added', () => put('packages/sdk/src/extra.ts', 'export {};\n')],
    ['removed', () => rmSync(join(checkout, 'packages/sdk/src/extra.ts'))],
    ['build setting edited', () => put('packages/cli/tsconfig.build.json', '{ "compilerOptions": {} }')],
  ];
  for (const [what, change] of changes) {
    await markBuilt();
    change();
    const r = await bin('1');
    assert.equal(r.code, 70, `source ${what}: refused`);
    assert.match(r.stderr, /the source changed since packages\/cli\/\.test-build was built/, `source ${what}: says why`);
    assert.equal(r.stdout, '', `source ${what}: the stale copy did not run`);
  }
});

test('TRADEWATCH_TEST_COMPILED_CLI takes 1 or 0; another value is refused naming it', async () => {
  const r = await bin('yes');
  assert.equal(r.code, 70);
  assert.match(r.stderr, /TRADEWATCH_TEST_COMPILED_CLI must be 1 \(run the compiled copy\) or 0 \(the source\), got "yes"/);
});
