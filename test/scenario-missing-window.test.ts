/**
 * Scenario: the exchanges answer without data for some symbols for a while (Binance: its error answer for BTC
 * open interest; Bybit: HTTP 200 with an empty list for ETH funding). Stored: one gap row per affected
 * exchange/dataset/symbol, window-aligned, whose duration covers the missed windows, and none for the others.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDaemon, daemonConfig } from '../packages/cli/src/daemon/index.js';
import { createMonitor } from '../packages/sdk/src/sdk/index.js';
import { startSimulator } from '../packages/cli/src/simulator/index.js';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { until } from './helpers/until.js';

const server = await useQuestDb();
const db = new SqlClient({ url: server.httpUrl });
await applySchema(db);

// Windows long enough that a loaded 2-core machine does not miss one by itself; the fault spans 3.2 windows.
const WINDOW = 1000;
const FAULT_MS = 3200;

test('a missing window gives a gap row with its duration and symbols', async (t) => {
  const service = `scn-gap-${process.pid}`;
  const simulator = await startSimulator({ port: 0, seed: 3, exchanges: ['binanceusdm', 'bybit'], symbols: ['BTC', 'ETH'] });
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
    questdbUrl: server.httpUrl,
    ccxtOverrides: { binanceusdm: simulator.exchanges.binanceusdm!.ccxtOptions, bybit: simulator.exchanges.bybit!.ccxtOptions },
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await until('data to flow', async () => (daemon.status().exchanges.every((e) => e.fetches.ok >= 8) ? true : undefined), 30_000);

  const faults = await Promise.all([
    simulator.control.inject('binanceusdm', { kind: 'missing_window', mode: 'error', data: ['open_interest'], symbols: ['BTC'], durationMs: FAULT_MS }),
    simulator.control.inject('bybit', { kind: 'missing_window', mode: 'empty', data: ['funding'], symbols: ['ETH'], durationMs: FAULT_MS }),
  ]);
  const faultStart = Math.min(...faults.map((f) => f.startedAt));
  await sleep(FAULT_MS + 3 * WINDOW);
  await monitor.flush();

  type Gap = { exchange: string; dataset: string; symbol: string; gap_start: string; gap_end: string; duration_s: number; reason: string };
  const gaps = await until('two gap rows', async () => {
    const rows = await db.rows<Gap>(
      `SELECT exchange, dataset, symbol, gap_start, gap_end, duration_s, reason FROM tw_data_gaps
        WHERE service = '${service}' AND gap_end > '${new Date(faultStart).toISOString()}' ORDER BY exchange`,
    );
    return rows.length >= 2 ? rows : undefined;
  });
  assert.deepEqual(
    gaps.map((g) => [g.exchange, g.dataset, g.symbol]),
    [
      ['binanceusdm', 'open_interest', 'BTC/USDT:USDT'],
      ['bybit', 'funding_rate', 'ETH/USDT:USDT'],
    ],
  );
  for (const gap of gaps) {
    const start = Date.parse(gap.gap_start);
    const end = Date.parse(gap.gap_end);
    // Windows are wall-clock aligned: the gap runs from the first missed window to the first good one.
    assert.equal(start % WINDOW, 0, gap.gap_start);
    assert.equal(end % WINDOW, 0, gap.gap_end);
    assert.equal(gap.duration_s, (end - start) / 1000);
    // A window is fetched at its start and retried within it: the first window starting inside the fault is the
    // first missed one; the gap ends at the first window that got data (one starting at most a window before the
    // fault ended can still succeed on a retry).
    const fault = simulator.control.faults().find((f) => f.exchange === gap.exchange && f.kind === 'missing_window')!;
    assert.ok(fault.endedAt !== null, 'the fault has ended');
    assert.ok(start > fault.startedAt && start <= fault.startedAt + WINDOW, `start ${gap.gap_start}, fault ${fault.startedIso}`);
    assert.ok(end > fault.endedAt! - WINDOW && end <= fault.endedAt! + WINDOW, `end ${gap.gap_end}, fault ended ${fault.endedIso}`);
    // Windows starting inside the fault miss unless a retry after the fault's end still fits in them: 2 to 4 here.
    assert.ok([2, 3, 4].map((n) => (n * WINDOW) / 1000).includes(gap.duration_s), `duration ${gap.duration_s}: 2 to 4 windows of a ${FAULT_MS / 1000} s fault`);
    assert.match(gap.reason, /missed window/);
  }
  assert.match(gaps[0]!.reason, /error/);
  assert.match(gaps[1]!.reason, /NullResponse|EmptyResponse/, gaps[1]!.reason);

  // The failed fetches are in tw_fetches as errors, only for the affected series; the rest kept flowing. That table
  // applies its WAL on its own schedule, so it is awaited like the gaps were.
  const failed = await until('the failed fetches of both series', async () => {
    const rows = await db.rows<{ exchange: string; dataset: string; symbol: string; n: number }>(
      `SELECT exchange, dataset, symbol, count() n FROM tw_fetches
        WHERE service = '${service}' AND status <> 'ok' AND ts >= '${new Date(faultStart).toISOString()}' GROUP BY exchange, dataset, symbol ORDER BY exchange`,
    );
    return rows.length >= 2 ? rows : undefined;
  });
  assert.deepEqual(failed.map((r) => [r.exchange, r.dataset, r.symbol]), gaps.map((g) => [g.exchange, g.dataset, g.symbol]));
  const [okDuring] = await db.rows<{ n: number }>(
    `SELECT count() n FROM tw_fetches WHERE service = '${service}' AND status = 'ok' AND symbol = 'ETH/USDT:USDT' AND exchange = 'binanceusdm'
        AND ts >= '${new Date(faultStart + WINDOW).toISOString()}' AND ts < '${new Date(faultStart + FAULT_MS - WINDOW).toISOString()}'`,
  );
  assert.ok(Number(okDuring!.n) >= 2, 'unaffected symbols kept their windows');

  // Meanwhile the daemon recorded the size of its market-data tables, as QuestDB reports them (liquidations are
  // off here: that table is empty, 0 bytes).
  const sizes = await until('storage sizes of the three market tables', async () => {
    const rows = await db.rows<{ store: string; bytes: number; files: number }>(
      `SELECT store, bytes, files FROM tw_storage_size WHERE service = '${service}' LATEST ON ts PARTITION BY store ORDER BY store`,
    );
    return rows.length === 3 && Number(rows.find((r) => r.store === 'tw_open_interest')?.bytes) > 0 ? rows : undefined;
  });
  assert.deepEqual(sizes.map((r) => r.store), ['tw_funding_rates', 'tw_liquidations', 'tw_open_interest']);
  const [oi] = await db.rows<{ bytes: number; partitions: number }>(
    `SELECT sum(diskSize) bytes, count() partitions FROM table_partitions('tw_open_interest')`,
  );
  assert.equal(Number(sizes[2]!.files), Number(oi!.partitions));
});
