/**
 * Scenario: a liquidation burst on both exchanges (the background stream off, so every event is the burst's).
 * Bybit pushes every event (in 500 ms batches); Binance pushes only the latest liquidation per symbol per second,
 * so what reaches the daemon is a sample. Stored: exactly the delivered events in tw_liquidations (all of Bybit's,
 * Binance's sampled count as the simulator counted it), in one minute bucket (raw and in the tw_liquidations_1m
 * rollup), with exchange times, and the same count as messages in tw_connection_samples.
 * Then one long and one short liquidation on each exchange are stored with the same side from both.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDaemon, daemonConfig } from '../packages/cli/src/daemon/index.js';
import { createMonitor } from '../packages/sdk/src/sdk/index.js';
import { startSimulator } from '../packages/cli/src/simulator/index.js';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { walApplied } from './helpers/rows.js';
import { until } from './helpers/until.js';

const server = await useQuestDb(undefined, { schema: true });
const db = new SqlClient({ url: server.httpUrl });
await applySchema(db);

const BURST = { binanceusdm: 300, bybit: 200 } as const;

test('a liquidation burst is stored event for event, as events per minute', async (t) => {
  const service = `scn-burst-${process.pid}`;
  const simulator = await startSimulator({ port: 0, seed: 11, exchanges: ['binanceusdm', 'bybit'], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 0 });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: [
        { id: 'binanceusdm', symbols: ['BTC/USDT:USDT', 'ETH/USDT:USDT'], rateLimitMs: 1 },
        { id: 'bybit', symbols: ['BTC/USDT:USDT', 'ETH/USDT:USDT'], rateLimitMs: 1 },
      ],
      openInterestIntervalMs: 5000,
      fundingIntervalMs: 5000,
    }),
    monitor,
    ccxtOverrides: { binanceusdm: simulator.exchanges.binanceusdm!.ccxtOptions, bybit: simulator.exchanges.bybit!.ccxtOptions },
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await until('both streams to connect', async () =>
    daemon.status().exchanges.every((e) => e.liquidations?.state === 'connected') ? true : undefined,
  );
  // Subscribed on the exchanges' side too, so that the burst's first events have somewhere to go.
  await until('both subscriptions to reach the simulator', async () =>
    Object.values(simulator.control.state().exchanges).every((e) => e.wsSubscriptions > 0) ? true : undefined,
  );

  // Keep the 1.5 s burst inside one minute, so that the expected events per minute are the whole burst.
  const intoMinute = Date.now() % 60_000;
  if (intoMinute > 55_000) await sleep(60_000 - intoMinute + 200);
  const minute = Math.floor(Date.now() / 60_000) * 60_000;
  const faults = await Promise.all(
    (['binanceusdm', 'bybit'] as const).map((id) => simulator.control.inject(id, { kind: 'liquidation_burst', count: BURST[id], overMs: 1500, symbols: ['BTC', 'ETH'] })),
  );
  for (const fault of faults) {
    await until('the burst to be emitted', async () => (simulator.control.faults().find((f) => f.id === fault.id)!.endedAt !== null ? true : undefined));
    assert.equal(simulator.control.faults().find((f) => f.id === fault.id)!.counters.eventsEmitted, BURST[fault.exchange]);
  }
  await until('every delivery window to close', async () =>
    Object.values(simulator.control.state().exchanges).every((e) => e.liquidationsPending === 0) ? true : undefined,
  );
  const stats = simulator.control.state().exchanges;
  const delivered = { binanceusdm: stats.binanceusdm!.stats.liquidationsDelivered, bybit: stats.bybit!.stats.liquidationsDelivered };
  assert.equal(stats.binanceusdm!.stats.liquidationsGenerated, BURST.binanceusdm);
  assert.equal(delivered.bybit, BURST.bybit, 'Bybit delivers every event');
  // 1.5 s of events on 2 symbols: the latest per symbol per 1000 ms window, a handful out of 300.
  assert.ok(delivered.binanceusdm >= 2 && delivered.binanceusdm <= 8, `Binance sampled ${delivered.binanceusdm} of ${BURST.binanceusdm}`);
  t.diagnostic(`Binance delivered ${delivered.binanceusdm} of ${BURST.binanceusdm} generated liquidations`);
  await until('the delivered liquidations to be received', async () =>
    daemon.status().exchanges.every((e) => e.liquidations?.liquidations === delivered[e.id as keyof typeof delivered]) ? true : undefined,
  );
  monitor.sample();
  await monitor.flush();
  // Barrier for the exact counts below: every row the flush committed is applied, so an extra one would show.
  await walApplied(db, ['tw_liquidations', 'tw_connection_samples']);

  for (const exchange of ['binanceusdm', 'bybit'] as const) {
    const expected = delivered[exchange];
    const where = `service = '${service}' AND exchange = '${exchange}'`;
    // Events per minute from the raw table: one bucket holding the whole burst.
    const perMinute = await until(`${exchange} liquidations`, async () => {
      const rows = await db.rows<{ ts: string; events: number }>(`SELECT ts, count() events FROM tw_liquidations WHERE ${where} SAMPLE BY 1m ALIGN TO CALENDAR`);
      return rows.reduce((n, r) => n + Number(r.events), 0) === expected ? rows : undefined;
    });
    assert.deepEqual(perMinute.map((r) => [Date.parse(r.ts), Number(r.events)]), [[minute, expected]]);

    // Every event carries side, price, amount and the exchange's time; receive latency is small on loopback.
    const [detail] = await db.rows<{ n: number; sides: number; symbols: number; lat_max: number; no_exchange_ts: number; bad: number; bad_value: number }>(
      `SELECT count() n, count_distinct(side) sides, count_distinct(symbol) symbols, max(datediff('T', exchange_ts, ts)) lat_max,
              sum(CASE WHEN exchange_ts IS NULL THEN 1 ELSE 0 END) no_exchange_ts,
              sum(CASE WHEN price > 0 AND amount > 0 THEN 0 ELSE 1 END) bad,
              sum(CASE WHEN abs(value_usd - price * amount) <= 1e-6 * price * amount THEN 0 ELSE 1 END) bad_value
         FROM tw_liquidations WHERE ${where}`,
    );
    assert.equal(Number(detail!.n), expected);
    // Bybit's 200 events have both sides; Binance's few samples may all have one.
    if (exchange === 'bybit') assert.equal(Number(detail!.sides), 2);
    assert.equal(Number(detail!.symbols), 2);
    assert.equal(Number(detail!.no_exchange_ts), 0);
    assert.equal(Number(detail!.bad), 0);
    assert.equal(Number(detail!.bad_value), 0, 'value_usd is the notional, price × amount (USDT-margined, contract size 1)');
    // Received at the end of the delivery window (≤ 1 s after the event), plus loopback.
    assert.ok(Number(detail!.lat_max) < 5000, `latency ${detail!.lat_max} ms`);

    // The same events per minute in the rollup Grafana reads for long ranges (refreshed asynchronously).
    await until(`${exchange} in tw_liquidations_1m`, async () => {
      const rows = await db.rows<{ events: number }>(
        `SELECT sum(events) events FROM tw_liquidations_1m WHERE exchange = '${exchange}' AND ts = '${new Date(minute).toISOString()}'`,
      );
      return Number(rows[0]?.events) === expected ? true : undefined;
    });

    // Each liquidation was one websocket message for the connection samples.
    await until(`${exchange} messages in tw_connection_samples`, async () => {
      const [messages] = await db.rows<{ n: number }>(
        `SELECT sum(messages) n FROM tw_connection_samples WHERE ${where} AND channel = 'liquidations'`,
      );
      return Number(messages?.n) === expected ? true : undefined;
    });
  }
});

test('one long and one short liquidation are stored with the same side from both exchanges', async (t) => {
  const service = `scn-side-${process.pid}`;
  const simulator = await startSimulator({ port: 0, seed: 12, exchanges: ['binanceusdm', 'bybit'], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 0 });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const symbols = ['BTC/USDT:USDT', 'ETH/USDT:USDT'];
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: [
        { id: 'binanceusdm', symbols, rateLimitMs: 1 },
        { id: 'bybit', symbols, rateLimitMs: 1 },
      ],
      openInterestIntervalMs: 5000,
      fundingIntervalMs: 5000,
    }),
    monitor,
    ccxtOverrides: { binanceusdm: simulator.exchanges.binanceusdm!.ccxtOptions, bybit: simulator.exchanges.bybit!.ccxtOptions },
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await until('both streams to subscribe', async () =>
    Object.values(simulator.control.state().exchanges).every((e) => e.wsSubscriptions > 0) ? true : undefined,
  );
  // The simulator's side is the liquidation order's: `sell` = a long position liquidated. Binance sends that side,
  // Bybit the position's (Buy for the long), so only a daemon that inverts Bybit's stores one meaning.
  for (const exchange of ['binanceusdm', 'bybit'] as const) {
    await simulator.control.inject(exchange, { kind: 'liquidation_burst', count: 1, overMs: 0, symbols: ['BTC'], side: 'sell' });
    await simulator.control.inject(exchange, { kind: 'liquidation_burst', count: 1, overMs: 0, symbols: ['ETH'], side: 'buy' });
  }
  await monitor.flush();
  const rows = await until('four liquidations', async () => {
    const found = await db.rows<{ exchange: string; symbol: string; side: string }>(
      `SELECT exchange, symbol, side FROM tw_liquidations WHERE service = '${service}' ORDER BY exchange, symbol`,
    );
    return found.length >= 4 ? found : undefined;
  });
  assert.deepEqual(
    rows.map((r) => [r.exchange, r.symbol, r.side]),
    [
      ['binanceusdm', 'BTC/USDT:USDT', 'sell'],
      ['binanceusdm', 'ETH/USDT:USDT', 'buy'],
      ['bybit', 'BTC/USDT:USDT', 'sell'],
      ['bybit', 'ETH/USDT:USDT', 'buy'],
    ],
    'a long liquidated is a sell on both exchanges, a short a buy',
  );
});
