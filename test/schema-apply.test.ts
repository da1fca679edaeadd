import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildViews, createTableSql, parquetSql, parseTtl, schema, tables, ttlHours, views, withRetention, type TableDef } from '../packages/sdk/src/schema/index.js';
import { applySchema, createWriter, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { until } from './helpers/until.js';

const server = await useQuestDb();
const sql = new SqlClient({ url: server.httpUrl });

/**
 * The schema as an older release had it: tw_fetches without `records` (and rollups without it), process samples
 * without `host` and `version` and with a shorter TTL, fewer dedup keys on errors.
 */
function olderSchema(): { tables: TableDef[] } {
  const older = tables.map((table): TableDef => {
    if (table === schema.fetches) {
      return {
        ...table,
        columns: table.columns.filter((c) => c.name !== 'records'),
        rollup: { ...table.rollup!, measures: table.rollup!.measures.filter((m) => m.column !== 'records') },
      };
    }
    if (table === schema.processSamples) {
      // Before the fleet view: samples without host and version.
      return { ...table, ttl: { value: 7, unit: 'DAYS' }, columns: table.columns.filter((c) => c.name !== 'host' && c.name !== 'version') };
    }
    if (table === schema.errors) return { ...table, dedupKeys: ['ts', 'service', 'instance'] };
    return table;
  });
  return { tables: older };
}

async function waitForCount(table: string, expected: number) {
  const deadline = Date.now() + 20_000;
  let count = -1;
  while (Date.now() < deadline) {
    count = Number((await sql.rows<{ n: number }>(`SELECT count() n FROM ${table}`))[0]?.n);
    if (count === expected) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(count, expected, `rows visible in ${table}`);
}

test('upgrading from an older schema adds columns, keys and TTLs without losing data; then nothing changes', async () => {
  const older = olderSchema();
  const first = await applySchema(sql, { tables: older.tables, views: older.tables.flatMap(buildViews) });
  assert.equal(first.changes.filter((c) => c.action === 'create-table').length, tables.length);
  assert.deepEqual(first.drift, []);

  // Data written under the old schema.
  const oldFetches = older.tables.find((t) => t.name === 'tw_fetches')!;
  const writer = createWriter({ url: server.httpUrl, service: 'upgrade-test' });
  const t0 = Date.UTC(2026, 10, 27, 12) * 1000;
  for (let i = 0; i < 500; i++) {
    writer.write(oldFetches, {
      ts: t0 + i * 1000,
      service: 'upgrade-test',
      instance: 'a',
      exchange: 'binanceusdm',
      dataset: 'open_interest',
      symbol: `S${i % 10}/USDT:USDT`,
      status: 'ok',
      latency_ms: i,
    });
  }
  const oldSamples = older.tables.find((t) => t.name === 'tw_process_samples')!;
  writer.write(oldSamples, { ts: t0, service: 'upgrade-test', instance: 'a', pid: 4242, uptime_s: 1 });
  await writer.close();
  await waitForCount('tw_fetches', 500);
  // Schema v1 declared no Parquet encodings: tw_data_gaps as v1 created it.
  await sql.execute('DROP TABLE tw_data_gaps');
  await sql.execute(createTableSql(schema.dataGaps).replace(/ PARQUET\((?:[^()]|\([^()]*\))*\)/g, ''));

  const upgrade = await applySchema(sql);
  const summary = upgrade.changes.map((c) => `${c.action} ${c.object}`).sort();
  assert.deepEqual(
    summary,
    [
      'add-column tw_fetches',
      'add-column tw_process_samples',
      'add-column tw_process_samples',
      ...schema.dataGaps.columns.map((c) => `set-parquet tw_data_gaps.${c.name}`),
      'set-dedup tw_errors',
      'set-parquet tw_fetches.records',
      'set-parquet tw_process_samples.host',
      'set-parquet tw_process_samples.version',
      'set-ttl tw_process_samples',
    ].sort(),
  );
  assert.match(upgrade.changes.find((c) => c.object === 'tw_data_gaps.ts')!.sql, /ALTER COLUMN ts SET PARQUET\(delta_binary_packed, lz4_raw\)/);
  const added = upgrade.changes.filter((c) => c.action === 'add-column').map((c) => c.sql);
  assert.ok(added.some((q) => /tw_fetches ADD COLUMN records INT/.test(q)), added.join('\n'));
  assert.ok(added.some((q) => /tw_process_samples ADD COLUMN host SYMBOL/.test(q)), added.join('\n'));
  assert.ok(added.some((q) => /tw_process_samples ADD COLUMN version SYMBOL/.test(q)), added.join('\n'));
  // A changed view is reported, not silently dropped: rebuilding it loses what the base table no longer holds.
  assert.deepEqual(upgrade.drift.map((d) => d.object).sort(), ['tw_fetches_1h', 'tw_fetches_1m']);
  await waitForCount('tw_fetches', 500);
  const columns = await sql.rows<{ column: string; type: string }>(`SELECT "column", type FROM table_columns('tw_fetches')`);
  assert.ok(columns.some((c) => c.column === 'records' && c.type === 'INT'));
  const sampleColumns = await sql.rows<{ column: string; type: string }>(`SELECT "column", type FROM table_columns('tw_process_samples')`);
  assert.deepEqual(sampleColumns.slice(-2), [{ column: 'host', type: 'SYMBOL' }, { column: 'version', type: 'SYMBOL' }], 'added at the end, as a new table has them');
  // A row written under the old schema is still there, and the new columns are null in it.
  await until('the old sample readable with the new columns', async () =>
    (await sql.rows<{ pid: number; host: string | null }>(`SELECT pid, host FROM tw_process_samples WHERE service = 'upgrade-test'`)).find((r) => r.pid === 4242 && r.host === null),
  );

  const rebuilt = await applySchema(sql, { rebuildViews: true });
  assert.deepEqual(
    rebuilt.changes.map((c) => `${c.action} ${c.object}`),
    ['rebuild-view tw_fetches_1m', 'create-view tw_fetches_1m', 'rebuild-view tw_fetches_1h', 'create-view tw_fetches_1h'],
  );

  const again = await applySchema(sql);
  assert.deepEqual(again.changes, [], 'a second apply changes nothing');
  assert.deepEqual(again.drift, []);
  assert.equal(again.unchanged.length, tables.length + views.length);

  const audit = await sql.rows<{ n: number }>('SELECT count() n FROM tw_schema_changes');
  assert.ok(Number(audit[0]?.n) >= tables.length, 'every change is recorded in tw_schema_changes');
});

test('what apply creates matches the schema: types, dedup keys, TTLs, WAL, views', async () => {
  const existing = await sql.rows<{ table_name: string; walEnabled: boolean; dedup: boolean; matView: boolean }>(
    'SELECT table_name, walEnabled, dedup, matView FROM tables()',
  );
  for (const table of tables) {
    const row = existing.find((t) => t.table_name === table.name);
    assert.ok(row, `${table.name} exists`);
    assert.equal(row.walEnabled, true, `${table.name} is WAL`);
    assert.equal(row.dedup, true, `${table.name} has dedup`);
    const columns = await sql.rows<{ column: string; type: string; upsertKey: boolean; designated: boolean }>(
      `SELECT "column", type, upsertKey, designated FROM table_columns('${table.name}')`,
    );
    assert.deepEqual(
      columns.map((c) => `${c.column}:${c.type}`),
      table.columns.map((c) => `${c.name}:${c.type}`),
      `${table.name} columns`,
    );
    assert.deepEqual(columns.filter((c) => c.upsertKey).map((c) => c.column).sort(), [...table.dedupKeys].sort());
    assert.equal(columns.find((c) => c.designated)?.column, table.timestamp);
    // Every column carries its Parquet encoding, so converted partitions are compressed the same on any server.
    const [ddl] = await sql.rows<{ ddl: string }>(`SHOW CREATE TABLE ${table.name}`);
    const lines = ddl!.ddl.split('\n').map((l) => l.trim());
    for (const column of table.columns) {
      const line = lines.find((l) => l.startsWith(`${column.name} ${column.type}`));
      assert.ok(line?.includes(` PARQUET(${parquetSql(column)})`), `${table.name}.${column.name} Parquet encoding: ${line}`);
    }
  }
  const mv = await sql.rows<{ view_name: string; view_status: string }>('SELECT view_name, view_status FROM materialized_views()');
  for (const view of views) assert.equal(mv.find((v) => v.view_name === view.name)?.view_status, 'valid', view.name);
});

test('rollups aggregate what the raw table holds, and the hourly view re-aggregates the minute view exactly', async () => {
  const spool = mkdtempSync(join(tmpdir(), 'tw-rollup-'));
  const writer = createWriter({ url: server.httpUrl, service: 'rollup-test', spoolDir: spool });
  const t0 = Date.UTC(2026, 10, 26, 10) * 1000;
  // 2 hours of liquidations: 7 per minute, value = minute index.
  for (let minute = 0; minute < 120; minute++) {
    for (let k = 0; k < 7; k++) {
      writer.write(schema.liquidations, {
        ts: t0 + minute * 60_000_000 + k * 1000,
        service: 'rollup-test',
        instance: 'a',
        exchange: 'bybit',
        symbol: 'ETH/USDT:USDT',
        side: k % 2 ? 'buy' : 'sell',
        price: 2000,
        amount: 1,
        value_usd: minute,
      });
    }
  }
  await writer.close();
  await waitForCount('tw_liquidations', 840);
  const deadline = Date.now() + 30_000;
  let hourly: { events: number; value_usd: number }[] = [];
  while (Date.now() < deadline) {
    hourly = await sql.rows(
      `SELECT sum(events) events, sum(value_usd) value_usd FROM tw_liquidations_1h WHERE exchange = 'bybit' SAMPLE BY 1h`,
    );
    if (hourly.length === 2 && hourly.reduce((s, r) => s + Number(r.events), 0) === 840) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(
    hourly.map((r) => [Number(r.events), Number(r.value_usd)]),
    [
      [420, 7 * ((59 * 60) / 2)],
      [420, 7 * ((60 + 119) * 60) / 2],
    ],
  );
  const minute = await sql.rows<{ n: number }>(`SELECT count() n FROM tw_liquidations_1m WHERE exchange = 'bybit'`);
  assert.equal(Number(minute[0]?.n), 240, 'one minute bucket per side per minute');
});

test('retention: apply sets the configured TTLs, reports each change with old and new value, and replaces a hand-set TTL visibly', async () => {
  const ttlOf = async (name: string) => {
    const [row] = await sql.rows<{ ttlValue: number; ttlUnit: string }>(`SELECT ttlValue, ttlUnit FROM tables() WHERE table_name = '${name}'`);
    return ttlHours(Number(row!.ttlValue), row!.ttlUnit) / 24;
  };
  // ALTER ... SET TTL on a WAL table or view takes effect when the WAL applies it: wait for tables() to show it.
  const ttlBecomes = (name: string, days: number) => until(`${name} TTL ${days} days`, async () => ((await ttlOf(name)) === days ? true : undefined));
  await applySchema(sql);
  await ttlBecomes('tw_fetches', 90); // default: 90 days raw

  // An operator shortens a TTL by hand: the next apply puts the config (here: the default) back and says so.
  await sql.execute('ALTER TABLE tw_fetches SET TTL 3 DAYS');
  await ttlBecomes('tw_fetches', 3);
  const dry = await applySchema(sql, { dryRun: true });
  assert.deepEqual(dry.changes.map((c) => `${c.action} ${c.object}`), ['set-ttl tw_fetches']);
  assert.equal(await ttlOf('tw_fetches'), 3, 'a dry run changes nothing');
  const reset = await applySchema(sql);
  assert.deepEqual(reset.changes.map((c) => `${c.action} ${c.object}`), ['set-ttl tw_fetches']);
  assert.match(reset.changes[0]!.detail!, /TTL 3 DAYS? -> 90 DAYS \(schema default; set storage\.retention\.tw_fetches to keep another\)/);
  await ttlBecomes('tw_fetches', 90);

  // The config is the one place to set it: tables and views alike.
  const retention = { tw_fetches: parseTtl('120d'), tw_metrics_1m: parseTtl('2w') };
  const configured = await applySchema(sql, { retention });
  assert.deepEqual(configured.changes.map((c) => `${c.action} ${c.object}`).sort(), ['set-ttl tw_fetches', 'set-ttl tw_metrics_1m']);
  assert.match(configured.changes.find((c) => c.object === 'tw_fetches')!.detail!, /-> 120 DAYS \(storage\.retention\.tw_fetches\)/);
  await ttlBecomes('tw_fetches', 120);
  await ttlBecomes('tw_metrics_1m', 14);
  assert.deepEqual((await applySchema(sql, { retention })).changes, [], 'applying the same config again changes nothing');

  assert.throws(() => withRetention(tables, views, { tw_nope: parseTtl('1d') }), /storage\.retention\.tw_nope: no table or view/);
  await applySchema(sql); // back to the defaults for whatever runs next
  await ttlBecomes('tw_fetches', 90);
  await ttlBecomes('tw_metrics_1m', 7);
});
