/**
 * Scenario: the exchange refuses the daemon's IP. Each mode is recognised, reported as `blocked` (fetch rows, the
 * daemon's status, the REST connection's reason), and waited out without hammering: the simulator counts the
 * requests it refused during the ban, and they are only the ones already in flight when it began (at most one per
 * symbol and dataset).
 * - Bybit IP ban: HTTP 403 without headers → paused banPauseMs.
 * - Binance IP ban: HTTP 418 with Retry-After → paused for Retry-After (shorter than banPauseMs here).
 * - Binance restricted region: HTTP 451 → paused regionBlockPauseMs.
 * Then Binance's weight limit reached on its own (quota read from exchangeInfo): the daemon honours the 429's
 * Retry-After and is never banned (no 418).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createDaemon, daemonConfig, type Daemon } from '../packages/cli/src/daemon/index.js';
import { createMonitor, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { startSimulator, type ExchangeId, type ExchangeTiming, type Simulator } from '../packages/cli/src/simulator/index.js';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { until } from './helpers/until.js';

const server = await useQuestDb(undefined, { schema: true });
const db = new SqlClient({ url: server.httpUrl });
await applySchema(db);

const SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT'];
/**
 * Requests that can be in the air when a ban begins: one per symbol and dataset, plus one per series that the
 * previous window abandoned at its deadline on a slow machine (its HTTP request still travelling). Without the pause,
 * the windows' retries would send dozens in the same time.
 */
const IN_FLIGHT_MAX = SYMBOLS.length * 2 * 2;

interface Run {
  simulator: Simulator;
  daemon: Daemon;
  monitor: Monitor;
  service: string;
}

async function run(
  t: { after(fn: () => Promise<void> | void): void },
  id: ExchangeId,
  name: string,
  config: Record<string, unknown>,
  timing: Partial<ExchangeTiming> = {},
): Promise<Run> {
  const service = `scn-block-${name}-${process.pid}`;
  const simulator = await startSimulator({ port: 0, seed: 9, exchanges: [id], symbols: ['BTC', 'ETH'], liquidationsPerSecond: 0, timing });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: [{ id, symbols: SYMBOLS, rateLimitMs: 1 }],
      openInterestIntervalMs: 300,
      fundingIntervalMs: 600,
      liquidations: false,
      rateLimitSampleMs: 250,
      ...config,
    }),
    monitor,
    ccxtOverrides: { [id]: simulator.exchanges[id]!.ccxtOptions },
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await until('data to flow', async () => ((daemon.status().exchanges[0]?.fetches.ok ?? 0) >= 8 ? true : undefined), 30_000).catch((err: unknown) => {
    const stats = simulator.control.state().exchanges[id]!.stats;
    throw new Error(`${(err as Error).message}: daemon ${JSON.stringify(daemon.status().exchanges[0])}, simulator answers ${JSON.stringify(stats.restByStatus)}`);
  });
  return { simulator, daemon, monitor, service };
}

/** Waits `ms` of wall time while the daemon is blocked, then returns what the simulator refused meanwhile. */
async function rejectedDuring(r: Run, faultId: number, ms: number): Promise<number> {
  const until_ = Date.now() + ms;
  while (Date.now() < until_) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return r.simulator.control.faults().find((f) => f.id === faultId)!.counters.requestsRejected ?? 0;
}

/**
 * Failed-fetch statuses other than timeouts: with windows of a few hundred ms, a loaded machine times a request out now and then,
 * before or after the ban, which says nothing about how the ban was classified.
 */
const failures = (rows: { status: string }[]) => rows.map((row) => row.status).filter((status) => status !== 'timeout');

async function blockedRows(r: Run): Promise<{ status: string; n: number }[]> {
  await r.monitor.flush();
  return until('blocked fetch rows', async () => {
    const rows = await db.rows<{ status: string; n: number }>(
      `SELECT status, count() n FROM tw_fetches WHERE service = '${r.service}' AND status <> 'ok' GROUP BY status ORDER BY status`,
    );
    return rows.some((row) => row.status === 'blocked') ? rows : undefined;
  });
}

test('Bybit IP ban (403 without headers): paused banPauseMs, reported blocked, a handful of requests during the ban', async (t) => {
  const r = await run(t, 'bybit', 'bybit-ban', { banPauseMs: 4000 });
  const fault = await r.simulator.control.inject('bybit', { kind: 'ip_ban' }); // until cleared
  await until('the daemon to see the ban', async () => (r.daemon.status().exchanges[0]!.blocked ? true : undefined));
  const status = r.daemon.status().exchanges[0]!;
  assert.match(status.blocked!.reason, /IP ban, HTTP 403/);
  // Windows of 300 ms would have retried dozens of times in 2.5 s; paused, nothing is sent.
  const refused = await rejectedDuring(r, fault.id, 2500);
  assert.ok(refused >= 1 && refused <= IN_FLIGHT_MAX, `${refused} requests during the ban`);
  await r.simulator.control.clear('bybit');
  await until('fetches to resume after the pause', async () => (!r.daemon.status().exchanges[0]!.blocked && r.daemon.status().exchanges[0]!.fetches.ok > status.fetches.ok + 4 ? true : undefined), 30_000);
  const rows = await blockedRows(r);
  assert.deepEqual(failures(rows), ['blocked'], 'blocked, never rate_limited or error');
  assert.equal(Number(rows.find((row) => row.status === 'blocked')!.n), r.daemon.status().exchanges[0]!.fetches.blocked);
  // The REST connection went down with the block as its reason (timeouts on a loaded machine may add other rows).
  await until('the rest connection row with the block', async () => {
    const found = await db.rows<{ reason: string }>(
      `SELECT reason FROM tw_connection_events WHERE service = '${r.service}' AND channel = 'rest' AND state = 'disconnected'`,
    );
    return found.some((row) => /^blocked \(IP ban, HTTP 403\)/.test(row.reason)) ? true : undefined;
  });
});

