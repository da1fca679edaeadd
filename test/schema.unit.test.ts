import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tables, views, getTable } from '../packages/sdk/src/schema/index.js';
import { isTradewatchError } from '../packages/sdk/src/common/errors.js';
import { generatedFiles } from '../packages/cli/src/generate/index.js';

test('every table keeps the storage rules: designated ts first, WAL-able dedup keys that exist, labels as SYMBOL', () => {
  for (const table of tables) {
    const names = table.columns.map((c) => c.name);
    assert.equal(table.columns[0]?.name, table.timestamp, `${table.name}: designated timestamp first`);
    assert.equal(table.columns[0]?.type, 'TIMESTAMP', `${table.name}: designated timestamp type`);
    assert.equal(new Set(names).size, names.length, `${table.name}: duplicate column`);
    assert.ok(table.dedupKeys.includes(table.timestamp), `${table.name}: dedup keys include the timestamp`);
    for (const key of table.dedupKeys) assert.ok(names.includes(key), `${table.name}: dedup key ${key} is a column`);
    for (const c of table.columns) {
      assert.match(c.name, /^[a-z][a-z0-9_]*$/, `${table.name}.${c.name}: snake_case name`);
      if (c.values) assert.equal(c.type, 'SYMBOL', `${table.name}.${c.name}: closed vocabularies are symbols`);
    }
    for (const label of ['service', 'instance', 'exchange', 'symbol', 'strategy', 'run_id', 'mode']) {
      const c = table.columns.find((x) => x.name === label);
      if (c) assert.equal(c.type, 'SYMBOL', `${table.name}.${label} is a SYMBOL`);
    }
    if (table.rollup) {
      for (const g of table.rollup.groupBy) {
        assert.ok(names.includes(g), `${table.name}: rollup groups by a column (${g})`);
      }
      for (const m of table.rollup.measures) {
        if (m.fn === 'count') assert.equal(m.column, undefined);
        else assert.ok(m.column && names.includes(m.column), `${table.name}: rollup measure ${m.name} reads a column`);
      }
    }
  }
});

test('trading tables carry strategy, run_id and mode (live|paper|backtest)', () => {
  for (const table of tables.filter((t) => t.group === 'trading')) {
    const mode = table.columns.find((c) => c.name === 'mode');
    assert.deepEqual(mode?.values, ['live', 'paper', 'backtest'], table.name);
    for (const label of ['strategy', 'run_id']) assert.ok(table.columns.some((c) => c.name === label), table.name);
  }
});

test('rollups: one view per interval with a TTL; the hourly one re-aggregates the minute one when it can', () => {
  for (const table of tables.filter((t) => t.rollup)) {
    const rollup = table.rollup!;
    const own = views.filter((v) => v.table === table);
    assert.deepEqual(own.map((v) => v.interval), (['1m', '1h'] as const).filter((i) => rollup.ttl[i]), table.name);
    const minute = own.find((v) => v.interval === '1m');
    const hour = own.find((v) => v.interval === '1h');
    if (minute) assert.equal(minute.base, table.name);
    if (hour) {
      const hasAllLabels = minute && hour.groupBy.every((g) => minute.groupBy.includes(g));
      assert.equal(hour.base, hasAllLabels ? minute.name : table.name, `${table.name}: hourly view source`);
      assert.deepEqual(hour.groupBy, rollup.groupBy);
    }
    for (const g of rollup.minuteGroupBy ?? []) assert.ok(table.columns.some((c) => c.name === g), `${table.name}.${g}`);
  }
});

test('the per-symbol series sampled every 30 s or slower keep no 1-minute view (it would rival the raw table)', () => {
  for (const name of ['tw_open_interest', 'tw_funding_rates']) {
    assert.deepEqual(views.filter((v) => v.table.name === name).map((v) => v.interval), ['1h'], name);
  }
  assert.deepEqual(views.find((v) => v.name === 'tw_liquidations_1m')?.groupBy, ['exchange', 'side']);
});

test('getTable names the known tables when asked for an unknown one', () => {
  assert.throws(() => getTable('tw_nope'), (err: unknown) => {
    assert.ok(isTradewatchError(err, 'TW_UNKNOWN_TABLE'));
    assert.match((err as Error).message, /"tw_nope".*tw_fetches/);
    return true;
  });
});

test('generated files are up to date (run `npm run gen` after changing their sources)', () => {
  for (const file of generatedFiles()) {
    let current = '';
    try {
      current = readFileSync(file.path, 'utf8');
    } catch {
      assert.fail(`${file.path} is missing; run npm run gen`);
    }
    assert.ok(current === file.content, `${file.path} is stale; run npm run gen and commit the result`);
  }
});
