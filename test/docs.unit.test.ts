/** Docs that cannot drift: they are checked against the code and the measurements they describe. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { renderSdkCosts, type SdkBenchResult } from '../bench/sdk-costs.js';
import { ErrorCodes } from '../packages/sdk/src/common/errors.js';

const read = (file: string) => fs.readFileSync(new URL(`../${file}`, import.meta.url), 'utf8');

test('docs/errors.md lists every error code, and only those', () => {
  const documented = [...read('docs/errors.md').matchAll(/^\| `(TW_[A-Z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual([...documented].sort(), Object.values(ErrorCodes).sort());
});

test('the SDK cost table in docs/sdk.md is the one rendered from bench/results/sdk.json', () => {
  const result = JSON.parse(read('bench/results/sdk.json')) as SdkBenchResult;
  assert.ok(read('docs/sdk.md').includes(renderSdkCosts(result)), 'docs/sdk.md is stale: run `node --import tsx bench/summary.ts`');
});
