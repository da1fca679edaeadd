import { test } from 'node:test';
import assert from 'node:assert/strict';
import ccxt from 'ccxt';
import { createMonitor, instrumentCcxt, classifyCcxtError, datasetOf, type MonitorWriter } from '../packages/sdk/src/sdk/index.js';
import { encoderFor } from '../packages/sdk/src/storage/index.js';
import type { TableDef } from '../packages/sdk/src/schema/index.js';
import { startSimulator } from '../packages/cli/src/simulator/index.js';

// The TypeScript ccxt instrumentation against the project's exchange simulator with real ccxt.pro: the rows it
// records (validated by the real ILP encoder, as the writer would) for REST calls, a rate-limit fault and a
// websocket loop. The Python side is tested the same way in packages/python/tests/test_ccxt.py.

function capture() {
  const rows: { table: string; row: Record<string, unknown> }[] = [];
  const writer: MonitorWriter = {
    write(table: TableDef, row) {
      encoderFor(table).encode(row);
      rows.push({ table: table.name, row: { ...row } });
    },
    flush: async () => {},
    close: async () => {},
    stats: () => ({ connected: true, queueRows: 0, spoolBytes: 0, rowsWritten: 0, rowsRejected: 0, rowsDropped: 0, lagMs: 0 }) as never,
  };
  return { rows, writer };
}

test('datasets from method names, statuses from ccxt error classes (without importing ccxt in the SDK)', () => {
  assert.equal(datasetOf('fetchOpenInterest'), 'open_interest');
  assert.equal(datasetOf('watchLiquidationsForSymbols'), 'liquidations');
  assert.equal(classifyCcxtError(new ccxt.RateLimitExceeded('x')).status, 'rate_limited');
  assert.equal(classifyCcxtError(new ccxt.DDoSProtection('x')).status, 'rate_limited');
  assert.deepEqual(classifyCcxtError(new ccxt.RequestTimeout('x')), { status: 'timeout', kind: 'RequestTimeout', connectivity: true });
  assert.deepEqual(classifyCcxtError(new ccxt.ExchangeNotAvailable('x')), { status: 'error', kind: 'ExchangeNotAvailable', connectivity: true });
  assert.deepEqual(classifyCcxtError(new ccxt.BadSymbol('x')), { status: 'error', kind: 'BadSymbol', connectivity: false });
});

test('an instrumented ccxt.pro exchange records fetches, rate limits, errors and its websocket loop', async (t) => {
  const sim = await startSimulator({ exchanges: ['bybit'], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 20 });
  t.after(() => sim.close());
  const { rows, writer } = capture();
  const monitor = createMonitor({ service: 'ts-ccxt', instance: 'i-1', writer, sampleIntervalMs: 0, logger: { warn() {}, error() {} } });
  const ex = new ccxt.pro.bybit({ ...sim.exchanges.bybit!.ccxtOptions });
  t.after(() => ex.close());
  assert.equal(instrumentCcxt(ex, monitor), ex);
  instrumentCcxt(ex, monitor); // idempotent: one row per call, not two

  const oi = await ex.fetchOpenInterest('BTC/USDT:USDT');
  assert.ok(oi.openInterestAmount! > 0, 'the call returns what ccxt returns');
  await ex.fetchFundingRate('ETH/USDT:USDT');
  await sim.control.inject('bybit', { kind: 'rate_limit', retryAfterSec: 5 });
  await assert.rejects(ex.fetchOpenInterest('BTC/USDT:USDT'), (err: Error) => err.constructor.name === 'RateLimitExceeded');
  await sim.control.clear('bybit');
  for (let i = 0; i < 3; i++) await ex.watchLiquidations('BTC/USDT:USDT');
  monitor.sample();

  const of = (table: string) => rows.filter((r) => r.table === table).map((r) => r.row);
  const fetches = of('tw_fetches');
  const ok = fetches.filter((f) => f.status === 'ok');
  assert.ok(ok.some((f) => f.dataset === 'open_interest' && f.symbol === 'BTC/USDT:USDT' && f.records === 1 && (f.latency_ms as number) > 0));
  assert.ok(ok.some((f) => f.dataset === 'funding_rate' && f.symbol === 'ETH/USDT:USDT'));
  assert.ok(ok.some((f) => f.dataset === 'markets' && f.symbol === '*'), 'load_markets goes through fetchMarkets');
  assert.equal(fetches.filter((f) => f.dataset === 'open_interest').length, 2, 'idempotent wrapping: one row per call');
  assert.deepEqual(fetches.filter((f) => f.status !== 'ok').map((f) => [f.dataset, f.status]), [['open_interest', 'rate_limited']]);
  assert.deepEqual(of('tw_errors').map((e) => [e.component, e.exchange, e.kind]), [['rest', 'bybit', 'RateLimitExceeded']]);
  const limits = of('tw_rate_limits');
  assert.ok(limits.some((l) => l.throttled === true), JSON.stringify(limits));
  assert.deepEqual(of('tw_connection_events').map((e) => [e.channel, e.state]), [['liquidations', 'connected']]);
  const samples = of('tw_connection_samples');
  assert.equal(samples.length, 1);
  assert.ok((samples[0]!.messages as number) >= 3 && samples[0]!.latency_ms_avg !== null);
});
