/**
 * The simulator follows the exchanges' documented rules (docs/simulator.md names the source of each), with their
 * timings shortened: request weights and the 429 → 418 escalation, Bybit's IP limit and its 403 ban, keepalive and
 * connection age, liquidation sides and prices, paginated instruments across categories, 4 h / 1 h funding, and
 * the ban, region-block, WAF and maintenance answers as ccxt classifies them. Real ccxt, real sockets, no QuestDB.
 */
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import ccxt from 'ccxt';
import WebSocket from 'ws';
import { startSimulator, type ExchangeId, type Simulator } from '../packages/cli/src/simulator/index.js';

const BTC = 'BTC/USDT:USDT';
const sims: Simulator[] = [];
after(async () => Promise.all(sims.map((s) => s.close())));

async function sim(options: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const s = await startSimulator({ liquidationsPerSecond: 0, ...options });
  sims.push(s);
  return s;
}

function client(s: Simulator, id: ExchangeId, extra: Record<string, unknown> = {}) {
  const options = { ...s.exchanges[id]!.ccxtOptions, ...extra };
  return id === 'binanceusdm' ? new ccxt.pro.binanceusdm(options) : new ccxt.pro.bybit(options);
}

async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function rejection(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  return assert.fail('expected a rejection');
}

test('Binance: weights add up per minute; over the limit 429 with Retry-After, then 418 (a ban); the quota is in exchangeInfo', async () => {
  const s = await sim({ exchanges: ['binanceusdm'], timing: { binanceWeightLimit: 12, binanceBanMs: 3000 } });
  const base = s.exchanges.binanceusdm!.restUrl;
  // The count resets at each minute: start right after a boundary if one is near.
  if (Date.now() % 60_000 > 45_000) await new Promise((resolve) => setTimeout(resolve, 60_000 - (Date.now() % 60_000) + 100));
  const info = (await (await fetch(`${base}/fapi/v1/exchangeInfo`)).json()) as { rateLimits: { rateLimitType: string; limit: number }[] };
  assert.equal(info.rateLimits.find((l) => l.rateLimitType === 'REQUEST_WEIGHT')?.limit, 12);
  const premium = await fetch(`${base}/fapi/v1/premiumIndex`); // all symbols: weight 10
  const used = Number(premium.headers.get('x-mbx-used-weight-1m'));
  assert.ok(used >= 11 && used <= 12, `cumulative weight ${used} (exchangeInfo 1, then premiumIndex 10)`);
  let answer = await fetch(`${base}/fapi/v1/time`);
  while (answer.status === 200) answer = await fetch(`${base}/fapi/v1/time`);
  assert.equal(answer.status, 429);
  assert.ok(Number(answer.headers.get('retry-after')) >= 1);
  // Requests that keep coming during Retry-After: a few more 429s (binanceTolerated429s = 5 in all), then the ban.
  const statuses = [429];
  for (let i = 0; i < 5; i++) statuses.push((await fetch(`${base}/fapi/v1/time`)).status);
  assert.deepEqual(statuses, [429, 429, 429, 429, 429, 418]);
  const banned = await fetch(`${base}/fapi/v1/time`);
  assert.equal(banned.status, 418, 'banned');
  assert.ok(['2', '3'].includes(banned.headers.get('retry-after') ?? ''), `Retry-After ${banned.headers.get('retry-after')}`);
  assert.match(((await banned.json()) as { msg: string }).msg, /banned until \d{13}/);
  const ex = client(s, 'binanceusdm');
  const err = await rejection(ex.fetchTime());
  assert.ok(err instanceof ccxt.DDoSProtection, `${err.constructor.name}: ${err.message}`);
  assert.match(err.message, /^binanceusdm 418 /);
  assert.ok(s.control.state().exchanges.binanceusdm!.stats.restRefusedByLimiter >= 3);
});

test('Bybit: over the IP limit, HTTP 403 without headers for the whole ban; normal answers carry no X-Bapi headers', async () => {
  const s = await sim({ exchanges: ['bybit'], timing: { bybitIpLimit: 5, bybitIpWindowMs: 60_000, bybitBanMs: 60_000 } });
  const url = `${s.exchanges.bybit!.restUrl}/v5/market/time`;
  const first = await fetch(url);
  assert.equal(first.status, 200);
  assert.deepEqual([...first.headers.keys()].filter((k) => /^x-bapi|retry-after/i.test(k)), [], 'no static X-Bapi-Limit headers');
  let answer = first;
  let n = 1;
  while (answer.status === 200) {
    answer = await fetch(url);
    n++;
  }
  assert.equal(n, 6, 'the 6th request in the window breaks the limit of 5');
  assert.equal(answer.status, 403);
  assert.deepEqual([...answer.headers.keys()].filter((k) => /^x-bapi|retry-after/i.test(k)), []);
  assert.equal((await fetch(url)).status, 403, 'still banned');
  const err = await rejection(client(s, 'bybit').fetchTime());
  assert.ok(err instanceof ccxt.RateLimitExceeded, `${err.constructor.name}: ${err.message}`);
  assert.match(err.message, / 403 /);
});

