import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { API_REPORT_PATH, apiReport } from '../scripts/api-report.js';

// The SDK's public API is what packages/sdk/src/index.ts exports; the checked-in report makes every change of it a
// reviewed diff instead of an accident.
const report = apiReport();

test('the checked-in API report is the SDK root export as it is now (an API change needs `npm run gen`)', () => {
  assert.equal(readFileSync(API_REPORT_PATH, 'utf8'), report.content, `${API_REPORT_PATH} is stale: review the API change, then run npm run gen`);
});

test('every export of the SDK root has a doc comment', () => {
  assert.deepEqual(report.undocumented, []);
});

test('internal tooling stays out of the root export; the documented entry points are in it', async () => {
  const sdk: Record<string, unknown> = await import('../packages/sdk/src/index.js');
  for (const name of ['createMonitor', 'createWriter', 'startMetricsServer', 'applySchema', 'SqlClient', 'TradewatchError', 'ErrorCodes']) {
    assert.equal(typeof sdk[name] === 'function' || typeof sdk[name] === 'object', true, name);
  }
  for (const name of ['renderMetricsDoc', 'MicrosClock', 'toMicros', 'DEFAULT_MAX_SERIES', 'SDK_METRICS', 'renderSchemaDoc', 'systemClock', 'RowEncoder']) {
    assert.equal(name in sdk, false, `${name} is internal`);
  }
});
