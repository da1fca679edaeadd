/**
 * Scenario: one hour of the daemon's schedule, compressed by configuration. Real time: open interest every 30 s
 * and funding every 60 s give 120 and 60 windows per hour; here 500 ms and 1 s windows (ccxt's request spacing
 * compressed alike) make that hour 60 s long. Stored fetch counts over the hour equal windows × symbols
 * exactly, per exchange, dataset and symbol: every window got its data, none was missed (no gap). On a loaded
 * machine an attempt may time out and be retried within its window; such attempts are extra rows with status
 * `timeout`, reported as a diagnostic, and do not change the per-window count.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDaemon, daemonConfig } from '../packages/cli/src/daemon/index.js';
import { createMonitor } from '../packages/sdk/src/sdk/index.js';
import { startSimulator } from '../packages/cli/src/simulator/index.js';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';

const server = await useQuestDb();
const db = new SqlClient({ url: server.httpUrl });
await applySchema(db);

const COMPRESSION = 60; // 30 s → 500 ms, 60 s → 1 s, 1 h → 60 s
const OI_MS = 30_000 / COMPRESSION;
const FUNDING_MS = 60_000 / COMPRESSION;
const HOUR_MS = 3_600_000 / COMPRESSION;
const SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT'];
const EXCHANGES = ['binanceusdm', 'bybit'] as const;

test('one (compressed) hour of schedule gives exactly the expected fetch counts', async (t) => {
  const service = `scn-hour-${process.pid}`;
  const simulator = await startSimulator({ port: 0, seed: 2, exchanges: [...EXCHANGES], symbols: ['BTC', 'ETH'] });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 250 }, sampleIntervalMs: 5000 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: EXCHANGES.map((id) => ({ id, symbols: SYMBOLS, rateLimitMs: 1 })),
      openInterestIntervalMs: OI_MS,
      fundingIntervalMs: FUNDING_MS,
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

  // The hour starts on a boundary of both schedules, a few seconds after start-up (markets loaded, the freshly
  // started QuestDB past its warm-up).
  const hourStart = Math.ceil((Date.now() + 3000) / FUNDING_MS) * FUNDING_MS;
  const hourEnd = hourStart + HOUR_MS;
  await sleep(hourEnd + 500 - Date.now());
  await daemon.stop();
  await monitor.flush();

  const range = `ts >= '${new Date(hourStart).toISOString()}' AND ts < '${new Date(hourEnd).toISOString()}'`;
  const expected = new Map<string, number>();
  for (const exchange of EXCHANGES) {
    for (const symbol of SYMBOLS) {
      expected.set(`${exchange} open_interest ${symbol} ok`, HOUR_MS / OI_MS); // 120
      expected.set(`${exchange} funding_rate ${symbol} ok`, HOUR_MS / FUNDING_MS); // 60
    }
  }
  const total = [...expected.values()].reduce((a, b) => a + b, 0);
  let counts = new Map<string, number>();
  let retried = new Map<string, number>();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const rows = await db.rows<{ exchange: string; dataset: string; symbol: string; status: string; n: number }>(
      `SELECT exchange, dataset, symbol, status, count() n FROM tw_fetches WHERE service = '${service}' AND ${range} GROUP BY exchange, dataset, symbol, status`,
    );
    counts = new Map(rows.filter((r) => r.status === 'ok').map((r) => [`${r.exchange} ${r.dataset} ${r.symbol} ${r.status}`, Number(r.n)]));
    retried = new Map(rows.filter((r) => r.status !== 'ok').map((r) => [`${r.exchange} ${r.dataset} ${r.symbol} ${r.status}`, Number(r.n)]));
    if ([...counts.values()].reduce((a, b) => a + b, 0) >= total) break;
    await sleep(250);
  }
  if (retried.size > 0) t.diagnostic(`attempts retried within their window: ${JSON.stringify(Object.fromEntries(retried))}`);
  const missed = await db.rows(`SELECT exchange, dataset, symbol, gap_start, duration_s, reason FROM tw_data_gaps WHERE service = '${service}'`);
  assert.deepEqual(
    Object.fromEntries([...counts].sort()),
    Object.fromEntries([...expected].sort()),
    `missed windows (a process stalled for most of a window, e.g. a saturated machine): ${JSON.stringify(missed)}`,
  );

  // Per exchange, what the pipeline dashboard shows as fetches per hour: windows × symbols × datasets.
  const perExchange = await db.rows<{ exchange: string; n: number }>(
    `SELECT exchange, count() n FROM tw_fetches WHERE service = '${service}' AND status = 'ok' AND ${range} GROUP BY exchange ORDER BY exchange`,
  );
  assert.deepEqual(perExchange.map((r) => [r.exchange, Number(r.n)]), EXCHANGES.map((e) => [e, SYMBOLS.length * (120 + 60)]));

  // No window was missed, and the values themselves were stored.
  const [gaps] = await db.rows<{ n: number }>(`SELECT count() n FROM tw_data_gaps WHERE service = '${service}'`);
  assert.equal(Number(gaps!.n), 0);
  const [funding] = await db.rows<{ n: number }>(`SELECT count() n FROM tw_funding_rates WHERE service = '${service}' AND ${range}`);
  assert.ok(Number(funding!.n) > 0);
  const [oi] = await db.rows<{ n: number }>(`SELECT count_distinct(symbol) n FROM tw_open_interest WHERE service = '${service}'`);
  assert.equal(Number(oi!.n), SYMBOLS.length);
});
