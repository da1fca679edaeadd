import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import { after, afterEach, before, describe, test } from 'node:test';
import ccxt from 'ccxt';
import { isTradewatchError } from '../packages/sdk/src/common/errors.js';
import {
  loadScenarioFile,
  parseScenario,
  startSimulator,
  type ExchangeId,
  type FaultRecord,
  type Simulator,
} from '../packages/cli/src/simulator/index.js';

type Pro = InstanceType<typeof ccxt.pro.binanceusdm> | InstanceType<typeof ccxt.pro.bybit>;
const BTC = 'BTC/USDT:USDT';
const IDS: ExchangeId[] = ['binanceusdm', 'bybit'];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function client(sim: Simulator, id: ExchangeId): Pro {
  const options = sim.exchanges[id]?.ccxtOptions ?? {};
  return id === 'binanceusdm' ? new ccxt.pro.binanceusdm({ ...options }) : new ccxt.pro.bybit({ ...options });
}

async function rejects(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (err) {
    return err as Error;
  }
  assert.fail('expected a rejection');
}

/** Marks a watch promise handled (closing the client rejects it), while still returning it to await. */
function guarded<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

async function waitFor(check: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) assert.fail(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

const liquidationsOf = (ex: Pro, symbol: string, since: number) =>
  ((ex as unknown as { liquidations?: { symbol: string; timestamp: number }[] }).liquidations ?? []).filter(
    (l) => l.symbol === symbol && l.timestamp >= since,
  ).length;

const ended = (sim: Simulator, record: FaultRecord) => () => sim.control.faults().find((f) => f.id === record.id)?.endedAt !== null;

describe('simulator with real ccxt: REST', () => {
  const T = Date.UTC(2026, 0, 15, 12, 34, 56);
  let a: Simulator;
  let b: Simulator;
  let c: Simulator;
  before(async () => {
    [a, b, c] = await Promise.all([
      startSimulator({ seed: 7, now: () => T, liquidationsPerSecond: 0 }),
      startSimulator({ seed: 7, now: () => T, liquidationsPerSecond: 0 }),
      startSimulator({ seed: 8, now: () => T, liquidationsPerSecond: 0 }),
    ]);
  });
  after(async () => Promise.all([a.close(), b.close(), c.close()]));

  test('ccxtOptions point every ccxt URL at loopback', () => {
    for (const id of IDS) {
      const ex = client(a, id);
      const walk = (node: unknown, path: string): void => {
        if (typeof node === 'string') assert.match(node, /^(https?|wss?):\/\/127\.0\.0\.1:\d+/, `${id} ${path}`);
        else for (const [k, v] of Object.entries(node as object)) walk(v, `${path}.${k}`);
      };
      walk(ex.urls.api, 'urls.api');
    }
  });

  for (const id of IDS) {
    test(`${id}: loadMarkets, fetchOpenInterest, fetchFundingRate(s) are sane and deterministic per seed`, async () => {
      const read = async (sim: Simulator) => {
        const ex = client(sim, id);
        const markets = await ex.loadMarkets();
        const oi = await ex.fetchOpenInterest(BTC);
        const fr = await ex.fetchFundingRate('ETH/USDT:USDT');
        const all = await ex.fetchFundingRates();
        return { symbols: Object.keys(markets).sort(), oi, fr, all };
      };
      const [x, y, z] = await Promise.all([read(a), read(b), read(c)]);
      const perpetuals = ['BTC/USDT:USDT', 'DOGE/USDT:USDT', 'ETH/USDT:USDT', 'SOL/USDT:USDT', 'XRP/USDT:USDT'];
      // Bybit lists every category ccxt asks for by default: spot pairs and inverse perpetuals besides the linear ones.
      const expected = id === 'bybit' ? [...perpetuals, 'BTC/USD:BTC', 'ETH/USD:ETH', ...perpetuals.map((p) => p.split(':')[0]!)].sort() : perpetuals;
      assert.deepEqual(x.symbols, expected);
      const market = client(a, id);
      await market.loadMarkets();
      assert.equal(market.market(BTC).swap, true);
      assert.equal(market.market(BTC).linear, true);
      const amount = x.oi.openInterestAmount ?? 0;
      assert.ok(amount > 10_000 && amount < 300_000, `BTC open interest ${amount}`);
      assert.equal(x.oi.symbol, BTC);
      const rate = x.fr.fundingRate ?? NaN;
      assert.ok(Math.abs(rate) < 0.003, `funding rate ${rate}`);
      assert.ok((x.fr.markPrice ?? 0) > 2000 && (x.fr.markPrice ?? 0) < 5000, `ETH mark ${x.fr.markPrice}`);
      assert.equal((x.fr.fundingTimestamp ?? 0) % (8 * 3_600_000), 0);
      assert.ok((x.fr.fundingTimestamp ?? 0) > T);
      assert.equal(Object.keys(x.all).filter((symbol) => symbol.endsWith(':USDT')).length, 5);
      // same seed and clock: same numbers; another seed: different ones
      assert.equal(y.oi.openInterestAmount, x.oi.openInterestAmount);
      assert.equal(y.fr.fundingRate, x.fr.fundingRate);
      assert.notEqual(z.oi.openInterestAmount, x.oi.openInterestAmount);
      assert.notEqual(z.fr.fundingRate, x.fr.fundingRate);
    });
  }
});

describe('simulator with real ccxt: websockets and faults', () => {
  let sim: Simulator;
  /** The client's watch is live once the server holds its subscription (a fixed pause was not enough under load). */
  const subscribed = (id: ExchangeId, what: string) =>
    waitFor(() => (sim.control.state().exchanges[id]?.wsSubscriptions ?? 0) > 0, 5000, `${what}: subscription`);
  const clients: Pro[] = [];
  const make = async (id: ExchangeId) => {
    const ex = client(sim, id);
    clients.push(ex);
    await ex.loadMarkets();
    return ex;
  };
  before(async () => {
    sim = await startSimulator({ seed: 3, liquidationsPerSecond: { binanceusdm: 0, bybit: 0 } });
  });
  afterEach(async () => {
    for (const ex of clients.splice(0)) await ex.close().catch(() => undefined);
    await sim.control.clear();
    // The next test's subscription wait must not be met by a connection still closing.
    await waitFor(() => IDS.every((id) => sim.control.state().exchanges[id]?.wsConnections === 0), 5000, 'connections closed');
  });
  after(async () => sim.close());

  test('watchLiquidations receives the seeded stream on both exchanges', async () => {
    const busy = await startSimulator({ seed: 5, liquidationsPerSecond: 40, symbols: ['BTC'] });
    try {
      for (const id of IDS) {
        const ex = client(busy, id);
        try {
          const got = await ex.watchLiquidations(BTC);
          assert.ok(got.length >= 1);
          assert.equal(got[0]?.symbol, BTC);
          assert.ok((got[0]?.contracts ?? 0) > 0 && (got[0]?.price ?? 0) > 10_000);
          assert.match(String(got[0]?.side), /^(buy|sell)$/);
          if (id === 'binanceusdm') {
            const all = await (ex as InstanceType<typeof ccxt.pro.binanceusdm>).watchLiquidationsForSymbols([]);
            assert.ok(all.length >= 1);
          }
        } finally {
          await ex.close();
        }
      }
      const state = busy.control.state();
      assert.ok((state.exchanges.bybit?.stats.liquidationsDelivered ?? 0) >= 1);
    } finally {
      await busy.close();
    }
  });

  for (const id of IDS) {
    test(`${id}: liquidation_burst: Bybit delivers all N events in batches, Binance the latest per second`, async () => {
      const ex = await make(id);
      const pending = guarded(ex.watchLiquidations('ETH/USDT:USDT'));
      await subscribed(id, 'ws connection');
      const since = Date.now() - 1;
      const before = sim.control.state().exchanges[id]!.stats;
      const record = await sim.control.inject(id, { kind: 'liquidation_burst', count: 40, overMs: 200, symbols: ['ETH'] });
      await pending;
      await waitFor(ended(sim, record), 3000, 'burst end');
      // Every generated event is either delivered or still waiting for its window's end.
      await waitFor(() => sim.control.state().exchanges[id]!.liquidationsPending === 0, 5000, 'delivery windows closed');
      const stats = sim.control.state().exchanges[id]!.stats;
      const generated = stats.liquidationsGenerated - before.liquidationsGenerated;
      const delivered = stats.liquidationsDelivered - before.liquidationsDelivered;
      assert.equal(generated, 40);
      if (id === 'bybit') assert.equal(delivered, 40, 'Bybit batches every event');
      // 200 ms of events of one symbol fall in one 1000 ms window (more only if the machine stalls the burst): sampled.
      else assert.ok(delivered >= 1 && delivered < generated / 4, `Binance pushes the latest per symbol per second: ${delivered}`);
      assert.equal(sim.control.faults().find((f) => f.id === record.id)?.counters.eventsEmitted, 40);
      // Barrier for "nothing more than that arrived": one sentinel liquidation, generated after the burst was pushed,
      // reaches the client after everything pushed before it on the same socket. Once it is in, the burst's count is final.
      const sentinelFrom = Date.now();
      const sentinel = await sim.control.inject(id, { kind: 'liquidation_burst', count: 1, overMs: 0, symbols: ['ETH'] });
      await waitFor(ended(sim, sentinel), 3000, 'sentinel emitted');
      await waitFor(() => sim.control.state().exchanges[id]!.liquidationsPending === 0, 5000, 'sentinel window closed');
      assert.equal(sim.control.state().exchanges[id]!.stats.liquidationsDelivered - stats.liquidationsDelivered, 1, 'the sentinel alone was pushed');
      await waitFor(() => liquidationsOf(ex, 'ETH/USDT:USDT', sentinelFrom) === 1, 5000, 'the sentinel at the client');
      const burstReceived = liquidationsOf(ex, 'ETH/USDT:USDT', since) - liquidationsOf(ex, 'ETH/USDT:USDT', sentinelFrom);
      assert.equal(burstReceived, delivered, 'the client received exactly what was pushed');
    });

    test(`${id}: ws_disconnect rejects the pending watch; the next watch reconnects`, async () => {
      const ex = await make(id);
      const pending = guarded(ex.watchLiquidations(BTC));
      await subscribed(id, 'ws connection');
      const record = await sim.control.inject(id, { kind: 'ws_disconnect' });
      assert.ok((record.counters.connectionsClosed ?? 0) >= 1);
      assert.equal(record.endedBy, 'instant');
      const err = await rejects(pending);
      assert.ok(err instanceof ccxt.NetworkError, `${err.constructor.name}: ${err.message}`);
      const again = guarded(ex.watchLiquidations(BTC));
      await subscribed(id, 'reconnect');
      await sim.control.inject(id, { kind: 'liquidation_burst', count: 2, overMs: 0, symbols: ['BTC'] });
      assert.ok((await again).length >= 1);
    });

    test(`${id}: outage refuses connections, then reopens on the same port`, async () => {
      const ex = await make(id);
      const port = sim.exchanges[id]?.port;
      // Long enough that both refusals below happen inside it even on a loaded machine.
      const record = await sim.control.inject(id, { kind: 'outage', durationMs: 2500 });
      const err = await rejects(ex.fetchOpenInterest(BTC));
      assert.ok(err instanceof ccxt.NetworkError, `${err.constructor.name}: ${err.message}`);
      assert.ok(!(err instanceof ccxt.ExchangeNotAvailable) && !(err instanceof ccxt.DDoSProtection), err.constructor.name);
      assert.match(err.message, /ECONNREFUSED|fetch failed|refused/i);
      const wsErr = await rejects(ex.watchLiquidations(BTC));
      assert.ok(wsErr instanceof ccxt.NetworkError, `${wsErr.constructor.name}: ${wsErr.message}`);
      assert.equal(sim.control.state().exchanges[id]?.listening, false);
      await waitFor(ended(sim, record), 6000, 'outage end');
      assert.equal(sim.control.state().exchanges[id]?.port, port);
      assert.ok(((await ex.fetchOpenInterest(BTC)).openInterestAmount ?? 0) > 0);
    });

    test(`${id}: rate_limit: Binance 429 with Retry-After, Bybit HTTP 200 retCode 10006 without headers`, async () => {
      const ex = await make(id);
      const record = await sim.control.inject(id, { kind: 'rate_limit', retryAfterSec: 7, durationMs: 10_000 });
      const err = await rejects(ex.fetchFundingRate(BTC));
      // ccxt's binance maps 418/429 to DDoSProtection; bybit's retCode 10006 to RateLimitExceeded
      const expected = id === 'binanceusdm' ? ccxt.DDoSProtection : ccxt.RateLimitExceeded;
      assert.ok(err instanceof expected, `${err.constructor.name}: ${err.message}`);
      const raw = await fetch(`${sim.exchanges[id]?.restUrl}/${id === 'bybit' ? 'v5/market/time' : 'fapi/v1/time'}`);
      if (id === 'binanceusdm') {
        assert.equal(raw.status, 429);
        assert.equal(raw.headers.get('retry-after'), '7');
      } else {
        assert.equal(raw.status, 200);
        assert.equal(((await raw.json()) as { retCode: number }).retCode, 10006);
        assert.deepEqual([...raw.headers.keys()].filter((k) => /retry-after|x-bapi/i.test(k)), []);
      }
      await sim.control.clear(id);
      assert.equal(sim.control.faults().find((f) => f.id === record.id)?.endedBy, 'cleared');
      assert.equal(sim.control.faults().find((f) => f.id === record.id)?.counters.requestsRejected, 2);
      assert.ok(await ex.fetchFundingRate(BTC));
    });

    test(`${id}: server_errors fails the next N requests with 5xx (ExchangeNotAvailable)`, async () => {
      const ex = await make(id);
      const record = await sim.control.inject(id, { kind: 'server_errors', requests: 3 });
      for (let i = 0; i < 3; i++) {
        const err = await rejects(ex.fetchOpenInterest(BTC));
        assert.ok(err instanceof ccxt.ExchangeNotAvailable, `${err.constructor.name}: ${err.message}`);
      }
      assert.ok(await ex.fetchOpenInterest(BTC));
      const done = sim.control.faults().find((f) => f.id === record.id);
      assert.equal(done?.endedBy, 'exhausted');
      assert.equal(done?.counters.requestsFailed, 3);
    });

    test(`${id}: latency delays REST answers and websocket messages`, async () => {
      const ex = await make(id);
      await ex.fetchOpenInterest(BTC);
      const pending = guarded(ex.watchLiquidations('SOL/USDT:USDT'));
      await subscribed(id, 'ws connection');
      await sim.control.inject(id, { kind: 'latency', ms: 300, durationMs: 20_000 }); // cleared below
      const t0 = Date.now();
      await ex.fetchOpenInterest(BTC);
      assert.ok(Date.now() - t0 >= 290, `REST took ${Date.now() - t0} ms`);
      const t1 = Date.now();
      await sim.control.inject(id, { kind: 'liquidation_burst', count: 1, overMs: 0, symbols: ['SOL'] });
      await pending;
      assert.ok(Date.now() - t1 >= 290, `WS took ${Date.now() - t1} ms`);
      await sim.control.clear(id);
    });

    test(`${id}: stall keeps the socket open but silent; data resumes after`, async () => {
      const ex = await make(id);
      const pending = guarded(ex.watchLiquidations('XRP/USDT:USDT'));
      await subscribed(id, 'ws connection');
      const since = Date.now() - 1;
      // Longer than a delivery window (Binance 1 s, Bybit 0.5 s), with room for a loaded machine.
      const stall = await sim.control.inject(id, { kind: 'stall', durationMs: 4000 });
      await sim.control.inject(id, { kind: 'liquidation_burst', count: 3, overMs: 0, symbols: ['XRP'] });
      await waitFor(() => sim.control.state().exchanges[id]!.liquidationsPending === 0, 5000, 'the window to close');
      assert.equal(liquidationsOf(ex, 'XRP/USDT:USDT', since), 0);
      assert.ok((sim.control.state().exchanges[id]?.wsConnections ?? 0) >= 1, 'still connected');
      await waitFor(ended(sim, stall), 8000, 'stall end');
      // One message per window: Binance's latest order, or Bybit's batch of three.
      assert.equal(sim.control.faults().find((f) => f.id === stall.id)?.counters.messagesDropped, 1);
      const before = sim.control.state().exchanges[id]!.stats.liquidationsDelivered;
      await sim.control.inject(id, { kind: 'liquidation_burst', count: 2, overMs: 0, symbols: ['XRP'] });
      await pending;
      const expected = id === 'bybit' ? 2 : 1;
      await waitFor(() => liquidationsOf(ex, 'XRP/USDT:USDT', since) >= expected, 5000, 'liquidations after the stall');
      assert.equal(sim.control.state().exchanges[id]!.stats.liquidationsDelivered - before, expected);
      assert.equal(liquidationsOf(ex, 'XRP/USDT:USDT', since), expected);
    });

    test(`${id}: missing_window removes open interest and funding, nothing else`, async () => {
      const ex = await make(id);
      const record = await sim.control.inject(id, { kind: 'missing_window', durationMs: 5000, symbols: ['BTC'] });
      await rejects(ex.fetchOpenInterest(BTC)).then((err) => assert.ok(err instanceof ccxt.BaseError, err.message));
      await rejects(ex.fetchFundingRate(BTC)).then((err) => assert.ok(err instanceof ccxt.BaseError, err.message));
      assert.ok(((await ex.fetchOpenInterest('ETH/USDT:USDT')).openInterestAmount ?? 0) > 0, 'other symbols unaffected');
      assert.ok(await ex.loadMarkets(true));
      await sim.control.clear(id);
      assert.equal(sim.control.faults().find((f) => f.id === record.id)?.counters.requestsAffected, 2);
      const empty = await sim.control.inject(id, { kind: 'missing_window', mode: 'empty', data: ['funding'] });
      const fr = await ex.fetchFundingRate(BTC).catch((err: Error) => err);
      // empty mode: HTTP 200 without data; ccxt yields no rate (binance) or NullResponse (bybit)
      assert.ok(fr instanceof ccxt.NullResponse || (!(fr instanceof Error) && fr.fundingRate === undefined), String(fr));
      assert.ok(((await ex.fetchOpenInterest(BTC)).openInterestAmount ?? 0) > 0);
      await sim.control.clear(id);
      assert.equal(sim.control.faults().find((f) => f.id === empty.id)?.endedBy, 'cleared');
    });
  }

  test('HTTP control API: inject, list with start/end, clear, and validation errors', async () => {
    const post = (path: string, body: unknown) =>
      fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } });
    const made = await post('/control/bybit/fault', { kind: 'latency', ms: 10, duration: '20s' });
    assert.equal(made.status, 201);
    const record = (await made.json()) as FaultRecord;
    assert.equal(record.spec.kind, 'latency');
    assert.equal((record.spec as { durationMs?: number }).durationMs, 20_000);
    const bad = await post('/control/bybit/fault', { kind: 'latency', ms: -5 });
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /ms: .*got -5/);
    const badKind = await post('/control/binanceusdm/fault', { kind: 'meteor' });
    assert.match(((await badKind.json()) as { error: string }).error, /kind: .*got "meteor"/);
    assert.equal((await post('/control/kraken/fault', { kind: 'outage' })).status, 404);
    const cleared = await fetch(`${sim.url}/control/bybit/faults`, { method: 'DELETE' });
    assert.deepEqual(await cleared.json(), { cleared: 1 });
    const state = (await (await fetch(`${sim.url}/control/state`)).json()) as ReturnType<Simulator['control']['state']>;
    const listed = state.faults.find((f) => f.id === record.id);
    assert.ok(listed && listed.startedAt <= (listed.endedAt ?? 0));
    assert.equal(listed.endedBy, 'cleared');
    assert.equal(state.exchanges.binanceusdm?.listening, true);
  });
});