test('Binance IP ban (418 + Retry-After): paused for Retry-After, not for banPauseMs', async (t) => {
  const r = await run(t, 'binanceusdm', 'binance-ban', { banPauseMs: 600_000 });
  const fault = await r.simulator.control.inject('binanceusdm', { kind: 'ip_ban', retryAfterSec: 3, durationMs: 3000 });
  await until('the daemon to see the ban', async () => (r.daemon.status().exchanges[0]!.blocked ? true : undefined));
  const blocked = r.daemon.status().exchanges[0]!.blocked!;
  assert.ok(blocked.until - Date.now() <= 3100, 'paused for the Retry-After of 3 s');
  const refused = await rejectedDuring(r, fault.id, 2000);
  assert.ok(refused >= 1 && refused <= IN_FLIGHT_MAX, `${refused} requests during the ban`);
  const okBefore = r.daemon.status().exchanges[0]!.fetches.ok;
  await until('fetches to resume once Retry-After passed', async () => (r.daemon.status().exchanges[0]!.fetches.ok > okBefore + 4 ? true : undefined), 30_000);
  assert.equal(r.simulator.control.faults().find((f) => f.id === fault.id)!.counters.requestsRejected, refused, 'nothing more was refused');
  assert.deepEqual(failures(await blockedRows(r)), ['blocked']);
});

test('Binance restricted region (451): paused regionBlockPauseMs, reported blocked', async (t) => {
  const r = await run(t, 'binanceusdm', 'binance-region', { regionBlockPauseMs: 60_000 });
  const fault = await r.simulator.control.inject('binanceusdm', { kind: 'region_block' });
  await until('the daemon to see the block', async () => (r.daemon.status().exchanges[0]!.blocked ? true : undefined));
  const status = r.daemon.status().exchanges[0]!;
  assert.match(status.blocked!.reason, /restricted region, HTTP 451/);
  assert.ok(status.blocked!.until - Date.now() > 50_000);
  const refused = await rejectedDuring(r, fault.id, 3000);
  assert.ok(refused >= 1 && refused <= IN_FLIGHT_MAX, `${refused} requests during the block`);
  assert.equal(r.daemon.status().exchanges[0]!.fetches.rate_limited, 0);
  assert.deepEqual(failures(await blockedRows(r)), ['blocked']);
});

test("Binance's weight limit: the quota comes from exchangeInfo, 429s are honoured, no ban", async (t) => {
  // 24 weight per 2-second window; the daemon asks ~15 per second, so it meets the limit in every window. A 429
  // reaches the daemon while some requests are already in the air (more on a loaded machine, where windows abandon
  // requests at their deadline): the simulator bans only after 10 refused requests in one Retry-After here.
  const r = await run(
    t,
    'binanceusdm',
    'binance-weight',
    { openInterestIntervalMs: 200, fundingIntervalMs: 200 },
    { binanceWeightLimit: 24, binanceWeightWindowMs: 2000, binanceTolerated429s: 10 },
  );
  await until('429s from the weight limit', async () => ((r.simulator.control.state().exchanges.binanceusdm!.stats.restByStatus['429'] ?? 0) >= 3 ? true : undefined), 30_000);
  const stats = r.simulator.control.state().exchanges.binanceusdm!.stats;
  assert.equal(stats.restByStatus['418'], undefined, 'never banned: Retry-After was honoured');
  assert.equal(r.daemon.status().exchanges[0]!.fetches.blocked, 0);
  await r.monitor.flush();
  const rows = await until('rate-limit rows with the quota', async () => {
    const found = await db.rows<{ used: number | null; quota: number | null; throttled: boolean }>(
      `SELECT used, quota, throttled FROM tw_rate_limits WHERE service = '${r.service}'`,
    );
    return found.some((row) => row.throttled) && found.some((row) => row.quota !== null) ? found : undefined;
  });
  assert.deepEqual([...new Set(rows.filter((row) => row.quota !== null).map((row) => Number(row.quota)))], [24], 'the quota of exchangeInfo, not a hard-coded 2400');
  assert.ok(rows.some((row) => row.used !== null && Number(row.used) >= 12), 'X-MBX-USED-WEIGHT-1M accumulates within the window');
});
