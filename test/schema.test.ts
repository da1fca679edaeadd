import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { tables, views, getTable } from '../src/schema/index.js';
import { isTradewatchError } from '../src/common/errors.js';
import { generatedFiles } from '../src/generate/index.js';

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

test('rollups: a 1-minute and a 1-hour view per rolled-up table, the hourly one built on the minute one', () => {
  for (const table of tables.filter((t) => t.rollup)) {
    const own = views.filter((v) => v.table === table);
    assert.deepEqual(own.map((v) => v.interval), ['1m', '1h'], table.name);
    assert.equal(own[0]?.base, table.name);
    assert.equal(own[1]?.base, own[0]?.name);
  }
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
