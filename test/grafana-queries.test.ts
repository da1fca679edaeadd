import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  buildDashboards,
  expandQuery,
  grafanaIntervalMs,
  QueryFormat,
  type QuestDbQuery,
  type VariableSelection,
} from '../packages/cli/src/grafana/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createMonitor, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type SqlClient, type SqlResult, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';

// Every panel and variable query of every generated dashboard, expanded the way the QuestDB datasource expands it,
// run against a real QuestDB loaded through the SDK (current data) and the writer (backdated rows).

const server = await useQuestDb();
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

const NUMERIC = new Set(['DOUBLE', 'FLOAT', 'LONG', 'INT', 'SHORT', 'BYTE']);

let writer: Writer;
let monitor: Monitor;

async function loadData(): Promise<void> {
  const logger = memoryLogger();
  writer = createWriter({ url, service: SERVICE, instance: INSTANCE, healthIntervalMs: 0, logger });
  monitor = createMonitor({ service: SERVICE, instance: INSTANCE, version: '1.0.0', writer, sampleIntervalMs: 0, logger });
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
  // A restart yesterday: first start two days ago, crash (no stop), start again.
  writer.write(schema.processEvents, { ts: us(NOW - 2 * DAY), service: SERVICE, instance: INSTANCE, event: 'start', pid: 1 });
  writer.write(schema.processEvents, { ts: us(NOW - DAY + HOUR), service: SERVICE, instance: INSTANCE, event: 'start', pid: 2 });
  writer.write(schema.writerStats, { ts: us(NOW - 5000), service: SERVICE, instance: INSTANCE, queue_rows: 12, spool_bytes: 4096, rows_rejected: 1, rows_dropped: 0 });

  // Current data through the SDK, over the last ten minutes.
  for (let i = 0; i < 20; i++) {
    const at = NOW - i * 30_000;
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
  monitor.error(new Error('socket hang up'), { component: 'websocket', exchange: 'bybit' });

  const run = monitor.strategy({ strategy: 'grid', runId: 'run-1', mode: 'paper' });
  for (let i = 10; i >= 0; i--) {
    const at = NOW - i * 30_000;
    const orderId = `o-${i}`;
    run.order({ exchange: 'binanceusdm', symbol: symbols[0]!, orderId, side: 'buy', status: 'new', price: 100, amount: 1, at });
    if (i % 2 === 0) {
      run.order({ exchange: 'binanceusdm', symbol: symbols[0]!, orderId, side: 'buy', status: 'filled', price: 100, amount: 1, filled: 1, at: at + 1 });
      run.fill({ exchange: 'binanceusdm', symbol: symbols[0]!, orderId, fillId: `f-${i}`, side: 'buy', price: 100, amount: 1, fee: 0.01, at: at + 2 });
    }
    run.position({ exchange: 'binanceusdm', symbol: symbols[0]!, quantity: 11 - i, entryPrice: 100, markPrice: 101, unrealized: 11 - i, at: at + 3 });
    run.pnl({ realized: 10 - i, unrealized: 1.5, equity: 1000 + i, grossExposure: 101 * (11 - i), at: at + 4 });
  }
  monitor.sample();
  await monitor.flush();
  await writer.flush();
}

/** Rows of a query, retried for a while when empty: WAL apply and materialized-view refresh are asynchronous. */
async function queryEventually(query: string, wantRows: boolean, timeoutMs = 20_000): Promise<SqlResult> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await sql.query(query);
    if (!wantRows || result.dataset.length > 0 || Date.now() > deadline) return result;
    await new Promise((r) => setTimeout(r, 250));
  }
}

interface PanelQuery {
  readonly dashboard: string;
  readonly panel: dashboard.Panel;
  readonly query: QuestDbQuery;
}

function panelQueries(file: string, model: dashboard.Dashboard): PanelQuery[] {
  return (model.panels ?? [])
    .filter((p): p is dashboard.Panel => p.type !== 'row')
    .flatMap((panel) => ((panel.targets ?? []) as QuestDbQuery[]).map((query) => ({ dashboard: file, panel, query })));
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

function selections(file: string, mode: 'all' | 'first'): Record<string, VariableSelection> {
  const values = variableValues.get(file)!;
  return Object.fromEntries(Object.entries(values).map(([name, list]) => [name, mode === 'all' ? { all: list } : [list[0]!]]));
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
        assert.equal(variable.datasource?.uid, 'tradewatch-questdb', `${file}.$${variable.name}: QuestDB datasource`);
        const vars = Object.fromEntries(Object.entries(values).map(([n, v]) => [n, { all: v }]));
        const query = expandQuery(String(variable.query), { from: NOW - DAY, to: NOW, intervalMs: grafanaIntervalMs(DAY), variables: vars });
        const result = await queryEventually(query, true);
        assert.ok(result.dataset.length > 0, `${file}.$${variable.name} has values: ${query}`);
        assert.equal(result.columns.length, 1, `${file}.$${variable.name}: one column (the value)`);
        values[variable.name!] = result.dataset.map((r) => String(r[0]));
      }
      variableValues.set(file, values);
    }
    assert.deepEqual(variableValues.get('trading')?.mode, ['paper']);
  });

  for (const range of Object.keys(RANGES) as RangeName[]) {
    test(`every panel query returns its panel's columns and data (last ${range}, all and first values)`, async () => {
      assert.ok(variableValues.size > 0, 'variables resolved first');
      const rangeMs = RANGES[range];
      const intervalMs = grafanaIntervalMs(rangeMs);
      for (const { file, model } of dashboards) {
        for (const { panel, query } of panelQueries(file, model)) {
          for (const mode of ['all', 'first'] as const) {
            const where = `${file} / ${panel.title} (${range}, ${mode})`;
            const to = Date.now(); // Grafana's "now" is when the panel queries
            const expanded = expandQuery(query.rawSql, { from: to - rangeMs, to, intervalMs, variables: selections(file, mode) });
            const started = performance.now();
            const result = await queryEventually(expanded, true);
            timings.push({ where, ms: Math.round(performance.now() - started) });
            assertShape(where, panel, query, result);
            assert.ok(result.dataset.length > 0, `${where}: no rows from\n${expanded}`);
          }
        }
      }
    });
  }

  test('short ranges read raw tables, long ranges one rollup view (other branches planned as empty)', async () => {
    const expected: Record<string, (source: string) => boolean> = {
      '15m': (s) => !/_1[mh]$/.test(s),
      '24h': (s) => /_1[mh]$/.test(s),
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
          const where = `${file} / ${panel.title} (${name}, interval ${grafanaIntervalMs(rangeMs)} ms)`;
          assert.equal(new Set(scanned).size, 1, `${where}: one source scanned, got ${scanned.join(', ')}\n${plan}`);
          assert.ok(expected[name]!(scanned[0]!), `${where}: read ${scanned[0]}`);
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