test('ban, region-block, WAF and maintenance faults answer as the exchanges do, and ccxt classifies them', async () => {
  const s = await sim({ exchanges: ['binanceusdm', 'bybit'] });
  const cases: [ExchangeId, 'ip_ban' | 'region_block' | 'waf_block' | 'maintenance', number, new (...args: never[]) => Error][] = [
    ['binanceusdm', 'ip_ban', 418, ccxt.DDoSProtection],
    ['binanceusdm', 'region_block', 451, ccxt.ExchangeNotAvailable],
    ['binanceusdm', 'waf_block', 403, ccxt.ExchangeNotAvailable],
    ['binanceusdm', 'maintenance', 503, ccxt.OnMaintenance],
    ['bybit', 'ip_ban', 403, ccxt.RateLimitExceeded],
    ['bybit', 'region_block', 403, ccxt.RateLimitExceeded],
    ['bybit', 'maintenance', 503, ccxt.ExchangeNotAvailable],
  ];
  for (const [id, kind, status, ErrorClass] of cases) {
    const ex = client(s, id);
    const record = await s.control.inject(id, { kind });
    const raw = await fetch(`${s.exchanges[id]!.restUrl}/${id === 'bybit' ? 'v5/market/time' : 'fapi/v1/time'}`);
    assert.equal(raw.status, status, `${id} ${kind}`);
    const err = await rejection(ex.fetchTime());
    assert.ok(err instanceof ErrorClass, `${id} ${kind}: ${err.constructor.name}: ${err.message}`);
    await s.control.clear(id);
    assert.equal(s.control.faults().find((f) => f.id === record.id)?.counters.requestsRejected, 2);
    await ex.close();
  }
});

test('keepalive: Bybit drops a client that never pings, Binance one that never pongs; Binance closes connections at their maximum age', async () => {
  const s = await sim({
    exchanges: ['binanceusdm', 'bybit'],
    timing: { bybitIdleTimeoutMs: 600, binancePingIntervalMs: 150, binancePongTimeoutMs: 600, binanceMaxConnectionAgeMs: 60_000 },
  });
  const open = (url: string, options?: WebSocket.ClientOptions) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, options);
      ws.once('open', () => resolve(ws));
      ws.once('error', reject);
    });
  const closed = (ws: WebSocket) => new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  const bybitWs = s.exchanges.bybit!.wsUrl;
  const binanceWs = `${s.exchanges.binanceusdm!.wsUrl}/btcusdt@forceOrder`;

  // Clients that keep the rules stay connected across several timeouts...
  const pinging = await open(bybitWs);
  const pinger = setInterval(() => pinging.send(JSON.stringify({ op: 'ping' })), 150);
  let bybitPongs = 0;
  pinging.on('message', (data) => {
    if (String(data).includes('"ret_msg":"pong"')) bybitPongs++;
  });
  const ponging = await open(binanceWs); // ws answers ping frames by itself
  let binancePings = 0;
  ponging.on('ping', () => binancePings++);
  // ...those that do not are dropped.
  const silent = await open(bybitWs);
  const deaf = await open(binanceWs, { autoPong: false });
  const [silentCode, deafCode] = await Promise.all([closed(silent), closed(deaf)]);
  assert.equal(silentCode, 1006, 'dropped without a close frame');
  assert.equal(deafCode, 1006);
  // Still open after more than two timeouts' worth of keepalive rounds (150 ms apart, 600 ms timeouts), counted as
  // they happen rather than waited out on the clock: the server's rule check ran all along, on the same event loop.
  await waitFor(() => bybitPongs >= 10 && binancePings >= 10, 'ten keepalive rounds on each exchange', 30_000);
  assert.equal(pinging.readyState, WebSocket.OPEN);
  assert.equal(ponging.readyState, WebSocket.OPEN);
  clearInterval(pinger);
  pinging.terminate();
  ponging.terminate();
  const rules = s.control.state().exchanges;
  assert.equal(rules.bybit!.stats.wsClosedByRule.idle, 1);
  assert.equal(rules.binanceusdm!.stats.wsClosedByRule.pongTimeout, 1);

  const aged = await startSimulator({ exchanges: ['binanceusdm'], liquidationsPerSecond: 0, timing: { binanceMaxConnectionAgeMs: 400 } });
  sims.push(aged);
  const old = await open(`${aged.exchanges.binanceusdm!.wsUrl}/btcusdt@forceOrder`);
  assert.equal(await closed(old), 1000, 'closed at its maximum age');
  assert.equal(aged.control.state().exchanges.binanceusdm!.stats.wsClosedByRule.maxAge, 1);
});

