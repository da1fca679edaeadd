import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { Registry, register as globalRegistry } from 'prom-client';
import { createMonitor, startMetricsServer, type MetricsServer, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { waitFor } from './helpers/rows.js';
import { memoryLogger, metricSum, parseSamples, prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';

// Real QuestDB: readiness is about reaching it, and the overflow test reads rows back.
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const url = questDbUrl(server);
const run = Date.now().toString(36);

interface OpenOptions {
  writerUrl?: string;
  maxSeriesPerMetric?: number;
  readyMaxLagMs?: number;
  maxBufferedBytes?: number;
}

function open(t: { after(fn: () => Promise<void>): void }, name: string, extra: OpenOptions = {}) {
  const service = `sdk-${name}-${run}`;
  const logger = memoryLogger();
  const writer: Writer = createWriter({
    url: extra.writerUrl ?? url,
    service,
    logger,
    requestTimeoutMs: 500,
    retry: { initialDelayMs: 20, maxDelayMs: 50 },
    ...(extra.maxBufferedBytes ? { maxBufferedBytes: extra.maxBufferedBytes, flushRows: 100 } : {}),
  });
  const registry = new Registry();
  const monitor: Monitor = createMonitor({
    service,
    writer,
    registry,
    logger,
    sampleIntervalMs: 0,
    maxSeriesPerMetric: extra.maxSeriesPerMetric,
    readyMaxLagMs: extra.readyMaxLagMs,
  });
  t.after(async () => {
    await monitor.shutdown();
    await writer.close();
  });
  return { service, logger, writer, registry, monitor };
}

async function serve(t: { after(fn: () => Promise<void>): void }, monitor: Monitor): Promise<MetricsServer> {
  const srv = await startMetricsServer({ registry: monitor.registry, port: 0, ready: () => monitor.readiness() });
  t.after(() => srv.close());
  return srv;
}

const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

test('/metrics serves Prometheus text by default and OpenMetrics when the Accept header asks for it', async (t) => {
  const { monitor, service } = open(t, 'expo');
  monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: 12 });
  monitor.liquidation({ exchange: 'okx', symbol: 'A "quoted"\\symbol', side: 'buy', price: 1, amount: 1 });
  const srv = await serve(t, monitor);
  assert.equal(srv.host, '127.0.0.1');

  const openMetrics = await fetch(`${srv.url}/metrics`, { headers: { accept: PROMETHEUS_ACCEPT } });
  assert.equal(openMetrics.status, 200);
  assert.equal(openMetrics.headers.get('content-type'), 'application/openmetrics-text; version=1.0.0; charset=utf-8');
  const om = await openMetrics.text();
  assert.ok(om.endsWith('# EOF\n'), 'OpenMetrics ends with # EOF');
  assert.match(om, /^# TYPE tradewatch_fetches counter$/m, 'counter family named without _total');
  assert.match(om, new RegExp(`^tradewatch_fetches_total\\{service="${service}",exchange="okx",dataset="funding_rate",status="ok"\\} 1$`, 'm'));
  assert.match(om, /^# TYPE tradewatch_fetch_duration_seconds histogram$/m);
  assert.match(om, /^tradewatch_fetch_duration_seconds_bucket\{.*le="\+Inf"\} 1$/m);
  assert.match(om, /symbol="A \\"quoted\\"\\\\symbol"/, 'label values escaped');

  // Text after OpenMetrics: prom-client's own OpenMetrics mode would have renamed the counters in place.
  for (const accept of [undefined, 'text/plain', 'application/openmetrics-text;q=0.1,text/plain;q=0.9']) {
    const text = await fetch(`${srv.url}/metrics`, { headers: accept ? { accept } : {} });
    assert.equal(text.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8', String(accept));
    const body = await text.text();
    assert.match(body, /^# TYPE tradewatch_fetches_total counter$/m);
    assert.doesNotMatch(body, /# EOF/);
    const samples = parseSamples(body);
    assert.equal(samples.get('tradewatch_fetches_total')?.[0]?.value, 1);
    assert.equal(samples.get('tradewatch_liquidations_total')?.[0]?.labels.symbol, 'A "quoted"\\symbol');
  }

  const head = await fetch(`${srv.url}/metrics`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal((await fetch(`${srv.url}/nope`)).status, 404);
  assert.equal((await fetch(`${srv.url}/metrics`, { method: 'POST' })).status, 405);
});

test('/healthz answers while alive; /readyz follows the writer and the monitor lifecycle', async (t) => {
  const { monitor } = open(t, 'ready');
  const srv = await serve(t, monitor);
  monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok' });
  await monitor.flush();
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200);
  const ready = await fetch(`${srv.url}/readyz`);
  assert.equal(ready.status, 200, await ready.clone().text());
  assert.equal(await ready.text(), 'ready\n');

  await monitor.shutdown();
  const after = await fetch(`${srv.url}/readyz`);
  assert.equal(after.status, 503);
  assert.match(await after.text(), /shut down/);
  assert.equal((await fetch(`${srv.url}/healthz`)).status, 200, 'alive is not ready');
});

test('/readyz fails while QuestDB is unreachable and rows pile up unspooled', async (t) => {
  const deadPort = await freePort();
  const { monitor } = open(t, 'unready', { writerUrl: `http://127.0.0.1:${deadPort}`, readyMaxLagMs: 300 });
  const srv = await serve(t, monitor);
  monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok' });
  assert.equal((await fetch(`${srv.url}/readyz`)).status, 200, 'a fresh backlog is still ready');
  const deadline = Date.now() + 10_000;
  let last: Response | undefined;
  while (Date.now() < deadline) {
    last = await fetch(`${srv.url}/readyz`);
    if (last.status === 503) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.equal(last?.status, 503);
  assert.match(await last!.text(), /QuestDB unreachable/);
  assert.equal(await metricSum(monitor.registry, 'tradewatch_writer_connected'), 0);
});

test('/readyz fails once the writer drops rows (memory bound reached without a spool)', async (t) => {
  const deadPort = await freePort();
  const { monitor, writer } = open(t, 'dropping', { writerUrl: `http://127.0.0.1:${deadPort}`, maxBufferedBytes: 65_536 });
  const srv = await serve(t, monitor);
  for (let i = 0; i < 3000; i++) {
    monitor.liquidation({ exchange: 'bybit', symbol: `DROP${i % 50}/USDT:USDT`, side: 'buy', price: 100 + i, amount: 1, valueUsd: 100 });
  }
  await waitFor(() => writer.stats().rowsDropped > 0, 10_000, () => JSON.stringify(writer.stats()));
  assert.ok(writer.stats().rowsDropped > 0, 'the writer dropped the oldest rows');
  const res = await fetch(`${srv.url}/readyz`);
  assert.equal(res.status, 503);
  assert.match(await res.text(), /dropped rows/);
  assert.ok((await metricSum(monitor.registry, 'tradewatch_writer_rows_dropped_total')) > 0);
});

test('label sets beyond the per-metric limit fold into __other__, counted and logged once; QuestDB keeps real labels', async (t) => {
  const { monitor, writer, service, registry, logger } = open(t, 'overflow', { maxSeriesPerMetric: 5 });
  const symbols = Array.from({ length: 12 }, (_, i) => `OVF${i}/USDT:USDT`);
  for (let round = 0; round < 3; round++) {
    for (const symbol of symbols) monitor.liquidation({ exchange: 'bybit', symbol, side: 'sell', price: 1, amount: 1, valueUsd: 2 });
  }
  const { body } = await (await import('../packages/sdk/src/sdk/index.js')).renderMetrics(registry, 'prometheus');
  const series = parseSamples(body).get('tradewatch_liquidations_total')!;
  // The first five label sets keep their series; the other seven share one with symbol="__other__".
  assert.equal(series.length, 6);
  assert.deepEqual(series.filter((s) => s.labels.symbol !== '__other__').map((s) => [s.labels.symbol, s.value]), symbols.slice(0, 5).map((s) => [s, 3]));
  const other = series.find((s) => s.labels.symbol === '__other__')!;
  assert.deepEqual(other.labels, { service, exchange: 'bybit', symbol: '__other__', side: 'sell' }, 'closed vocabulary (side) and exchange kept');
  assert.equal(other.value, 21);
  assert.equal(await metricSum(registry, 'tradewatch_liquidations_total', { service }), 36, 'totals stay exact');
  assert.equal(await metricSum(registry, 'tradewatch_liquidation_value_usd_total', { service }), 72);
  assert.equal(await metricSum(registry, 'tradewatch_sdk_series_overflow_total', { service, metric: 'tradewatch_liquidations_total' }), 21);
  assert.equal(logger.lines.filter((l) => l.context.metric === 'tradewatch_liquidations_total').length, 1);

  await writer.flush();
  const rows = await waitForRows<{ symbol: string; n: number }>(
    sql,
    `SELECT symbol, count() n FROM tw_liquidations WHERE service = '${service}' ORDER BY symbol`,
    (r) => r.length === 12,
  );
  assert.ok(rows.every((r) => r.n === 3 && r.symbol.startsWith('OVF')));
});

test('liquidation: the value series appears only with a positive valueUsd; folded calls are counted per metric', async (t) => {
  // liquidation() looks both series up at once for unfolded label sets; this pins what that must not change.
  const { monitor, service, registry } = open(t, 'liq-lazy', { maxSeriesPerMetric: 3 });
  const symbols = Array.from({ length: 5 }, (_, i) => `LZ${i}/USDT:USDT`);
  const samples = async () => parseSamples((await (await import('../packages/sdk/src/sdk/index.js')).renderMetrics(registry, 'prometheus')).body);
  const overflow = (metric: string) => metricSum(registry, 'tradewatch_sdk_series_overflow_total', { service, metric });
  // Twice each without a value: counts only. LZ0..LZ2 get series, LZ3 and LZ4 fold into __other__.
  for (let round = 0; round < 2; round++) {
    for (const symbol of symbols) monitor.liquidation({ exchange: 'okx', symbol, side: 'buy', price: 1, amount: 1 });
  }
  let got = await samples();
  assert.equal(got.get('tradewatch_liquidation_value_usd_total'), undefined, 'no value series without a valueUsd');
  assert.equal(got.get('tradewatch_liquidations_total')!.length, 4);
  assert.equal(await overflow('tradewatch_liquidations_total'), 4);
  // Zero and negative values add nothing and create nothing.
  monitor.liquidation({ exchange: 'okx', symbol: symbols[0]!, side: 'buy', price: 1, amount: 1, valueUsd: 0 });
  monitor.liquidation({ exchange: 'okx', symbol: symbols[0]!, side: 'buy', price: 1, amount: 1, valueUsd: -5 });
  assert.equal((await samples()).get('tradewatch_liquidation_value_usd_total'), undefined);
  // A value on a cached (unfolded) label set creates its value series then; later ones add to it.
  monitor.liquidation({ exchange: 'okx', symbol: symbols[1]!, side: 'buy', price: 1, amount: 1, valueUsd: 10 });
  monitor.liquidation({ exchange: 'okx', symbol: symbols[1]!, side: 'buy', price: 1, amount: 1, valueUsd: 5 });
  // A value on a folded count series: its value series is the value metric's own business (not full: unfolded).
  monitor.liquidation({ exchange: 'okx', symbol: symbols[4]!, side: 'buy', price: 1, amount: 1, valueUsd: 7 });
  monitor.liquidation({ exchange: 'okx', symbol: symbols[4]!, side: 'buy', price: 1, amount: 1, valueUsd: 7 });
  got = await samples();
  const values = got.get('tradewatch_liquidation_value_usd_total')!.map((s) => [s.labels.symbol, s.value]);
  assert.deepEqual(values, [
    [symbols[1], 15],
    [symbols[4], 14],
  ]);
  const counts = new Map(got.get('tradewatch_liquidations_total')!.map((s) => [s.labels.symbol, s.value]));
  assert.deepEqual(Object.fromEntries(counts), { [symbols[0]!]: 4, [symbols[1]!]: 4, [symbols[2]!]: 2, __other__: 6 });
  assert.equal(await overflow('tradewatch_liquidations_total'), 6, 'every call on a folded series is counted');
  assert.equal(await overflow('tradewatch_liquidation_value_usd_total'), 0);
  // Fill the value metric (LZ0, LZ2 join LZ1, LZ4): a new value label set now folds and is counted, every call.
  monitor.liquidation({ exchange: 'okx', symbol: symbols[0]!, side: 'buy', price: 1, amount: 1, valueUsd: 1 });
  for (let i = 0; i < 3; i++) monitor.liquidation({ exchange: 'okx', symbol: symbols[2]!, side: 'buy', price: 1, amount: 1, valueUsd: 1 });
  assert.equal(await overflow('tradewatch_liquidation_value_usd_total'), 3);
  assert.equal(await metricSum(registry, 'tradewatch_liquidation_value_usd_total', { service }), 15 + 14 + 1 + 3, 'totals stay exact');
  assert.equal(await metricSum(registry, 'tradewatch_liquidations_total', { service }), 10 + 2 + 2 + 2 + 1 + 3);
});

test('the SDK never touches prom-client\'s global registry; monitors can share one registry', async (t) => {
  const registry = new Registry();
  const writers = [0, 1].map((i) => createWriter({ url, service: `shared-${i}-${run}` }));
  const monitors = writers.map((writer, i) => createMonitor({ service: `shared-${i}-${run}`, writer, registry, sampleIntervalMs: 0, logger: memoryLogger() }));
  t.after(async () => {
    for (const m of monitors) await m.shutdown();
    for (const w of writers) await w.close();
  });
  monitors[0]!.message('okx', 'trades');
  monitors[1]!.message('okx', 'trades');
  monitors[1]!.message('okx', 'trades');
  assert.equal(await metricSum(registry, 'tradewatch_messages_total', { service: `shared-0-${run}` }), 1);
  assert.equal(await metricSum(registry, 'tradewatch_messages_total', { service: `shared-1-${run}` }), 2);
  assert.equal(globalRegistry.getMetricsAsArray().filter((m) => m.name.startsWith('tradewatch_')).length, 0);
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
