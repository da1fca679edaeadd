/**
 * Scenario: one hour of the daemon's schedule at the real cadence (open interest every 30 s, funding every 60 s),
 * on virtual time. The daemon and the simulator share a virtual clock that the test advances window by window,
 * waiting for each window's requests (real ccxt over loopback) before time moves on; so the counts below are exact
 * however loaded the machine is. Stored:
 * - fetches: windows × symbols per exchange, dataset and symbol, all ok, no gap;
 * - open-interest rows: one per window per symbol on both exchanges (Bybit's live ticker value, stamped with the
 *   answer's time, not ccxt's hourly bucket that would collapse the hour into one stale row).
 * A shorter real-clock run checks the same wiring on the wall clock.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDaemon, daemonConfig, type Daemon } from '../packages/cli/src/daemon/index.js';
import { createMonitor } from '../packages/sdk/src/sdk/index.js';
import { startSimulator } from '../packages/cli/src/simulator/index.js';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { until } from './helpers/until.js';
import { drive } from './helpers/drive.js';
import { VirtualClock } from './helpers/virtual-clock.js';

const server = await useQuestDb(undefined, { schema: true });
const db = new SqlClient({ url: server.httpUrl });
await applySchema(db);

const OI_MS = 30_000;
const FUNDING_MS = 60_000;
const HOUR_MS = 3_600_000;
const SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT'];
const EXCHANGES = ['binanceusdm', 'bybit'] as const;

const inFlight = (daemon: Daemon) => () => daemon.status().exchanges.reduce((n, e) => n + e.requestsInFlight, 0);
const iso = (ms: number) => new Date(ms).toISOString();

test('one hour of schedule (virtual time) gives exactly the expected fetch counts and open-interest rows', async (t) => {
  const service = `scn-hour-${process.pid}`;
  // The virtual hour: the next full hour but one (rows in the near future, far from any TTL).
  const hourStart = (Math.floor(Date.now() / HOUR_MS) + 2) * HOUR_MS;
  const hourEnd = hourStart + HOUR_MS;
  const clock = new VirtualClock(hourStart - 10_000);
  const simulator = await startSimulator({ port: 0, seed: 2, exchanges: [...EXCHANGES], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 0, now: () => clock.now() });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 250 }, sampleIntervalMs: 0 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: EXCHANGES.map((id) => ({ id, symbols: SYMBOLS, rateLimitMs: 1 })),
      openInterestIntervalMs: OI_MS,
      fundingIntervalMs: FUNDING_MS,
      liquidations: false,
    }),
    monitor,
    clock,
    ccxtOverrides: Object.fromEntries(EXCHANGES.map((id) => [id, simulator.exchanges[id]!.ccxtOptions])),
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await drive(clock, hourEnd + 1000, inFlight(daemon));
  await daemon.stop();
  await monitor.flush();

  const range = `ts >= '${iso(hourStart)}' AND ts < '${iso(hourEnd)}'`;
  const expected = new Map<string, number>();
  for (const exchange of EXCHANGES) {
    for (const symbol of SYMBOLS) {
      expected.set(`${exchange} open_interest ${symbol} ok`, HOUR_MS / OI_MS); // 120
      expected.set(`${exchange} funding_rate ${symbol} ok`, HOUR_MS / FUNDING_MS); // 60
    }
  }
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  type Row = { exchange: string; dataset: string; symbol: string; status: string; n: number };
  const rows = await until('the hour of fetches', async () => {
    const found = await db.rows<Row>(
      `SELECT exchange, dataset, symbol, status, count() n FROM tw_fetches WHERE service = '${service}' AND ${range} GROUP BY exchange, dataset, symbol, status`,
    );
    return found.reduce((n, r) => n + Number(r.n), 0) >= total ? found : undefined;
  }, 60_000);
  assert.deepEqual(
    Object.fromEntries(rows.map((r) => [`${r.exchange} ${r.dataset} ${r.symbol} ${r.status}`, Number(r.n)]).sort()),
    Object.fromEntries([...expected].sort()),
  );
  const [gaps] = await db.rows<{ n: number }>(`SELECT count() n FROM tw_data_gaps WHERE service = '${service}'`);
  assert.equal(Number(gaps!.n), 0, 'no window was missed');

  // Open interest: one row per window and symbol on each exchange, stamped inside its window.
  const oi = await until('the hour of open-interest rows', async () => {
    const found = await db.rows<{ exchange: string; symbol: string; n: number; windows: number }>(
      `SELECT exchange, symbol, count() n, count_distinct(timestamp_floor('30s', ts)) windows FROM tw_open_interest
        WHERE service = '${service}' AND ${range} GROUP BY exchange, symbol ORDER BY exchange, symbol`,
    );
    return found.reduce((n, r) => n + Number(r.n), 0) >= EXCHANGES.length * SYMBOLS.length * 120 ? found : undefined;
  }, 60_000);
  assert.deepEqual(
    oi.map((r) => [r.exchange, r.symbol, Number(r.n), Number(r.windows)]),
    EXCHANGES.flatMap((e) => SYMBOLS.map((s) => [e, s, 120, 120])),
    'open-interest rows per hour = the configured cadence, on both exchanges',
  );
  const [funding] = await db.rows<{ n: number }>(`SELECT count() n FROM tw_funding_rates WHERE service = '${service}' AND ${range}`);
  assert.ok(Number(funding!.n) > 0);
});

test('the schedule on the wall clock: windows of 400 ms fetch every symbol and store open interest per window', async (t) => {
  const service = `scn-wall-${process.pid}`;
  const WINDOW = 400;
  const simulator = await startSimulator({ port: 0, seed: 4, exchanges: [...EXCHANGES], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 0 });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: EXCHANGES.map((id) => ({ id, symbols: SYMBOLS, rateLimitMs: 1 })),
      openInterestIntervalMs: WINDOW,
      fundingIntervalMs: WINDOW * 2,
      liquidations: false,
    }),
    monitor,
    ccxtOverrides: Object.fromEntries(EXCHANGES.map((id) => [id, simulator.exchanges[id]!.ccxtOptions])),
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  // Wall-clock timing is not asserted (a loaded machine may miss a window): only that the wiring works end to end.
  await until('ten ok windows per exchange', async () => (daemon.status().exchanges.every((e) => e.fetches.ok >= 20) ? true : undefined), 60_000);
  await daemon.stop();
  await monitor.flush();
  // Every ok open-interest fetch stored its own row: none collapsed into another by the (ts, exchange, symbol) dedup
  // (ccxt's hourly Bybit bucket would store one row for all of them).
  type Count = { exchange: string; symbol: string; n: number };
  const key = (rows: Count[]) => Object.fromEntries(rows.map((r) => [`${r.exchange} ${r.symbol}`, Number(r.n)]));
  let fetched: Record<string, number> = {};
  let stored: Record<string, number> = {};
  await until('one open-interest row per ok fetch', async () => {
    fetched = key(await db.rows<Count>(`SELECT exchange, symbol, count() n FROM tw_fetches WHERE service = '${service}' AND dataset = 'open_interest' AND status = 'ok' GROUP BY exchange, symbol`));
    stored = key(await db.rows<Count>(`SELECT exchange, symbol, count() n FROM tw_open_interest WHERE service = '${service}' GROUP BY exchange, symbol`));
    return Object.keys(fetched).length === 4 && JSON.stringify(Object.entries(fetched).sort()) === JSON.stringify(Object.entries(stored).sort()) ? true : undefined;
  }, 30_000).catch(() => assert.deepEqual(stored, fetched, 'open-interest rows per ok fetch'));
  assert.deepEqual(stored, fetched);
  for (const n of Object.values(stored)) assert.ok(n >= 5, JSON.stringify(stored));
});

test('funding on 1 h, 4 h and 8 h intervals is stored with each symbol its own next funding time', async (t) => {
  const service = `scn-funding-${process.pid}`;
  const start = (Math.floor(Date.now() / HOUR_MS) + 3) * HOUR_MS + 10 * 60_000; // hh:10, three hours ahead
  const clock = new VirtualClock(start);
  const symbols = ['BTC/USDT:USDT', 'XRP/USDT:USDT', 'DOGE/USDT:USDT'];
  const simulator = await startSimulator({ port: 0, seed: 6, exchanges: [...EXCHANGES], symbols: ['BTC', 'XRP', 'DOGE'], liquidationsPerSecond: 0, now: () => clock.now() });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: EXCHANGES.map((id) => ({ id, symbols, rateLimitMs: 1 })),
      openInterestIntervalMs: HOUR_MS,
      fundingIntervalMs: FUNDING_MS,
      liquidations: false,
    }),
    monitor,
    clock,
    ccxtOverrides: Object.fromEntries(EXCHANGES.map((id) => [id, simulator.exchanges[id]!.ccxtOptions])),
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await drive(clock, start + 3 * FUNDING_MS, inFlight(daemon));
  await daemon.stop();
  await monitor.flush();
  const rows = await until('funding rows of every symbol', async () => {
    const found = await db.rows<{ exchange: string; symbol: string; next: string }>(
      `SELECT exchange, symbol, max(next_funding_ts) next FROM tw_funding_rates WHERE service = '${service}' GROUP BY exchange, symbol ORDER BY exchange, symbol`,
    );
    return found.length === 6 ? found : undefined;
  });
  const hour = (Math.floor(start / HOUR_MS) + 1) * HOUR_MS;
  const next = (hours: number) => (Math.floor(start / (hours * HOUR_MS)) + 1) * hours * HOUR_MS;
  assert.deepEqual(
    rows.map((r) => [r.exchange, r.symbol, Date.parse(r.next)]),
    EXCHANGES.flatMap((e) => [
      [e, 'BTC/USDT:USDT', next(8)],
      [e, 'DOGE/USDT:USDT', hour],
      [e, 'XRP/USDT:USDT', next(4)],
    ]),
  );
});
