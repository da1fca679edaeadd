/**
 * Scenario: the exchanges answer without data for some symbols for a while (Binance: its error answer for BTC
 * open interest; Bybit: HTTP 200 with an empty list for ETH funding). On virtual time, the faults start just before
 * window k and end just before window k+3: windows k, k+1 and k+2 miss (their retries included), k+3 gets data.
 * Stored: exactly one gap row per affected exchange/dataset/symbol, from k to k+3 (3 windows), and none for the
 * others, whose windows all got data meanwhile. On Bybit, funding and open interest both come from the ticker
 * endpoint (the live open interest: see src/daemon/open-interest.ts), so a ticker without data gaps both series.
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

const WINDOW = 30_000;
const inFlight = (daemon: Daemon) => () => daemon.status().exchanges.reduce((n, e) => n + e.requestsInFlight, 0);
const iso = (ms: number) => new Date(ms).toISOString();

test('a missing window gives a gap row with its duration and symbols', async (t) => {
  const service = `scn-gap-${process.pid}`;
  const t0 = (Math.floor(Date.now() / 3_600_000) + 2) * 3_600_000;
  const clock = new VirtualClock(t0 - 5000);
  const simulator = await startSimulator({ port: 0, seed: 3, exchanges: ['binanceusdm', 'bybit'], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 0, now: () => clock.now() });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const symbols = ['BTC/USDT:USDT', 'ETH/USDT:USDT'];
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: [
        { id: 'binanceusdm', symbols, rateLimitMs: 1 },
        { id: 'bybit', symbols, rateLimitMs: 1 },
      ],
      openInterestIntervalMs: WINDOW,
      fundingIntervalMs: WINDOW,
      liquidations: false,
      storageSampleMs: 500,
    }),
    monitor,
    clock,
    questdbUrl: server.httpUrl,
    ccxtOverrides: { binanceusdm: simulator.exchanges.binanceusdm!.ccxtOptions, bybit: simulator.exchanges.bybit!.ccxtOptions },
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  const busy = inFlight(daemon);

  const k = t0 + 3 * WINDOW; // the first window inside the fault
  await drive(clock, k - 1, busy);
  await simulator.control.inject('binanceusdm', { kind: 'missing_window', mode: 'error', data: ['open_interest'], symbols: ['BTC'] });
  await simulator.control.inject('bybit', { kind: 'missing_window', mode: 'empty', data: ['funding'], symbols: ['ETH'] });
  await drive(clock, k + 3 * WINDOW - 1, busy);
  await simulator.control.clear();
  await drive(clock, k + 5 * WINDOW, busy);
  await monitor.flush();

  type Gap = { exchange: string; dataset: string; symbol: string; gap_start: string; gap_end: string; duration_s: number; reason: string };
  const gaps = await until('three gap rows', async () => {
    const rows = await db.rows<Gap>(
      `SELECT exchange, dataset, symbol, gap_start, gap_end, duration_s, reason FROM tw_data_gaps WHERE service = '${service}' ORDER BY exchange, dataset`,
    );
    return rows.length >= 3 ? rows : undefined;
  });
  assert.deepEqual(
    gaps.map((g) => [g.exchange, g.dataset, g.symbol, Date.parse(g.gap_start), Date.parse(g.gap_end), g.duration_s]),
    [
      ['binanceusdm', 'open_interest', 'BTC/USDT:USDT', k, k + 3 * WINDOW, 90],
      ['bybit', 'funding_rate', 'ETH/USDT:USDT', k, k + 3 * WINDOW, 90],
      ['bybit', 'open_interest', 'ETH/USDT:USDT', k, k + 3 * WINDOW, 90],
    ],
  );
  for (const gap of gaps) assert.match(gap.reason, /^3 missed window\(s\); last: error/);
  assert.match(gaps[1]!.reason, /NullResponse|EmptyResponse/, gaps[1]!.reason);
  const daemonStatus = daemon.status().exchanges;
  assert.deepEqual(daemonStatus.map((e) => [e.id, e.schedules.open_interest!.missedWindows + e.schedules.funding_rate!.missedWindows]), [
    ['binanceusdm', 3],
    ['bybit', 6],
  ]);

  // The failed fetches are in tw_fetches as errors, only for the affected series and only inside the fault.
  const faultRange = `ts >= '${iso(k)}' AND ts < '${iso(k + 3 * WINDOW)}'`;
  const failed = await until('the failed fetches of both series', async () => {
    const rows = await db.rows<{ exchange: string; dataset: string; symbol: string; n: number; first: string; last: string }>(
      `SELECT exchange, dataset, symbol, count() n, min(ts) first, max(ts) last FROM tw_fetches
        WHERE service = '${service}' AND status <> 'ok' GROUP BY exchange, dataset, symbol ORDER BY exchange, dataset`,
    );
    return rows.length >= 3 ? rows : undefined;
  });
  assert.deepEqual(failed.map((r) => [r.exchange, r.dataset, r.symbol]), gaps.map((g) => [g.exchange, g.dataset, g.symbol]));
  for (const r of failed) {
    assert.ok(Date.parse(r.first) >= k && Date.parse(r.last) < k + 3 * WINDOW, `${r.exchange} failures ${r.first}..${r.last} inside the fault`);
    assert.ok(Number(r.n) >= 3, 'each missed window was retried');
  }
  // Every other series got each of the three windows: 3 ok fetches each.
  const okDuring = await db.rows<{ exchange: string; dataset: string; symbol: string; n: number }>(
    `SELECT exchange, dataset, symbol, count() n FROM tw_fetches WHERE service = '${service}' AND status = 'ok' AND ${faultRange}
      GROUP BY exchange, dataset, symbol ORDER BY exchange, dataset, symbol`,
  );
  assert.deepEqual(
    okDuring.map((r) => [r.exchange, r.dataset, r.symbol, Number(r.n)]),
    [
      ['binanceusdm', 'funding_rate', 'BTC/USDT:USDT', 3],
      ['binanceusdm', 'funding_rate', 'ETH/USDT:USDT', 3],
      ['binanceusdm', 'open_interest', 'ETH/USDT:USDT', 3],
      ['bybit', 'funding_rate', 'BTC/USDT:USDT', 3],
      ['bybit', 'open_interest', 'BTC/USDT:USDT', 3],
    ],
  );

  // Meanwhile the daemon recorded the size of its market-data tables (on the wall clock), as QuestDB reports them
  // (liquidations are off here: that table is empty, 0 bytes).
  const sizes = await until('storage sizes of the three market tables', async () => {
    const rows = await db.rows<{ store: string; bytes: number; files: number }>(
      `SELECT store, bytes, files FROM tw_storage_size WHERE service = '${service}' LATEST ON ts PARTITION BY store ORDER BY store`,
    );
    return rows.length === 3 && Number(rows.find((r) => r.store === 'tw_open_interest')?.bytes) > 0 ? rows : undefined;
  });
  assert.deepEqual(sizes.map((r) => r.store), ['tw_funding_rates', 'tw_liquidations', 'tw_open_interest']);
  const [oi] = await db.rows<{ partitions: number }>(`SELECT count() partitions FROM table_partitions('tw_open_interest')`);
  assert.equal(Number(sizes[2]!.files), Number(oi!.partitions));
});
