/** The daemon's configuration (refused with the field named) and its error and header handling: no QuestDB, no network. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ccxt from 'ccxt';
import { isTradewatchError } from '../packages/sdk/src/common/errors.js';
import { loadConfig } from '../packages/cli/src/config/index.js';
import { classify, createDaemon, credentialEnvNames, daemonConfig, readRateLimit, retryAfterSeconds } from '../packages/cli/src/daemon/index.js';
import { backoffDelay } from '../packages/cli/src/daemon/backoff.js';
import { bybitMarketTypes } from '../packages/cli/src/daemon/ccxt-exchange.js';
import { orderSide } from '../packages/cli/src/daemon/liquidation-side.js';
import { weightQuotaOf } from '../packages/cli/src/daemon/rate-limit.js';
import type { Monitor } from '../packages/sdk/src/sdk/index.js';

const dir = mkdtempSync(join(tmpdir(), 'tw-daemon-'));
const refused = (fn: () => unknown, ...patterns: RegExp[]) =>
  assert.throws(fn, (err: unknown) => {
    assert.ok(isTradewatchError(err, 'TW_INVALID_CONFIG'), String(err));
    for (const pattern of patterns) assert.match(err.message, pattern);
    return true;
  });

test('daemon config: defaults, environment overrides, the exchange list from one variable', () => {
  const defaults = loadConfig({ env: {} }).daemon;
  assert.equal(defaults.openInterestIntervalMs, 30_000);
  assert.equal(defaults.fundingIntervalMs, 60_000);
  assert.deepEqual(defaults.exchanges.map((e) => e.id), ['binanceusdm', 'bybit']);
  const env = loadConfig({
    env: {
      TRADEWATCH_DAEMON_EXCHANGES: 'binanceusdm=BTC/USDT:USDT,ETH/USDT:USDT; bybit=SOL/USDT:USDT',
      TRADEWATCH_DAEMON_OPEN_INTEREST_INTERVAL_MS: '250',
      TRADEWATCH_DAEMON_LIQUIDATIONS: 'false',
    },
  }).daemon;
  assert.deepEqual(env.exchanges, [
    { id: 'binanceusdm', symbols: ['BTC/USDT:USDT', 'ETH/USDT:USDT'] },
    { id: 'bybit', symbols: ['SOL/USDT:USDT'] },
  ]);
  assert.equal(env.openInterestIntervalMs, 250);
  assert.equal(env.liquidations, false);
});

test('the documented example config (tradewatch.example.yaml) is valid and means the defaults', () => {
  const example = loadConfig({ file: 'tradewatch.example.yaml', env: {} });
  assert.deepEqual(example.daemon, loadConfig({ env: {} }).daemon);
});

test('an invalid daemon config is refused with a message naming the field', () => {
  refused(() => loadConfig({ env: { TRADEWATCH_DAEMON_FUNDING_INTERVAL_MS: '5' } }), /daemon\.fundingIntervalMs/, /TRADEWATCH_DAEMON_FUNDING_INTERVAL_MS/, /got 5/);
  refused(() => loadConfig({ env: { TRADEWATCH_DAEMON_STALE_STREAM_MS: 'soon' } }), /TRADEWATCH_DAEMON_STALE_STREAM_MS \(daemon\.staleStreamMs, --daemon-stale-stream-ms\) must be a number/);
  refused(() => loadConfig({ env: { TRADEWATCH_DAEMON_EXCHANGES: 'binanceusdm=BTCUSDT' } }), /daemon\.exchanges\.0\.symbols\.0/, /unified ccxt symbol/);
  const file = join(dir, 'keys.yaml');
  writeFileSync(file, 'daemon:\n  exchanges:\n    - id: bybit\n      symbols: [BTC/USDT:USDT]\n      apiKey: abc\n');
  refused(() => loadConfig({ file, env: {} }), /daemon\.exchanges\.0\.apiKey/, /environment only/);
  const dup = join(dir, 'dup.yaml');
  writeFileSync(dup, 'daemon:\n  exchanges:\n    - { id: bybit, symbols: [BTC/USDT:USDT] }\n    - { id: bybit, symbols: [ETH/USDT:USDT] }\n');
  refused(() => loadConfig({ file: dup, env: {} }), /daemon\.exchanges\.1\.id/, /listed twice/);
  refused(() => daemonConfig({ reconnectBaseMs: 5000, reconnectMaxMs: 1000 }), /reconnectMaxMs/);
  // What only ccxt knows is checked when the daemon is created: the exchange and its capabilities.
  const monitor = {} as Monitor;
  refused(() => createDaemon({ config: daemonConfig({ exchanges: [{ id: 'nosuchexchange', symbols: ['BTC/USDT'] }] }), monitor }), /daemon\.exchanges\.0\.id/, /nosuchexchange/);
  assert.deepEqual(credentialEnvNames('binanceusdm'), {
    apiKey: 'TRADEWATCH_DAEMON_BINANCEUSDM_API_KEY',
    secret: 'TRADEWATCH_DAEMON_BINANCEUSDM_SECRET',
    password: 'TRADEWATCH_DAEMON_BINANCEUSDM_PASSWORD',
  });
});

test('ccxt errors map to fetch statuses; Retry-After and rate-limit headers are read', () => {
  assert.equal(classify(new ccxt.RateLimitExceeded('x')).status, 'rate_limited');
  assert.equal(classify(new ccxt.DDoSProtection('x')).status, 'rate_limited');
  assert.equal(classify(new ccxt.RequestTimeout('x')).status, 'timeout');
  assert.deepEqual(classify(new ccxt.ExchangeNotAvailable('x')), { status: 'error', kind: 'ExchangeNotAvailable', connectivity: true });
  assert.deepEqual(classify(new ccxt.BadSymbol('x')), { status: 'error', kind: 'BadSymbol', connectivity: false });
  assert.equal(retryAfterSeconds({ 'Retry-After': '7' }, undefined), 7);
  assert.equal(retryAfterSeconds({ 'retry-after': new Date(61_000).toUTCString() }, undefined, 1000), 60);
  assert.equal(retryAfterSeconds({}, new Error('IP banned until 1700000030000'), 1_700_000_000_000), 30);
  assert.equal(retryAfterSeconds(undefined, new Error('nothing')), undefined);
  // Binance's header is the IP's used weight; the quota is not in it (it comes from exchangeInfo.rateLimits).
  assert.deepEqual(readRateLimit({ 'X-Mbx-Used-Weight-1m': '37' }), { used: 37 });
  assert.deepEqual(readRateLimit({ 'X-Bapi-Limit-Status': '590', 'X-Bapi-Limit': '600' }), { used: 10, quota: 600 });
  assert.deepEqual(readRateLimit({}), {});
  assert.equal(
    weightQuotaOf({ rateLimits: [{ rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 }, { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 }] }),
    2400,
  );
  assert.equal(weightQuotaOf({}), undefined);
  // Bans and region blocks are recognised by their HTTP status in ccxt's message, whatever class ccxt gives them.
  assert.deepEqual(classify(new ccxt.DDoSProtection('binanceusdm 418 I\'m a teapot {"code":-1003}')), {
    status: 'blocked', kind: 'DDoSProtection', connectivity: false, block: 'ban', httpStatus: 418,
  });
  assert.equal(classify(new ccxt.RateLimitExceeded('bybit GET http://h/v5/market/tickers?x=1 403 Forbidden ')).block, 'ban');
  assert.equal(classify(new ccxt.ExchangeNotAvailable('binanceusdm GET http://h/fapi/v1/time 451 Unavailable For Legal Reasons {}')).block, 'region');
  assert.equal(classify(new ccxt.DDoSProtection('binanceusdm 429 Too Many Requests {}')).status, 'rate_limited');
  assert.equal(classify(new ccxt.RateLimitExceeded('bybit {"retCode":10006,"retMsg":"Too many visits!"}')).status, 'rate_limited');
  // Liquidation sides: one meaning in storage (the order's side); Bybit sends the position's side.
  assert.equal(orderSide('binanceusdm', 'sell'), 'sell');
  assert.equal(orderSide('bybit', 'buy'), 'sell', 'Bybit Buy = a long position liquidated = a sell order');
  assert.equal(orderSide('bybit', 'Sell'), 'buy');
  assert.equal(orderSide('bybit', 'x'), undefined);
  assert.deepEqual(bybitMarketTypes(['BTC/USDT:USDT', 'ETH/USDT:USDT-250627']), ['linear']);
  assert.deepEqual(bybitMarketTypes(['BTC/USD:BTC', 'ETH/USDT', 'BTC/USDT:USDT-250627-60000-C']), ['inverse', 'option', 'spot']);
  for (let attempt = 1; attempt <= 12; attempt++) {
    const d = backoffDelay(attempt, 100, 3000);
    const cap = Math.min(3000, 100 * 2 ** (attempt - 1));
    assert.ok(d >= cap / 2 && d <= cap, `attempt ${attempt}: ${d}`);
  }
});
