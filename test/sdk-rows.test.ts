import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostname } from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { createMonitor, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { waitFor, walApplied } from './helpers/rows.js';
import { isoToMicros, memoryLogger, metricSum, prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';

// Real QuestDB for the whole file (never mocked, never skipped): every SDK method's row is read back from it.
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const url = questDbUrl(server);
const run = Date.now().toString(36);

interface Setup {
  readonly monitor: Monitor;
  readonly writer: Writer;
  readonly registry: Registry;
  readonly service: string;
  readonly logger: ReturnType<typeof memoryLogger>;
}

/** A monitor on its own service name (tables are shared across tests and runs on an external QuestDB). */
function setup(t: { after(fn: () => Promise<void>): void }, name: string): Setup {
  const service = `sdk-${name}-${run}`;
  const logger = memoryLogger();
  const writer = createWriter({ url, service, instance: 'test-1', logger });
  const registry = new Registry();
  const monitor = createMonitor({ service, instance: 'test-1', version: '9.9.9', writer, registry, logger, sampleIntervalMs: 0 });
  t.after(async () => {
    await monitor.shutdown();
    await writer.close();
  });
  return { monitor, writer, registry, service, logger };
}

const where = (service: string) => `WHERE service = '${service}'`;
type Row = Record<string, unknown>;

test('health: start row on create, process samples, errors with component/exchange/kind, stop row on shutdown', async (t) => {
  const { monitor, writer, registry, service } = setup(t, 'health');
  monitor.sample();
  const failure = new RangeError('socket hang up');
  monitor.error(failure, { component: 'fetcher', exchange: 'bybit' });
  monitor.error('plain text', { component: 'scheduler', kind: 'Timeout' });
  await monitor.shutdown({ reason: 'test over' });
  await writer.flush();

  const events = await waitForRows<Row>(sql, `SELECT * FROM tw_process_events ${where(service)} ORDER BY ts`, (r) => r.length === 2);
  assert.deepEqual(
    events.map((e) => [e.event, e.instance, e.pid, e.version, e.reason]),
    [
      ['start', 'test-1', process.pid, '9.9.9', null],
      ['stop', 'test-1', process.pid, '9.9.9', 'test over'],
    ],
  );

  // One sample from sample(), one final sample from shutdown().
  const samples = await waitForRows<Row>(sql, `SELECT * FROM tw_process_samples ${where(service)} ORDER BY ts`, (r) => r.length === 2);
  for (const s of samples) {
    assert.equal(s.pid, process.pid);
    assert.ok((s.uptime_s as number) > 0, 'uptime');
    assert.ok((s.rss_bytes as number) > 1_000_000, 'rss');
    assert.ok((s.heap_used_bytes as number) > 0 && (s.heap_total_bytes as number) >= (s.heap_used_bytes as number), 'heap');
    assert.ok((s.cpu_percent as number) >= 0, 'cpu');
    assert.ok((s.event_loop_lag_ms as number) >= 0, 'lag');
    assert.deepEqual([s.host, s.version], [hostname(), '9.9.9'], 'host (default os.hostname()) and version in every sample');
  }

  const errors = await waitForRows<Row>(sql, `SELECT * FROM tw_errors ${where(service)} ORDER BY ts`, (r) => r.length === 2);
  assert.deepEqual(
    errors.map((e) => [e.component, e.exchange, e.kind, e.message]),
    [
      ['fetcher', 'bybit', 'RangeError', 'socket hang up'],
      ['scheduler', null, 'Timeout', 'plain text'],
    ],
  );
  assert.equal(await metricSum(registry, 'tradewatch_errors_total', { service, component: 'fetcher', exchange: 'bybit', kind: 'RangeError' }), 1);
  const lastError = await metricSum(registry, 'tradewatch_last_error_timestamp_seconds', { service });
  assert.equal(Math.round(lastError * 1e6), isoToMicros(errors[1]!.ts));
});

test('pipeline: fetches, data gaps, liquidations, storage size and market data rows', async (t) => {
  const { monitor, writer, registry, service } = setup(t, 'pipeline');
  const exchange = `ex_${run}`;
  // Caller times stay recent: QuestDB's TTL drops partitions far behind a table's newest row.
  const hourAgo = Math.floor(Date.now() / 1000) * 1000 - 3600_000 + 678;
  const at = hourAgo + 0.901; // the sub-millisecond part is kept to the microsecond
  monitor.fetch({ exchange, dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: 42.5, records: 3, at });
  monitor.fetch({ exchange, dataset: 'funding_rate', symbol: 'ETH/USDT:USDT', status: 'rate_limited', latencyMs: 1200 });
  monitor.fetch({ exchange, dataset: 'funding_rate', symbol: 'ETH/USDT:USDT', status: 'timeout' });
  const gapStart = new Date(hourAgo - 678 - 7200_000);
  const gapEnd = new Date(gapStart.getTime() + 330_500);
  monitor.dataGap({ exchange, dataset: 'open_interest', symbol: 'BTC/USDT:USDT', start: gapStart, end: gapEnd, reason: 'exchange maintenance' });
  const exchangeTime = Date.now() - 150;
  monitor.liquidation({ exchange, symbol: 'BTC/USDT:USDT', side: 'sell', price: 97_000.5, amount: 0.25, valueUsd: 24_250.125, exchangeTime });
  monitor.liquidation({ exchange, symbol: 'ETH/USDT:USDT', side: 'buy', price: 3000, amount: 2 });
  monitor.storageSize({ store: 'parquet/open_interest', bytes: 123_456_789, files: 42 });
  const observed = Math.floor(Date.now() / 60_000) * 60_000 - 120_000;
  monitor.openInterest({ exchange, symbol: 'BTC/USDT:USDT', openInterest: 81_234.5, openInterestValue: 7.9e9, at: observed });
  monitor.fundingRate({ exchange, symbol: 'BTC/USDT:USDT', fundingRate: 0.0001, markPrice: 97_001, indexPrice: 96_998.5, nextFundingTime: observed + 8 * 3600_000, at: observed });
  await writer.flush();

  const fetches = await waitForRows<Row>(sql, `SELECT * FROM tw_fetches ${where(service)} ORDER BY ts`, (r) => r.length === 3);
  assert.deepEqual(
    fetches.map((f) => [f.instance, f.exchange, f.dataset, f.symbol, f.status, f.latency_ms, f.records]),
    [
      ['test-1', exchange, 'open_interest', 'BTC/USDT:USDT', 'ok', 42.5, 3],
      ['test-1', exchange, 'funding_rate', 'ETH/USDT:USDT', 'rate_limited', 1200, null],
      ['test-1', exchange, 'funding_rate', 'ETH/USDT:USDT', 'timeout', null, null],
    ],
  );
  assert.equal(isoToMicros(fetches[0]!.ts), hourAgo * 1000 + 901, 'caller time kept to the µs');

  const [gap] = await waitForRows<Row>(sql, `SELECT * FROM tw_data_gaps ${where(service)}`, (r) => r.length === 1);
  assert.equal(isoToMicros(gap!.gap_start), gapStart.getTime() * 1000);
  assert.equal(isoToMicros(gap!.gap_end), gapEnd.getTime() * 1000);
  assert.equal(gap!.duration_s, 330.5);
  assert.equal(gap!.reason, 'exchange maintenance');
  assert.equal(gap!.symbol, 'BTC/USDT:USDT');

  const liqs = await waitForRows<Row>(sql, `SELECT * FROM tw_liquidations ${where(service)} ORDER BY ts`, (r) => r.length === 2);
  assert.deepEqual(
    liqs.map((l) => [l.symbol, l.side, l.price, l.amount, l.value_usd]),
    [
      ['BTC/USDT:USDT', 'sell', 97_000.5, 0.25, 24_250.125],
      ['ETH/USDT:USDT', 'buy', 3000, 2, null],
    ],
  );
  assert.equal(isoToMicros(liqs[0]!.exchange_ts), exchangeTime * 1000);
  assert.equal(liqs[1]!.exchange_ts, null);

  const [store] = await waitForRows<Row>(sql, `SELECT * FROM tw_storage_size ${where(service)}`, (r) => r.length === 1);
  assert.deepEqual([store!.store, store!.bytes, store!.files], ['parquet/open_interest', 123_456_789, 42]);

  const [oi] = await waitForRows<Row>(sql, `SELECT * FROM tw_open_interest WHERE exchange = '${exchange}'`, (r) => r.length === 1);
  assert.deepEqual([oi!.symbol, oi!.service, oi!.open_interest, oi!.open_interest_value], ['BTC/USDT:USDT', service, 81_234.5, 7.9e9]);
  assert.equal(isoToMicros(oi!.ts), observed * 1000, 'market rows are keyed by the exchange observation time');
  const [fr] = await waitForRows<Row>(sql, `SELECT * FROM tw_funding_rates WHERE exchange = '${exchange}'`, (r) => r.length === 1);
  assert.deepEqual([fr!.funding_rate, fr!.mark_price, fr!.index_price], [0.0001, 97_001, 96_998.5]);
  assert.equal(isoToMicros(fr!.next_funding_ts), (observed + 8 * 3600_000) * 1000);

  // The same calls, seen by Prometheus.
  assert.equal(await metricSum(registry, 'tradewatch_fetches_total', { service, exchange }), 3);
  assert.equal(await metricSum(registry, 'tradewatch_fetches_total', { service, status: 'rate_limited' }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_fetch_duration_seconds_count', { service, exchange }), 2);
  assert.equal(await metricSum(registry, 'tradewatch_fetch_duration_seconds_sum', { service, exchange }), 1.2425);
  assert.equal(await metricSum(registry, 'tradewatch_fetch_records_total', { service }), 3);
  assert.equal(await metricSum(registry, 'tradewatch_data_gaps_total', { service }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_data_gap_seconds_total', { service }), 330.5);
  assert.equal(await metricSum(registry, 'tradewatch_liquidations_total', { service, side: 'sell' }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_liquidation_value_usd_total', { service }), 24_250.125);
  assert.equal(await metricSum(registry, 'tradewatch_storage_bytes', { service, store: 'parquet/open_interest' }), 123_456_789);
  assert.equal(await metricSum(registry, 'tradewatch_market_rows_total', { service, dataset: 'open_interest' }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_market_rows_total', { service, dataset: 'funding_rate' }), 1);
});

test('exchange: state changes with downtime on reconnect, aggregated message samples, rate limits', async (t) => {
  const { monitor, writer, registry, service } = setup(t, 'exchange');
  const t0 = Date.now() - 600_000;
  monitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'connected', at: t0 });
  monitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'disconnected', reason: 'close 1006', at: t0 + 60_000 });
  monitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'reconnecting', at: t0 + 61_000 });
  monitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'reconnecting', at: t0 + 63_000 });
  monitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'connected', at: t0 + 90_250 });

  const sent = Date.now();
  for (let i = 0; i < 100; i++) monitor.message('binanceusdm', 'liquidations', sent - 20);
  monitor.message('binanceusdm', 'liquidations'); // no exchange time: counted, no latency
  monitor.sample();
  monitor.message('binanceusdm', 'liquidations', new Date(sent));
  monitor.sample();
  monitor.rateLimit({ exchange: 'binanceusdm', used: 800, quota: 2400, throttled: false });
  monitor.rateLimit({ exchange: 'binanceusdm', used: 2400, quota: 2400, throttled: true, retryAfterSeconds: 1.5 });
  await writer.flush();

  const events = await waitForRows<Row>(sql, `SELECT * FROM tw_connection_events ${where(service)} ORDER BY ts`, (r) => r.length === 5);
  assert.deepEqual(
    events.map((e) => [e.state, e.reason, e.downtime_s, e.attempt]),
    [
      ['connected', null, null, null],
      ['disconnected', 'close 1006', null, null],
      ['reconnecting', null, null, 1],
      ['reconnecting', null, null, 2],
      ['connected', null, 30.25, null],
    ],
  );

  const samples = await waitForRows<Row>(sql, `SELECT * FROM tw_connection_samples ${where(service)} ORDER BY ts`, (r) => r.length === 2);
  const [first, second] = samples;
  assert.equal(first!.connected, true);
  assert.equal(first!.messages, 101);
  assert.ok((first!.latency_ms_avg as number) >= 20 && (first!.latency_ms_avg as number) < 5000, `latency avg ${String(first!.latency_ms_avg)}`);
  assert.ok((first!.latency_ms_max as number) >= (first!.latency_ms_avg as number));
  assert.equal(first!.reconnects, 1);
  assert.ok(isoToMicros(first!.last_message_ts) >= sent * 1000);
  assert.equal(second!.messages, 1, 'interval statistics restart after each sample');

  const limits = await waitForRows<Row>(sql, `SELECT * FROM tw_rate_limits ${where(service)} ORDER BY ts`, (r) => r.length === 2);
  assert.deepEqual(
    limits.map((l) => [l.exchange, l.used, l.quota, l.throttled, l.retry_after_s]),
    [
      ['binanceusdm', 800, 2400, false, null],
      ['binanceusdm', 2400, 2400, true, 1.5],
    ],
  );

  const labels = { service, exchange: 'binanceusdm', channel: 'liquidations' };
  assert.equal(await metricSum(registry, 'tradewatch_messages_total', labels), 102);
  assert.equal(await metricSum(registry, 'tradewatch_message_latency_seconds_count', labels), 101);
  assert.equal(await metricSum(registry, 'tradewatch_reconnects_total', labels), 1);
  assert.equal(await metricSum(registry, 'tradewatch_connection_downtime_seconds_total', labels), 30.25);
  assert.equal(await metricSum(registry, 'tradewatch_connection_up', labels), 1);
  assert.equal(await metricSum(registry, 'tradewatch_connection_state_changes_total', { ...labels, state: 'reconnecting' }), 2);
  assert.ok((await metricSum(registry, 'tradewatch_last_message_timestamp_seconds', labels)) >= sent / 1000);
  assert.equal(await metricSum(registry, 'tradewatch_rate_limit_used', { service }), 2400);
  assert.equal(await metricSum(registry, 'tradewatch_rate_limit_throttled', { service }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_rate_limit_throttle_reports_total', { service }), 1);
});

test('trading: pnl, order lifecycle, fills, positions and open orders, with mode and run_id', async (t) => {
  const { monitor, writer, registry, service } = setup(t, 'trading');
  const live = monitor.strategy({ strategy: `grid_${run}`, runId: 'live-1', mode: 'live' });
  const backtest = monitor.strategy({ strategy: `grid_${run}`, runId: 'bt-7', mode: 'backtest' });
  assert.equal(monitor.strategy({ strategy: `grid_${run}`, runId: 'live-1', mode: 'live' }), live, 'same handle for the same run');

  live.order({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: 'A1', side: 'buy', type: 'limit', status: 'open', price: 97_000, amount: 0.1 });
  live.order({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: 'A2', side: 'sell', type: 'limit', status: 'open', price: 99_000, amount: 0.1 });
  live.fill({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: 'A1', fillId: 'F1', side: 'buy', price: 97_000, amount: 0.1, fee: 0.97, feeCurrency: 'USDT', liquidity: 'maker' });
  live.order({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: 'A1', side: 'buy', status: 'filled', filled: 0.1 });
  live.position({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', quantity: 0.1, entryPrice: 97_000, markPrice: 97_500, unrealized: 50 });
  live.pnl({ realized: -0.97, unrealized: 50, equity: 10_049.03, grossExposure: 9750, currency: 'USDT' });
  assert.equal(live.openOrders(), 1);

  // Backtests post simulated time: several events may share one timestamp, told apart by their ids. (Kept within
  // the tables' TTL of the newest rows, which QuestDB would otherwise drop.)
  const sim = Math.floor(Date.now() / 1000) * 1000 - 86_400_000;
  backtest.order({ exchange: 'bybit', symbol: 'ETH/USDT:USDT', orderId: 'B1', side: 'sell', status: 'new', at: sim });
  backtest.order({ exchange: 'bybit', symbol: 'ETH/USDT:USDT', orderId: 'B2', side: 'sell', status: 'new', at: sim });
  backtest.order({ exchange: 'bybit', symbol: 'ETH/USDT:USDT', orderId: 'B1', side: 'sell', status: 'rejected', reason: 'post-only would cross', at: sim });
  backtest.pnl({ realized: 0, unrealized: 0, at: new Date(sim) });
  await writer.flush();

  const orders = await waitForRows<Row>(sql, `SELECT * FROM tw_orders ${where(service)} ORDER BY ts`, (r) => r.length === 6);
  const liveOrders = orders.filter((o) => o.run_id === 'live-1');
  assert.deepEqual(
    liveOrders.map((o) => [o.mode, o.order_id, o.side, o.type, o.status, o.price, o.amount, o.filled]),
    [
      ['live', 'A1', 'buy', 'limit', 'open', 97_000, 0.1, null],
      ['live', 'A2', 'sell', 'limit', 'open', 99_000, 0.1, null],
      ['live', 'A1', 'buy', null, 'filled', null, null, 0.1],
    ],
  );
  const btOrders = orders.filter((o) => o.run_id === 'bt-7');
  assert.equal(btOrders.length, 3);
  assert.ok(btOrders.every((o) => o.mode === 'backtest' && isoToMicros(o.ts) === sim * 1000));
  assert.equal(btOrders.find((o) => o.status === 'rejected')!.reason, 'post-only would cross');

  const [fill] = await waitForRows<Row>(sql, `SELECT * FROM tw_fills ${where(service)}`, (r) => r.length === 1);
  assert.deepEqual(
    [fill!.strategy, fill!.run_id, fill!.mode, fill!.order_id, fill!.fill_id, fill!.price, fill!.amount, fill!.fee, fill!.fee_currency, fill!.liquidity],
    [`grid_${run}`, 'live-1', 'live', 'A1', 'F1', 97_000, 0.1, 0.97, 'USDT', 'maker'],
  );
  const [position] = await waitForRows<Row>(sql, `SELECT * FROM tw_positions ${where(service)}`, (r) => r.length === 1);
  assert.deepEqual([position!.quantity, position!.entry_price, position!.mark_price, position!.exposure, position!.unrealized], [0.1, 97_000, 97_500, 9750, 50]);

  const pnl = await waitForRows<Row>(sql, `SELECT * FROM tw_strategy_pnl ${where(service)} ORDER BY run_id`, (r) => r.length === 2);
  const [bt, lv] = pnl;
  assert.deepEqual([lv!.mode, lv!.realized, lv!.unrealized, lv!.equity, lv!.gross_exposure, lv!.open_orders, lv!.currency], ['live', -0.97, 50, 10_049.03, 9750, 1, 'USDT']);
  assert.deepEqual([bt!.mode, bt!.open_orders, isoToMicros(bt!.ts)], ['backtest', 1, sim * 1000], 'open orders default to the tracked count');

  const liveLabels = { service, strategy: `grid_${run}`, run_id: 'live-1', mode: 'live' };
  assert.equal(await metricSum(registry, 'tradewatch_orders_total', liveLabels), 3);
  assert.equal(await metricSum(registry, 'tradewatch_orders_total', { ...liveLabels, status: 'filled' }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_fills_total', liveLabels), 1);
  assert.equal(await metricSum(registry, 'tradewatch_fill_notional_total', liveLabels), 9700);
  assert.equal(await metricSum(registry, 'tradewatch_strategy_open_orders', liveLabels), 1);
  assert.equal(await metricSum(registry, 'tradewatch_strategy_equity', liveLabels), 10_049.03);
  assert.equal(await metricSum(registry, 'tradewatch_position_exposure', { ...liveLabels, symbol: 'BTC/USDT:USDT' }), 9750);
  assert.equal(await metricSum(registry, 'tradewatch_orders_total', { service, mode: 'backtest', status: 'rejected' }), 1);
});

test('custom metrics: tw_metrics rows with canonical labels; counters store the running total', async (t) => {
  const { monitor, writer, registry, service } = setup(t, 'custom');
  monitor.metric({ name: 'ccxt_queue_depth', value: 17, labels: { queue: 'rest', exchange: 'okx' } });
  monitor.metric({ name: 'ccxt_queue_depth', value: 4, labels: { exchange: 'okx', queue: 'ws "main"' } });
  monitor.metric({ name: 'ccxt_retries_total', value: 2, kind: 'counter' });
  monitor.metric({ name: 'ccxt_retries_total', value: 3, kind: 'counter' });
  await writer.flush();

  const rows = await waitForRows<Row>(sql, `SELECT * FROM tw_metrics ${where(service)} ORDER BY ts`, (r) => r.length === 4);
  assert.deepEqual(
    rows.map((r) => [r.name, r.labels, r.kind, r.source, r.value]),
    [
      ['ccxt_queue_depth', 'exchange="okx",queue="rest"', 'gauge', 'sdk', 17],
      ['ccxt_queue_depth', 'exchange="okx",queue="ws \\"main\\""', 'gauge', 'sdk', 4],
      ['ccxt_retries_total', '', 'counter', 'sdk', 2],
      ['ccxt_retries_total', '', 'counter', 'sdk', 5],
    ],
  );
  assert.equal(await metricSum(registry, 'ccxt_queue_depth', { service, queue: 'rest' }), 17);
  assert.equal(await metricSum(registry, 'ccxt_queue_depth', { service, queue: 'ws "main"' }), 4);
  assert.equal(await metricSum(registry, 'ccxt_retries_total', { service }), 5);
});

test('a bursty liquidation stream is counted exactly in QuestDB and in the Prometheus counter', async (t) => {
  const { monitor, writer, registry, service } = setup(t, 'burst');
  const bursts = 20;
  const perBurst = 500;
  const symbols = Array.from({ length: 25 }, (_, i) => `S${i}/USDT:USDT`);
  let value = 0;
  for (let b = 0; b < bursts; b++) {
    // A burst arrives within one tick (the SDK clock keeps every row distinct), then the stream pauses.
    for (let i = 0; i < perBurst; i++) {
      const n = b * perBurst + i;
      monitor.liquidation({ exchange: n % 3 ? 'bybit' : 'okx', symbol: symbols[n % symbols.length]!, side: n % 2 ? 'buy' : 'sell', price: 100 + (n % 7), amount: 1, valueUsd: 10 });
      value += 10;
    }
    await yieldToLoop();
    if (b % 5 === 4) await new Promise((r) => setTimeout(r, 50));
  }
  await writer.flush();
  const total = bursts * perBurst;
  const [count] = await waitForRows<{ n: number }>(sql, `SELECT count() n FROM tw_liquidations ${where(service)}`, (r) => r[0]?.n === total);
  assert.equal(count!.n, total);
  const perSide = await sql.rows<{ side: string; n: number }>(`SELECT side, count() n FROM tw_liquidations ${where(service)} ORDER BY side`);
  assert.deepEqual(perSide, [
    { side: 'buy', n: total / 2 },
    { side: 'sell', n: total / 2 },
  ]);
  assert.equal(await metricSum(registry, 'tradewatch_liquidations_total', { service }), total);
  assert.equal(await metricSum(registry, 'tradewatch_liquidations_total', { service, side: 'buy' }), total / 2);
  assert.equal(await metricSum(registry, 'tradewatch_liquidation_value_usd_total', { service }), value);
  assert.equal(writer.stats().rowsRejected, 0);
});

test('invalid calls never throw, are logged once per method and field, counted, and write nothing', async (t) => {
  const { monitor, writer, registry, service, logger } = setup(t, 'invalid');
  const m = monitor as unknown as Record<string, (...args: unknown[]) => void>;
  for (let i = 0; i < 5; i++) {
    m.fetch!({ exchange: 'okx', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'bogus' });
  }
  m.fetch!({ exchange: 'okx', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: Number.NaN });
  m.fetch!(null);
  m.fetch!(undefined);
  m.liquidation!({ exchange: 'okx', symbol: 'BTC/USDT:USDT', side: 'long', price: 1, amount: 1 });
  m.liquidation!({ exchange: 'okx', symbol: '', side: 'buy', price: 1, amount: 1 });
  m.liquidation!({ exchange: 'okx', symbol: 'BTC/USDT:USDT', side: 'buy', price: '1', amount: 1 });
  m.liquidation!({ exchange: 'okx', symbol: 'BTC/USDT:USDT', side: 'buy', price: 1, amount: 1, at: new Date('nope') });
  m.message!('', 'trades');
  m.message!('okx', 42);
  m.connectionState!({ exchange: 'okx', channel: 'trades', state: 'flapping' });
  m.metric!({ name: 'tradewatch_fake', value: 1 });
  m.metric!({ name: 'bad name', value: 1 });
  m.metric!({ name: 'my_gauge', value: 1, labels: { a: 'x' } });
  m.metric!({ name: 'my_gauge', value: 1, labels: { b: 'x' } });
  m.metric!({ name: 'my_counter_total', value: -1, kind: 'counter' });
  m.error!(new Error('x'), { component: '' });
  const badRun = monitor.strategy({ strategy: 's', runId: 'r', mode: 'yolo' as 'live' });
  badRun.pnl({ realized: 1, unrealized: 1 });
  badRun.order({ exchange: 'okx', symbol: 'X', orderId: 'o', side: 'buy', status: 'open' });
  m.dataGap!({ exchange: 'okx', dataset: 'oi', symbol: 'X', start: 'yesterday', end: Date.now() });
  await writer.flush();

  const invalid = async (method: string, field: string) => metricSum(registry, 'tradewatch_sdk_invalid_calls_total', { service, method, field });
  assert.equal(await invalid('fetch', 'status'), 5);
  assert.equal(await invalid('fetch', 'latencyMs'), 1);
  assert.equal(await invalid('fetch', '(event)'), 2);
  assert.equal(await invalid('liquidation', 'side'), 1);
  assert.equal(await invalid('liquidation', 'symbol'), 1);
  assert.equal(await invalid('liquidation', 'price'), 1);
  assert.equal(await invalid('liquidation', 'at'), 1);
  assert.equal(await invalid('message', 'exchange'), 1);
  assert.equal(await invalid('message', 'channel'), 1);
  assert.equal(await invalid('connectionState', 'state'), 1);
  assert.equal(await invalid('metric', 'name'), 2);
  assert.equal(await invalid('metric', 'labels'), 1);
  assert.equal(await invalid('metric', 'value'), 1);
  assert.equal(await invalid('error', 'component'), 1);
  assert.equal(await invalid('pnl', 'mode'), 1);
  assert.equal(await invalid('order', 'mode'), 1);
  assert.equal(await invalid('dataGap', 'start'), 1);

  // Logged once per (method, field): fetch/status five times, one line; each line names the value.
  const fetchStatus = logger.lines.filter((l) => l.context.method === 'fetch' && l.context.field === 'status');
  assert.equal(fetchStatus.length, 1);
  assert.match(fetchStatus[0]!.message, /"bogus"/);
  const distinct = new Set(logger.lines.filter((l) => l.context.method).map((l) => `${String(l.context.method)}/${String(l.context.field)}`));
  assert.equal(distinct.size, logger.lines.filter((l) => l.context.method).length, 'no (method, field) logged twice');
  assert.equal(distinct.size, 17);

  // Nothing of any refused call reached QuestDB or the domain metrics (my_gauge{a} was the one valid call). The
  // barrier: the writer acknowledged everything it was given (flush above), and QuestDB applied it (walApplied).
  const refusedTables = ['tw_fetches', 'tw_liquidations', 'tw_connection_events', 'tw_errors', 'tw_strategy_pnl', 'tw_orders', 'tw_data_gaps'];
  await walApplied(sql, refusedTables);
  for (const table of refusedTables) {
    const [row] = await sql.rows<{ n: number }>(`SELECT count() n FROM ${table} ${where(service)}`);
    assert.equal(row!.n, 0, `${table} has no rows from refused calls`);
  }
  assert.equal(await metricSum(registry, 'tradewatch_fetches_total', { service }), 0);
  assert.equal(await metricSum(registry, 'tradewatch_liquidations_total', { service }), 0);
  assert.equal(writer.stats().rowsRejected, 0);
});

test('backpressure: a backtest that awaits drained() loses nothing where one that ignores it drops rows', async (t) => {
  const FILLS = 30_000;
  // Memory only, with a 64 KiB bound: a replay that does not wait outruns the writer within a few hundred fills.
  const replay = async (runId: string, wait: boolean) => {
    const registry = new Registry();
    const service = `sdk-backpressure-${runId}-${run}`;
    const monitor = createMonitor({ service, questdb: { url, maxBufferedBytes: 65_536 }, writerHealthIntervalMs: 0, registry, logger: memoryLogger(), sampleIntervalMs: 0 });
    t.after(() => monitor.shutdown());
    const backtest = monitor.strategy({ strategy: `replay_${run}`, runId, mode: 'backtest' });
    const start = Date.UTC(2025, 0, 1);
    let waits = 0;
    for (let i = 0; i < FILLS; i++) {
      if (wait && monitor.needDrain) {
        waits++;
        await monitor.drained();
      }
      backtest.fill({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', orderId: `o${i}`, fillId: `f${i}`, side: 'buy', price: 90_000 + (i % 100), amount: 0.01, at: start + i * 1000 });
    }
    await monitor.flush();
    const dropped = await metricSum(registry, 'tradewatch_writer_rows_dropped_total');
    // What the writer was given: the monitor's `start` row, then the fills; all of it stored or counted as dropped.
    const stored = async () => {
      const [fills] = await sql.rows<{ n: number; ids: number }>(`SELECT count() n, count_distinct(fill_id) ids FROM tw_fills WHERE strategy = 'replay_${run}' AND run_id = '${runId}'`);
      const [starts] = await sql.rows<{ n: number }>(`SELECT count() n FROM tw_process_events WHERE service = '${service}'`);
      return { fills: fills!.n, distinctFills: fills!.ids, rows: fills!.n + starts!.n };
    };
    let last = await stored();
    await waitFor(async () => (last = await stored()).rows >= FILLS + 1 - dropped, 60_000, () => JSON.stringify(last));
    await walApplied(sql, ['tw_fills', 'tw_process_events']); // a duplicate, had one been written, is visible now
    return { waits, dropped, stored: await stored() };
  };

  const patient = await replay('patient', true);
  assert.ok(patient.waits > 0, 'the replay outran the writer and waited');
  assert.equal(patient.dropped, 0);
  assert.deepEqual(patient.stored, { fills: FILLS, distinctFills: FILLS, rows: FILLS + 1 });

  // The contrast: the same replay without waiting has its oldest batches dropped, counted exactly.
  const hasty = await replay('hasty', false);
  assert.ok(hasty.dropped > 0, 'rows were dropped');
  assert.equal(hasty.stored.rows, FILLS + 1 - hasty.dropped);
  assert.equal(hasty.stored.distinctFills, hasty.stored.fills);
});
