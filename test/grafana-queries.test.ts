import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { buildDashboards, dashboardPanels, QueryFormat, type QuestDbQuery } from '../packages/cli/src/grafana/index.js';
import { QUESTDB_METRICS } from '../packages/cli/src/grafana/questdb-health.js';
import { schema, tables, type TableDef } from '../packages/sdk/src/schema/index.js';
import { createMonitor, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type SqlClient, type SqlResult, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { settled } from './helpers/rows.js';
import { until } from './helpers/until.js';
import { expandQuery, grafanaIntervalMs, type VariableSelection } from './support/grafana-model/macros.js';

// Every panel and variable query of every generated dashboard, expanded the way the QuestDB datasource expands it,
// run against a real QuestDB loaded through the SDK (current data) and the writer (backdated rows).

const server = await useQuestDb(undefined, { schema: true });
const sql: SqlClient = await prepareSchema(server);
const url = questDbUrl(server);

const SERVICE = 'grafana-test';
const INSTANCE = 'test-1';
const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const NOW = Date.now();

const RANGES = { '15m': 15 * MINUTE, '24h': DAY, '30d': 30 * DAY } as const;
type RangeName = keyof typeof RANGES;
/** A range ending in the past (zoomed out of "now"): 24 h ending two days ago. */
const PAST_END = NOW - 2 * DAY;
const PAST_RANGE = { from: PAST_END - DAY, to: PAST_END };
/** Backdated points: every table gets rows here (30-day history for the rollups, and the past range's data). */
const BACKDATED_DAYS = [29, 20, 7, 3, 2.5, 2.01, 1.5];

const NUMERIC = new Set(['DOUBLE', 'FLOAT', 'LONG', 'INT', 'SHORT', 'BYTE']);

let writer: Writer;
let monitor: Monitor;

/** Column values of a backdated row, by column name (anything else: a number or string of the column's type). */
function backdatedValues(at: number): Record<string, unknown> {
  const us = at * 1000;
  return {
    service: SERVICE, instance: INSTANCE, exchange: 'binanceusdm', symbol: 'BTC/USDT:USDT', strategy: 'grid', run_id: 'live-1',
    currency: 'USDT', dataset: ['open_interest', 'funding_rate'], channel: 'liquidations', component: 'fetcher', kind: 'NetworkError', store: 'parquet/open_interest',
    name: ['questdb_test_metric', ...Object.values(QUESTDB_METRICS)], labels: '', source: 'sdk', order_id: 'o-old', fill_id: 'f-old', version: '1.0.0',
    gap_start: us - 120_000_000, gap_end: us - 60_000_000, next_funding_ts: us + 3_600_000_000,
  };
}

/**
 * One row per value of the table's closed vocabularies (cycling them all) at `at`, every column filled: each
 * panel's filters (status != ok, state = connected, event = start ...) find rows in the backdated history.
 */
function writeBackdated(table: TableDef, at: number): void {
  const named = backdatedValues(at);
  const vocabularies = table.columns.filter((c) => c.values);
  const lists = table.columns.map((c) => named[c.name]).filter((v): v is unknown[] => Array.isArray(v));
  const count = Math.max(1, ...vocabularies.map((c) => c.values!.length), ...lists.map((l) => l.length));
  for (let i = 0; i < count; i++) {
    const row: Record<string, unknown> = { [table.timestamp]: (at + i) * 1000 };
    for (const c of table.columns) {
      if (c.name === table.timestamp) continue;
      if (c.values) row[c.name] = c.values[i % c.values.length];
      else if (Array.isArray(named[c.name])) row[c.name] = (named[c.name] as unknown[])[i % (named[c.name] as unknown[]).length];
      else if (c.name in named) row[c.name] = named[c.name];
      else if (c.type === 'SYMBOL' || c.type === 'VARCHAR') row[c.name] = `backdated-${c.name}`;
      else if (c.type === 'BOOLEAN') row[c.name] = true;
      else if (c.type === 'TIMESTAMP') row[c.name] = at * 1000;
      else if (c.type === 'INT' || c.type === 'LONG') row[c.name] = 100 + i;
      else row[c.name] = 1.5 + i;
    }
    writer.write(table, row);
  }
}

async function loadData(): Promise<void> {
  const logger = memoryLogger();
  writer = createWriter({ url, service: SERVICE, instance: INSTANCE, logger });
  monitor = createMonitor({ service: SERVICE, instance: INSTANCE, version: '1.0.0', host: 'grafana-host', writer, sampleIntervalMs: 0, logger });
  const exchanges = ['binanceusdm', 'bybit'];
  const symbols = ['BTC/USDT:USDT', 'ETH/USDT:USDT'];
  const us = (ms: number) => Math.round(ms) * 1000;

  // Backdated rows (beyond a day, up to 29 days), written directly: the 30-day view has history to roll up.
  for (const daysAgo of [29, 20, 7, 3, 1.5]) {
    const at = NOW - daysAgo * DAY;
    writer.write(schema.processSamples, { ts: us(at), service: SERVICE, instance: INSTANCE, pid: 1, uptime_s: 100, rss_bytes: 50e6, heap_used_bytes: 20e6, heap_total_bytes: 30e6, cpu_percent: 12.5, event_loop_lag_ms: 3 });
    writer.write(schema.errors, { ts: us(at), service: SERVICE, instance: INSTANCE, component: 'fetcher', exchange: 'bybit', kind: 'NetworkError', message: 'old' });
    writer.write(schema.strategyPnl, { ts: us(at), strategy: 'grid', run_id: 'run-1', mode: 'paper', realized: daysAgo, unrealized: 1, equity: 1000, gross_exposure: 500, open_orders: 1 });
    writer.write(schema.writerStats, { ts: us(at), service: SERVICE, instance: INSTANCE, queue_rows: 0, spool_bytes: 0, rows_rejected: 0, rows_dropped: 0 });
  }
  for (const daysAgo of BACKDATED_DAYS) {
    for (const table of tables) if (table !== schema.schemaChanges) writeBackdated(table, Math.round(NOW - daysAgo * DAY));
  }
  // A process seen only just before the past range's end: up as of then, stale as of now.
  writer.write(schema.processSamples, { ts: us(PAST_END - 10_000), service: SERVICE, instance: 'was-up-then', pid: 7, uptime_s: 3600, rss_bytes: 1e6, heap_used_bytes: 1e6, heap_total_bytes: 2e6, cpu_percent: 1, event_loop_lag_ms: 1 });
  writer.write(schema.processEvents, { ts: us(PAST_END - 3_600_000), service: SERVICE, instance: 'was-up-then', event: 'start', pid: 7, version: '0.9.0' });
  // A paper run that reports no currency.
  writer.write(schema.strategyPnl, { ts: us(NOW - 2 * HOUR), strategy: 'grid', run_id: 'paper-1', mode: 'paper', realized: 1, unrealized: 0, equity: 100 });
  // A live position reported two hours ago only: the exposure panels carry it forward into a 15-minute range.
  writer.write(schema.positions, { ts: us(NOW - 2 * HOUR), strategy: 'grid', run_id: 'live-1', mode: 'live', exchange: 'bybit', symbol: 'SOL/USDT:USDT', quantity: 3, entry_price: 20, mark_price: 21, exposure: 63, unrealized: 3 });
  // A restart yesterday: first start two days ago, crash (no stop), start again.
  writer.write(schema.processEvents, { ts: us(NOW - 2 * DAY), service: SERVICE, instance: INSTANCE, event: 'start', pid: 1 });
  writer.write(schema.processEvents, { ts: us(NOW - DAY + HOUR), service: SERVICE, instance: INSTANCE, event: 'start', pid: 2 });
  writer.write(schema.writerStats, { ts: us(NOW - 5000), service: SERVICE, instance: INSTANCE, queue_rows: 12, spool_bytes: 4096, rows_rejected: 1, rows_dropped: 0 });

  // Current data through the SDK, over the last ten minutes.
  for (let i = 0; i < 20; i++) {
    const at = NOW - i * 30_000;
    // QuestDB's own metrics as the exporter scrapes them (counters growing).
    for (const name of Object.values(QUESTDB_METRICS)) {
      writer.write(schema.metrics, { ts: us(at), name, service: 'questdb', instance: 'questdb:9003', labels: '', kind: 'gauge', source: 'test', value: 1000 - i });
    }
    for (const exchange of exchanges) {
      for (const symbol of symbols) {
        monitor.fetch({ exchange, dataset: 'open_interest', symbol, status: 'ok', latencyMs: 40 + i, records: 1, at: at - 1 });
        monitor.fetch({ exchange, dataset: 'funding_rate', symbol, status: i % 5 === 0 ? 'timeout' : 'ok', latencyMs: 60 + i, at: at - 2 });
        monitor.liquidation({ exchange, symbol, side: i % 2 ? 'buy' : 'sell', price: 100 + i, amount: 2, valueUsd: 200 + i, at: at - 3 });
        monitor.openInterest({ exchange, symbol, openInterest: 1000 + i, openInterestValue: 1e6, at: at - 4 });
        monitor.fundingRate({ exchange, symbol, fundingRate: 0.0001, markPrice: 100, at: at - 5 });
      }
      monitor.rateLimit({ exchange, used: 600 + i, quota: 1200, throttled: i === 0 && exchange === 'bybit', at: at - 6 });
    }
  }
  for (const exchange of exchanges) {
    monitor.dataGap({ exchange, dataset: 'open_interest', symbol: symbols[0]!, start: NOW - 9 * MINUTE, end: NOW - 7 * MINUTE, at: NOW - 6 * MINUTE, reason: 'maintenance' });
    monitor.connectionState({ exchange, channel: 'liquidations', state: 'connected', at: NOW - 12 * MINUTE });
    monitor.connectionState({ exchange, channel: 'liquidations', state: 'disconnected', reason: 'close 1006', at: NOW - 8 * MINUTE });
    monitor.connectionState({ exchange, channel: 'liquidations', state: 'reconnecting', at: NOW - 8 * MINUTE + 500 });
    monitor.connectionState({ exchange, channel: 'liquidations', state: 'connected', at: NOW - 7 * MINUTE });
    for (let k = 0; k < 5; k++) monitor.message(exchange, 'liquidations', Date.now() - 40);
  }
  monitor.storageSize({ store: 'parquet/open_interest', bytes: 123_456_789, files: 42 });
  // Alert history: an incident that fired six minutes ago and recovered three minutes later.
  const incident = { alertname: 'Exchange down', rule_uid: 'tw-exchange-down', severity: 'critical', fingerprint: 'fp-recent', labels: 'alertname="Exchange down",exchange="bybit"', starts_at: us(NOW - 6 * MINUTE), summary: 'bybit down', receiver: 'tradewatch-history' };
  writer.write(schema.alertEvents, { ...incident, ts: us(NOW - 6 * MINUTE), status: 'firing', value: 'A=1', received_at: us(NOW - 6 * MINUTE) });
  writer.write(schema.alertEvents, { ...incident, ts: us(NOW - 3 * MINUTE), status: 'resolved', ends_at: us(NOW - 3 * MINUTE), value: 'A=0', received_at: us(NOW - 3 * MINUTE) });
  monitor.error(new Error('socket hang up'), { component: 'websocket', exchange: 'bybit' });

  const run = monitor.strategy({ strategy: 'grid', runId: 'live-1', mode: 'live' });
  for (let i = 10; i >= 0; i--) {
    const at = NOW - i * 30_000;
    const orderId = `o-${i}`;
    run.order({ exchange: 'binanceusdm', symbol: symbols[0]!, orderId, side: 'buy', status: 'new', price: 100, amount: 1, at });
    if (i % 2 === 0) {
      run.order({ exchange: 'binanceusdm', symbol: symbols[0]!, orderId, side: 'buy', status: 'filled', price: 100, amount: 1, filled: 1, at: at + 1 });
      run.fill({ exchange: 'binanceusdm', symbol: symbols[0]!, orderId, fillId: `f-${i}`, side: 'buy', price: 100, amount: 1, fee: 0.01, at: at + 2 });
    }
    run.position({ exchange: 'binanceusdm', symbol: symbols[0]!, quantity: 11 - i, entryPrice: 100, markPrice: 101, unrealized: 11 - i, at: at + 3 });
    run.pnl({ realized: 10 - i, unrealized: 1.5, equity: 1000 + i, grossExposure: 101 * (11 - i), currency: 'USDT', at: at + 4 });
  }
  monitor.sample();
  await monitor.flush();
  await writer.flush();
  await settled(sql); // every row applied and every rollup refreshed before the first panel runs
}

/** Rows of a query, retried for a while when empty: WAL apply and materialized-view refresh are asynchronous. */
async function queryEventually(query: string, wantRows: boolean, timeoutMs = 20_000): Promise<SqlResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await sql.query(query);
    if (!wantRows || result.dataset.length > 0 || Date.now() > deadline) {
      // Grafana re-runs the same SQL on every refresh, so QuestDB serves it from its query cache: that run must work
      // too (QuestDB 9.3.4 failed every second run of a cached `IN (subquery)` beside LATEST ON).
      await sql.query(query);
      return result;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface PanelQuery {
  readonly dashboard: string;
  readonly panel: dashboard.Panel;
  readonly query: QuestDbQuery;
}

/** Every panel's queries, those of panels in collapsed rows included (Grafana runs them when the row is opened). */
function panelQueries(file: string, model: dashboard.Dashboard): PanelQuery[] {
  return dashboardPanels(model).flatMap(({ panel }) => ((panel.targets ?? []) as QuestDbQuery[]).map((query) => ({ dashboard: file, panel, query })));
}

/** Checks a panel's result has the shape its visualization needs. */
function assertShape(where: string, panel: dashboard.Panel, query: QuestDbQuery, result: SqlResult): void {
  const types = result.columns.map((c) => c.type);
  const numeric = result.columns.filter((c) => NUMERIC.has(c.type));
  switch (panel.type) {
    case 'timeseries':
    case 'state-timeline': {
      assert.equal(query.format, QueryFormat.TimeSeries, `${where}: time series format`);
      assert.equal(types[0], 'TIMESTAMP', `${where}: first column is the time (got ${types.join(',')})`);
      assert.ok(numeric.length > 0, `${where}: at least one numeric column (got ${types.join(',')})`);
      const times = result.dataset.map((r) => String(r[0]));
      assert.deepEqual(times, [...times].sort(), `${where}: rows sorted by time (the plugin's long-to-wide needs it)`);
      break;
    }
    case 'stat':
    case 'bargauge':
      assert.equal(query.format, QueryFormat.Table, `${where}: table format`);
      assert.ok(numeric.length > 0, `${where}: at least one numeric column (got ${types.join(',')})`);
      break;
    case 'table':
      assert.equal(query.format, QueryFormat.Table, `${where}: table format`);
      assert.ok(result.columns.length > 0, `${where}: columns`);
      break;
    default:
      assert.fail(`${where}: unexpected panel type ${panel.type}`);
  }
}

const dashboards = buildDashboards();
/** Per dashboard: every value each variable query returned (for the 24 h range), first value first. */
const variableValues = new Map<string, Record<string, string[]>>();
const timings: { where: string; ms: number }[] = [];

type Variable = NonNullable<NonNullable<dashboard.Dashboard['templating']>['list']>[number];
const variablesOf = (file: string): Variable[] => dashboards.find((d) => d.file === file)!.model.templating?.list ?? [];

/**
 * A variable's selection as Grafana would hold it: All (every value) where the variable offers All, else every
 * value of a multi-value variable, else the single (first) value as a string, which the plugin inserts unquoted.
 */
function selectionOf(variable: Variable, list: string[], mode: 'all' | 'first'): VariableSelection {
  if (!variable.multi) return list[0]!;
  if (mode === 'first') return [list[0]!];
  return variable.includeAll ? { all: list } : list;
}

function selections(file: string, mode: 'all' | 'first'): Record<string, VariableSelection> {
  const values = variableValues.get(file)!;
  return Object.fromEntries(variablesOf(file).map((v) => [v.name!, selectionOf(v, values[v.name!]!, mode)]));
}

describe('Grafana dashboards against real QuestDB', () => {
  before(async () => {
    await loadData();
  });
  after(async () => {
    await monitor.shutdown();
    await writer.close();
    const slowest = [...timings].sort((a, b) => b.ms - a.ms).slice(0, 3);
    console.log(`# ${timings.length} queries, slowest: ${slowest.map((t) => `${t.where} ${t.ms} ms`).join('; ')}`);
  });

  test('every variable query returns values from the data', async () => {
    for (const { file, model } of dashboards) {
      const values: Record<string, string[]> = {};
      // In dashboard order, each variable may use the ones before it (All while they are being filled).
      for (const variable of model.templating?.list ?? []) {
        if (variable.type === 'custom') {
          // Fixed options (no query): Grafana splits them on commas.
          values[variable.name!] = String(variable.query).split(',');
          continue;
        }
        assert.equal(variable.datasource?.uid, 'tradewatch-questdb', `${file}.$${variable.name}: QuestDB datasource`);
        const before = variablesOf(file).filter((v) => v.name! in values);
        const vars = Object.fromEntries(before.map((v) => [v.name!, selectionOf(v, values[v.name!]!, 'all')]));
        const query = expandQuery(String(variable.query), { from: NOW - DAY, to: NOW, intervalMs: grafanaIntervalMs(DAY), variables: vars });
        const result = await queryEventually(query, true);
        assert.ok(result.dataset.length > 0, `${file}.$${variable.name} has values: ${query}`);
        assert.equal(result.columns.length, 1, `${file}.$${variable.name}: one column (the value)`);
        values[variable.name!] = result.dataset.map((r) => String(r[0]));
      }
      variableValues.set(file, values);
    }
    assert.deepEqual(variableValues.get('trading')?.mode, ['live', 'paper', 'backtest'], 'live first: the default');
    assert.deepEqual(variableValues.get('trading')?.currency, ['USDT', 'n/a'], 'each run\'s reporting currency (n/a: none reported)');
    assert.ok(variableValues.get('health')?.instance?.includes('was-up-then'), 'the instance variable lists every instance');
  });

  /** Every panel query of every dashboard for one range, with All and with the first values: shape and rows. */
  async function checkEveryPanel(name: string, range: () => { from: number; to: number }): Promise<void> {
    assert.ok(variableValues.size > 0, 'variables resolved first');
    const ran = new Set<string>();
    for (const { file, model } of dashboards) {
      for (const { panel, query } of panelQueries(file, model)) {
        ran.add(`${file} / ${panel.title}`);
        for (const mode of ['all', 'first'] as const) {
          const where = `${file} / ${panel.title} (${name}, ${mode})`;
          const { from, to } = range(); // Grafana's "now" is when the panel queries
          const expanded = expandQuery(query.rawSql, { from, to, intervalMs: grafanaIntervalMs(to - from), variables: selections(file, mode) });
          const started = performance.now();
          const result = await queryEventually(expanded, true);
          timings.push({ where, ms: Math.round(performance.now() - started) });
          assertShape(where, panel, query, result);
          assert.ok(result.dataset.length > 0, `${where}: no rows from\n${expanded}`);
        }
      }
    }
    // Closed rows hide panels from the dashboard's load, not from this check.
    const collapsed = dashboards.flatMap(({ file, model }) => dashboardPanels(model).filter((p) => p.collapsedRow !== undefined).map((p) => `${file} / ${p.panel.title}`));
    assert.ok(collapsed.includes('pipeline / Tables and views on disk'), `the Pipeline's storage panels are in a collapsed row: ${collapsed.join('; ')}`);
    for (const where of collapsed) assert.ok(ran.has(where), `${where} (in a collapsed row) ran`);
  }

  for (const range of Object.keys(RANGES) as RangeName[]) {
    test(`every panel query returns its panel's columns and data (last ${range}, all and first values)`, async () => {
      await checkEveryPanel(`last ${range}`, () => ({ from: Date.now() - RANGES[range], to: Date.now() }));
    });
  }

  test('every panel query returns its panel\'s columns and data for a range ending in the past (24 h ending 2 days ago)', async () => {
    await checkEveryPanel('past 24h', () => PAST_RANGE);
  });

  /** One panel's rows for a range, with All selected, as objects. */
  async function panelRows(file: string, title: string, range: { from: number; to: number }): Promise<Record<string, unknown>[]> {
    const { query } = panelQueries(file, dashboards.find((d) => d.file === file)!.model).find((p) => p.panel.title === title)!;
    const expanded = expandQuery(query.rawSql, { ...range, intervalMs: grafanaIntervalMs(range.to - range.from), variables: selections(file, 'all') });
    const result = await queryEventually(expanded, true);
    return result.dataset.map((r) => Object.fromEntries(result.columns.map((c, i) => [c.name, r[i]])));
  }

  test('freshness is judged at the range end: the fleet as it was then, and as it is now', async () => {
    const then = await panelRows('health', 'Fleet', PAST_RANGE);
    const pastHost = then.find((r) => r.instance === 'was-up-then');
    assert.equal(pastHost?.status, 'up', `sampled 10 s before the past range's end: ${JSON.stringify(then)}`);
    assert.equal(pastHost?.version, '0.9.0', 'version from its latest start');
    // A fresh sample of this process, then the fleet as of now: it is up, the one that reported two days ago is not.
    monitor.sample();
    await monitor.flush();
    const now = await until('this process up in the fleet', async () => {
      const rows = await panelRows('health', 'Fleet', { from: Date.now() - 15 * MINUTE, to: Date.now() });
      return rows.find((r) => r.instance === INSTANCE)?.status === 'up' ? rows : undefined;
    });
    assert.equal(now.find((r) => r.instance === 'was-up-then')?.status, 'stale', 'no sample for two days as of now');
    const current = now.find((r) => r.instance === INSTANCE)!;
    assert.deepEqual([current.host, current.version], ['grafana-host', '1.0.0'], 'host and version from the latest sample');
    assert.ok(typeof current.uptime_s === 'number' && current.last_sample && current.started, `uptime, last sample, start: ${JSON.stringify(current)}`);
  });

  test('exposure carries each position forward: a position last reported two hours ago is in a 15-minute view', async () => {
    // Two hours back is served by the hourly rollup of positions (refreshed asynchronously: wait for it).
    const range = () => ({ from: Date.now() - 15 * MINUTE, to: Date.now() });
    const exposure = await until('the carried position in the exposure panel', async () => {
      const rows = await panelRows('trading', 'Position exposure ($currency)', range());
      return rows.some((r) => r.symbol === 'SOL/USDT:USDT') ? rows : undefined;
    });
    assert.equal(exposure.find((r) => r.symbol === 'SOL/USDT:USDT')?.exposure, 63, JSON.stringify(exposure));
    const open = await panelRows('trading', 'Open positions', range());
    const sol = open.find((r) => r.symbol === 'SOL/USDT:USDT');
    assert.equal(sol?.quantity, 3, JSON.stringify(open));
    assert.equal(new Date(String(sol.updated)).getTime(), NOW - 2 * HOUR, 'the time of the snapshot itself, not of its rollup bucket');
  });

  test('PnL now shows each run at its latest snapshot in the range, however far before the range end', async () => {
    // run-1 (no currency) last reported 1.5 days ago: over 30 days its snapshot comes from the hourly rollup.
    const range = { from: Date.now() - 30 * DAY, to: Date.now() };
    const { query } = panelQueries('trading', dashboards.find((d) => d.file === 'trading')!.model).find((p) => p.panel.title === 'PnL now ($currency)')!;
    const expanded = expandQuery(query.rawSql, { ...range, intervalMs: grafanaIntervalMs(30 * DAY), variables: { ...selections('trading', 'all'), currency: 'n/a' } });
    const rows = await until('run-1 in PnL now', async () => {
      const result = await sql.query(expanded);
      return result.dataset.some((r) => r[0] === 'grid run-1') ? result.dataset : undefined;
    });
    assert.deepEqual(Object.fromEntries(rows.map((r) => [r[0], r[1]])), { 'grid run-1': 1.5 + 1, 'grid paper-1': 1 }, 'realized + unrealized of the latest snapshot');
  });

  test('the run comparison lists each run in the selected currency with its PnL, drawdown, fills and fees', async () => {
    const runs = await panelRows('trading', 'Runs side by side', { from: Date.now() - 15 * MINUTE, to: Date.now() });
    const live = runs.find((r) => r.run_id === 'live-1');
    assert.ok(live, JSON.stringify(runs));
    assert.equal(live.currency, 'USDT');
    assert.ok(Number(live.fills) >= 1 && Number(live.fees) > 0, `fills and fees: ${JSON.stringify(live)}`);
    assert.ok(!runs.some((r) => r.run_id === 'paper-1'), 'a run reporting no currency is not shown under USDT');
  });

  test('short ranges read raw tables, long ranges one rollup view (other branches planned as empty)', async () => {
    // From a 1-minute interval a query reads a rollup, or the raw table when it has no 1-minute rollup it can use
    // (market series sampled every 30 s or slower have hourly rollups only: the raw table up to a 30-minute interval,
    // the hourly view from there; totals may take the hourly view from 1 minute).
    const minuteOrRaw = (s: string, sql: string) => /_1[mh]$/.test(s) || !sql.includes(`FROM ${s}_1m`);
    const expected: Record<string, (source: string, sql: string) => boolean> = {
      '15m': (s) => !/_1[mh]$/.test(s),
      '24h': minuteOrRaw,
      // 30 days (a 30-minute interval): every resolution-aware query reads a rollup, none a month of raw rows.
      '30d': (s) => /_1[mh]$/.test(s),
      '1y': (s) => s.endsWith('_1h'),
    };
    const ranges: Record<string, number> = { ...RANGES, '1y': 365 * DAY };
    let checked = 0;
    for (const { file, model } of dashboards) {
      for (const { panel, query } of panelQueries(file, model)) {
        if (!query.rawSql.includes('$__interval_ms >=')) continue;
        for (const [name, rangeMs] of Object.entries(ranges)) {
          const expanded = expandQuery(query.rawSql, {
            from: NOW - rangeMs,
            to: NOW,
            intervalMs: grafanaIntervalMs(rangeMs),
            variables: selections(file, 'all'),
          });
          const plan = (await sql.query(`EXPLAIN ${expanded}`)).dataset.map((r) => String(r[0])).join('\n');
          const scanned = [...plan.matchAll(/scan on: (\w+)/g)].map((m) => m[1]!);
          // The Trading currency filter reads the raw PnL table (the rollups do not keep the currency): not a source.
          const filterScan = scanned.indexOf('tw_strategy_pnl');
          if (query.rawSql.includes("currency = '$currency'") && filterScan >= 0) scanned.splice(filterScan, 1);
          const where = `${file} / ${panel.title} (${name}, interval ${grafanaIntervalMs(rangeMs)} ms)`;
          assert.equal(new Set(scanned).size, 1, `${where}: one source scanned, got ${scanned.join(', ')}\n${plan}`);
          assert.ok(expected[name]!(scanned[0]!, query.rawSql), `${where}: read ${scanned[0]}`);
          checked++;
        }
      }
    }
    assert.ok(checked >= 4 * 15, `resolution-aware queries checked: ${checked}`);
  });

  test('the 24 h view reads the 1-minute rollup and agrees with the raw table', async () => {
    const health = dashboards.find((d) => d.file === 'health')!.model;
    const errorsPanel = panelQueries('health', health).find((p) => p.panel.title === 'Errors in range')!;
    const totals: number[] = [];
    for (const intervalMs of [1000, 60_000]) {
      const expanded = expandQuery(errorsPanel.query.rawSql, {
        from: NOW - DAY + HOUR, // whole minutes: the raw and minute views cover the same rows
        to: NOW + MINUTE,
        intervalMs,
        variables: selections('health', 'all'),
      });
      const result = await queryEventually(expanded, true);
      totals.push(Number(result.dataset[0]![0]));
    }
    assert.ok(totals[0]! >= 1, `errors counted: ${totals.join(', ')}`);
    assert.equal(totals[1], totals[0], 'raw count = 1-minute rollup count');
  });
});