describe('scenarios', () => {
  test('every shipped scenario is valid', async () => {
    const files = (await readdir('packages/cli/scenarios')).filter((f) => f.endsWith('.yaml'));
    assert.ok(files.length >= 7);
    for (const file of files) {
      const scenario = await loadScenarioFile(`packages/cli/scenarios/${file}`);
      assert.equal(`${scenario.name}.yaml`, file);
    }
    const demo = await loadScenarioFile('packages/cli/scenarios/demo.yaml');
    assert.equal(demo.loopEveryMs, 30 * 60_000);
    assert.ok(new Set(demo.steps.map((s) => s.fault.kind)).size >= 7);
  });

  test('errors name the field and the value', () => {
    const bad = {
      steps: [
        { at: '10x', exchange: 'binanceusdm', fault: 'ws_disconnect' },
        { at: '1m', exchange: 'kraken', fault: 'outage' },
        { at: '2m', exchange: 'bybit', fault: 'latency', ms: 'slow' },
        { at: '3m', exchange: 'bybit', fault: 'rate_limit', retryAfter: 5 },
      ],
    };
    try {
      parseScenario(bad, 'bad.yaml');
      assert.fail('expected an error');
    } catch (err) {
      assert.ok(isTradewatchError(err), String(err));
      assert.match(err.message, /steps\[0\]\.at: invalid duration "10x"/);
      assert.match(err.message, /steps\[1\]\.exchange: .*got "kraken"/);
      assert.match(err.message, /steps\[2\]\.ms: .*got "slow"/);
      assert.match(err.message, /steps\[3\]\.retryAfter: unknown field, got 5/);
    }
  });

  test('a scenario runs its timeline against the simulator', async () => {
    const scenario = parseScenario({
      name: 'quick',
      loopEvery: '400ms',
      steps: [
        { at: '50ms', exchange: 'all', fault: 'latency', ms: 1, duration: '100ms' },
        { at: '150ms', exchange: 'bybit', fault: 'ws_disconnect' },
      ],
    });
    const before = Date.now();
    const sim = await startSimulator({ scenario, liquidationsPerSecond: 0 });
    try {
      await waitFor(() => sim.control.faults().length >= 6, 60_000, 'two cycles');
      const faults = sim.control.faults();
      assert.deepEqual(
        faults.slice(0, 3).map((f) => [f.exchange, f.kind, f.source]),
        [
          ['binanceusdm', 'latency', 'scenario'],
          ['bybit', 'latency', 'scenario'],
          ['bybit', 'ws_disconnect', 'scenario'],
        ],
      );
      // Steps are due at fixed offsets from the start, and a timer never fires early (a late first step on a busy
      // machine must not make the second cycle look early): the second cycle's first step is due at 400 + 50 ms.
      const secondCycle = faults[3]?.startedAt ?? 0;
      assert.ok(secondCycle - before >= 450 - 5, `the loop restarts after loopEvery: ${secondCycle - before} ms after the start`);
      assert.equal(sim.control.state().scenario?.name, 'quick');
    } finally {
      await sim.close();
    }
  });
});