test('liquidation sides: one long liquidated is a SELL order on Binance and a Buy (position side) at the bankruptcy price on Bybit', async () => {
  const s = await sim({ exchanges: ['binanceusdm', 'bybit'], symbols: ['BTC'] });
  const got: Record<string, { side?: string; price?: number }> = {};
  for (const id of ['binanceusdm', 'bybit'] as const) {
    const ex = client(s, id);
    const pending = ex.watchLiquidations(BTC);
    pending.catch(() => undefined);
    await waitFor(() => (s.control.state().exchanges[id]?.wsSubscriptions ?? 0) > 0, `${id} subscription`);
    await s.control.inject(id, { kind: 'liquidation_burst', count: 1, overMs: 0, side: 'sell' });
    const [liquidation] = await pending;
    got[id] = { side: liquidation?.side, price: liquidation?.price };
    await ex.close();
  }
  // ccxt passes each exchange's field through: Binance the order side, Bybit the position side.
  assert.equal(got.binanceusdm!.side, 'sell');
  assert.equal(got.bybit!.side, 'buy');
  assert.ok((got.bybit!.price ?? 0) > 0);
});

test('Bybit instruments are paginated by cursor across categories; loadMarkets reads every page', async () => {
  const s = await sim({ exchanges: ['bybit'], timing: { bybitInstrumentsPageSize: 2 } });
  const base = s.exchanges.bybit!.restUrl;
  const pages: string[][] = [];
  let cursor = '';
  do {
    const answer = (await (await fetch(`${base}/v5/market/instruments-info?category=linear&limit=1000${cursor ? `&cursor=${cursor}` : ''}`)).json()) as {
      result: { list: { symbol: string }[]; nextPageCursor: string };
    };
    pages.push(answer.result.list.map((i) => i.symbol));
    cursor = answer.result.nextPageCursor;
  } while (cursor);
  assert.deepEqual(pages.map((p) => p.length), [2, 2, 1]);
  const before = s.control.state().exchanges.bybit!.stats.restRequests;
  const ex = client(s, 'bybit');
  const markets = await ex.loadMarkets();
  const requests = s.control.state().exchanges.bybit!.stats.restRequests - before;
  assert.equal(Object.keys(markets).filter((m) => m.endsWith(':USDT')).length, 5);
  assert.ok(markets['BTC/USDT'] && markets['BTC/USD:BTC'], 'spot and inverse markets too');
  // ccxt's default: spot, linear (+ pre-launch), inverse (+ pre-launch), options per base coin, each paginated.
  assert.ok(requests >= 10, `${requests} requests for loadMarkets`);
  // Narrowed to the linear category, as the daemon does for linear symbols: far fewer requests.
  const narrow = client(s, 'bybit', { options: { fetchMarkets: { types: ['linear'] }, adjustForTimeDifference: false, defaultType: 'swap' } });
  const start = s.control.state().exchanges.bybit!.stats.restRequests;
  await narrow.loadMarkets();
  assert.ok(s.control.state().exchanges.bybit!.stats.restRequests - start < requests);
});

test('funding intervals: DOGE settles hourly, XRP every 4 h, others every 8 h, on both exchanges', async () => {
  const T = Date.UTC(2026, 0, 15, 12, 34, 56);
  const s = await sim({ now: () => T });
  for (const id of ['binanceusdm', 'bybit'] as const) {
    const ex = client(s, id);
    const next = async (symbol: string) => (await ex.fetchFundingRate(symbol)).fundingTimestamp ?? (await ex.fetchFundingRate(symbol)).nextFundingTimestamp;
    assert.equal(await next('DOGE/USDT:USDT'), Date.UTC(2026, 0, 15, 13), `${id} DOGE`);
    assert.equal(await next('XRP/USDT:USDT'), Date.UTC(2026, 0, 15, 16), `${id} XRP`);
    assert.equal(await next(BTC), Date.UTC(2026, 0, 15, 16), `${id} BTC`);
    assert.equal(await next('ETH/USDT:USDT'), Date.UTC(2026, 0, 15, 16));
  }
  const bybit = (await (await fetch(`${s.exchanges.bybit!.restUrl}/v5/market/instruments-info?category=linear`)).json()) as {
    result: { list: { symbol: string; fundingInterval: number }[] };
  };
  assert.deepEqual(
    Object.fromEntries(bybit.result.list.map((i) => [i.symbol, i.fundingInterval])),
    { BTCUSDT: 480, ETHUSDT: 480, SOLUSDT: 480, XRPUSDT: 240, DOGEUSDT: 60 },
  );
  const info = (await (await fetch(`${s.exchanges.binanceusdm!.restUrl}/fapi/v1/fundingInfo`)).json()) as { symbol: string; fundingIntervalHours: number }[];
  assert.deepEqual(info.map((i) => [i.symbol, i.fundingIntervalHours]), [['XRPUSDT', 4], ['DOGEUSDT', 1]]);
});
