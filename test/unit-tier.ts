// The unit tier in one process: every test/*.unit.test.ts, imported here in name order (scripts/test.sh runs this file
// with node --test). One process per file paid Node's start, tsx and the SDK's module graph through tsx's loader once
// per file: the 27 files took 38 s of CPU that way and 19 s in one process, the same 168 tests passing (AMD EPYC,
// 2 cores, 2026-12-04). Unit files need nothing outside the process and leave nothing behind that another file could
// see (temp directories they delete, port 0, listeners they remove); a file-level after() runs once all files ran.
// One file alone still runs as before: npm run test:only -- test/<name>.unit.test.ts
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const files = readdirSync(here).filter((name) => name.endsWith('.unit.test.ts')).sort();
if (files.length === 0) test('the unit tier has test files', () => assert.fail(`no *.unit.test.ts in ${here}`));
for (const file of files) {
  try {
    await import(pathToFileURL(join(here, file)).href);
  } catch (err) {
    // A file that cannot load fails as a test of its own, named after it; the other files still run.
    test(`${file} loads`, () => {
      throw err;
    });
  }
}
