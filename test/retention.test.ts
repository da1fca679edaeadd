// Retention defaults and their configuration. Pure: no QuestDB (schema apply's TTL handling is checked on a real
// QuestDB in test/schema-apply.test.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { loadConfig, retentionTtls } from '../packages/cli/src/config/index.js';
import {
  longestRetentionDays,
  MIN_RETENTION_DAYS,
  parseTtl,
  RETENTION_EXCEPTIONS,
  tables,
  ttlDays,
  views,
  withRetention,
} from '../packages/sdk/src/schema/index.js';
import { estimateStorage, REFERENCE_WORKLOAD } from '../packages/sdk/src/schema/estimate.js';

test(`every table keeps at least ${MIN_RETENTION_DAYS} days at some resolution (FR-008)`, () => {
  for (const table of tables) {
    const days = longestRetentionDays(table, views);
    assert.ok(days >= MIN_RETENTION_DAYS, `${table.name} keeps ${days} days at most (raw and rollups)`);
  }
});

test(`raw data is kept ${MIN_RETENTION_DAYS} days or more, except the documented exceptions, whose rollups keep a year`, () => {
  const short = tables.filter((t) => ttlDays(t.ttl) < MIN_RETENTION_DAYS).map((t) => t.name).sort();
  assert.deepEqual(short, Object.keys(RETENTION_EXCEPTIONS).sort(), 'every table kept raw < 90 days is an exception with a reason');
  const doc = readFileSync('docs/schema.md', 'utf8');
  for (const name of short) {
    assert.ok(doc.includes(`- \`${name}\``), `docs/schema.md lists ${name} as an exception`);
    const minute = views.find((v) => v.table.name === name && v.interval === '1m');
    assert.ok(minute && ttlDays(minute.ttl) >= 365, `${name}: a 1-minute rollup kept a year`);
  }
});

test('the storage estimate with the default TTLs stays within 5 GB after 90 days with storage tiers', () => {
  const bytes = estimateStorage(tables, views, 90).reduce((s, e) => s + e.tieredBytes, 0);
  assert.ok(bytes <= 5e9, `${(bytes / 1e9).toFixed(2)} GB`);
  // The estimate's Parquet ratios are never more optimistic than the last measurement.
  const measured = JSON.parse(readFileSync('bench/results/storage.json', 'utf8')) as { objects: { object: string; parquetOverNative?: number }[] };
  for (const o of measured.objects) {
    if (o.parquetOverNative === undefined) continue;
    assert.ok(REFERENCE_WORKLOAD[o.object]!.parquetRatio >= o.parquetOverNative, `${o.object}: ratio below the measured ${o.parquetOverNative}`);
  }
});

test('parseTtl reads the config spellings and refuses the ambiguous or empty ones with the value in the message', () => {
  assert.deepEqual(parseTtl('90d'), { value: 90, unit: 'DAYS' });
  assert.deepEqual(parseTtl('12h'), { value: 12, unit: 'HOURS' });
  assert.deepEqual(parseTtl('2w'), { value: 2, unit: 'WEEKS' });
  assert.deepEqual(parseTtl('6M'), { value: 6, unit: 'MONTHS' });
  assert.deepEqual(parseTtl('5y'), { value: 5, unit: 'YEARS' });
  assert.deepEqual(parseTtl('30 Days'), { value: 30, unit: 'DAYS' });
  assert.throws(() => parseTtl('6m'), /"6m" is not a retention/);
  assert.throws(() => parseTtl('0d'), /at least 1 day/);
  assert.throws(() => parseTtl('ninety days'), /is not a retention/);
});

test('storage.retention in the config: per table or view, from file or environment, errors name the field and value', () => {
  const config = loadConfig({ env: { TRADEWATCH_STORAGE_RETENTION_TW_METRICS: '120d' } });
  assert.deepEqual(retentionTtls(config), { tw_metrics: { value: 120, unit: 'DAYS' } });
  const { tables: applied, views: appliedViews } = withRetention(tables, views, retentionTtls(config));
  assert.deepEqual(applied.find((t) => t.name === 'tw_metrics')!.ttl, { value: 120, unit: 'DAYS' });
  assert.equal(appliedViews.find((v) => v.name === 'tw_metrics_1h')!.table.ttl.value, 120, 'views see the configured table');

  assert.throws(
    () => loadConfig({ env: { TRADEWATCH_STORAGE_RETENTION_TW_FETCHES: '6m' } }),
    (err: Error & { code?: string }) =>
      err.code === 'TW_INVALID_CONFIG' && /storage\.retention\.tw_fetches/.test(err.message) && /"6m"/.test(err.message),
  );
});
