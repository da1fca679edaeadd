/**
 * Scenario: a 429 storm on Binance (Retry-After: 2, for 1.5 s). Stored: throttled rate-limit rows carrying the
 * Retry-After, one rate_limited fetch and one error row (ccxt's class) per refused request, and no request at all
 * while paused (the simulator refused exactly the requests the daemon recorded). Afterwards the status is back to
 * not throttled and the fetches are ok again.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
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

test('a 429 storm shows in rate-limit status and error counts, and Retry-After is honoured', async (t) => {
  const service = `scn-429-${process.pid}`;
  const simulator = await startSimulator({ port: 0, seed: 5, exchanges: ['binanceusdm'], symbols: ['BTC', 'ETH'] });
  t.after(() => simulator.close());
  const monitor = createMonitor({ service, instance: 'test', questdb: { url: server.httpUrl, flushIntervalMs: 100 }, sampleIntervalMs: 0 });
  const daemon = createDaemon({
    config: daemonConfig({
      exchanges: [{ id: 'binanceusdm', symbols: ['BTC/USDT:USDT', 'ETH/USDT:USDT'], rateLimitMs: 1 }],
      openInterestIntervalMs: 250,
      fundingIntervalMs: 500,
      liquidations: false,
      rateLimitSampleMs: 250,
    }),
    monitor,
    ccxtOverrides: { binanceusdm: simulator.exchanges.binanceusdm!.ccxtOptions },
  });
  daemon.start();
  t.after(async () => {
    await daemon.stop();
    await monitor.shutdown();
  });
  await until('data to flow', async () => ((daemon.status().exchanges[0]?.fetches.ok ?? 0) >= 8 ? true : undefined));

  const fault = await simulator.control.inject('binanceusdm', { kind: 'rate_limit', retryAfterSec: 2, durationMs: 1500 });
  await until('the pause to end and fetches to succeed again', async () => {
    const s = daemon.status().exchanges[0]!;
    return s.fetches.rate_limited > 0 && s.pausedUntil === undefined && Date.now() > fault.startedAt + 2600 ? true : undefined;
  });
  await monitor.flush();
  // Barrier for the absence checks below (no fetch during the pause, no error beyond the refusals): every row the
  // flush committed is applied, so one that should not exist would show.
  await walApplied(db, ['tw_fetches', 'tw_errors']);
  const where = `service = '${service}' AND exchange = 'binanceusdm'`;

  // Every refused request is one rate_limited fetch row (stamped when the 429 came back) and one error row of the
  // ccxt class. The rows' times bound the pause: it starts at the first refusal and ends Retry-After after the last.
  const refusals = await until('rate_limited fetches', async () => {
    const [row] = await db.rows<{ n: number; first: string; last: string }>(
      `SELECT count() n, min(ts) first, max(ts) last FROM tw_fetches WHERE ${where} AND status = 'rate_limited'`,
    );
    return Number(row?.n) > 0 ? { n: Number(row!.n), first: Date.parse(row!.first), last: Date.parse(row!.last) } : undefined;
  });
  const limited = refusals.n;
  const pauseEnd = refusals.last + 2000;
  const errors = await until('rate-limit errors', async () => {
    const rows = await db.rows<{ kind: string; n: number }>(
      `SELECT kind, count() n FROM tw_errors WHERE ${where} AND component = 'fetcher' AND kind IN ('RateLimitExceeded', 'DDoSProtection')
          AND ts >= '${new Date(fault.startedAt).toISOString()}' GROUP BY kind`,
    );
    return rows.reduce((n, r) => n + Number(r.n), 0) >= limited ? rows : undefined;
  });
  // ccxt's class for HTTP 429: RateLimitExceeded, or DDoSProtection where the exchange's error map says so (Binance).
  assert.equal(errors.length, 1, JSON.stringify(errors));
  assert.match(errors[0]!.kind, /^(RateLimitExceeded|DDoSProtection)$/);
  assert.equal(Number(errors[0]!.n), limited);

  // Retry-After honoured: nothing was sent while paused, so the simulator refused exactly what the daemon recorded
  // (the requests already in flight when the storm began: at most one per symbol and dataset).
  const record = simulator.control.faults().find((f) => f.id === fault.id)!;
  assert.equal(record.counters.requestsRejected, limited, JSON.stringify(record.counters));
  assert.ok(limited <= 4, `${limited} refused requests`);
  const [quiet] = await db.rows<{ n: number }>(
    `SELECT count() n FROM tw_fetches WHERE ${where}
        AND ts > '${new Date(Math.max(refusals.last + 1, fault.startedAt + 300)).toISOString()}' AND ts < '${new Date(refusals.first + 1900).toISOString()}'`,
  );
  assert.equal(Number(quiet!.n), 0, 'no fetch during the Retry-After pause');

  // Rate-limit status: throttled with the Retry-After during the storm, the used weight known from the headers,
  // then not throttled again.
  const status = await until('rate-limit rows after the storm', async () => {
    const rows = await db.rows<{ ts: string; used: number | null; quota: number | null; throttled: boolean; retry_after_s: number | null }>(
      `SELECT ts, used, quota, throttled, retry_after_s FROM tw_rate_limits WHERE ${where} ORDER BY ts`,
    );
    const after = rows.filter((r) => Date.parse(r.ts) > pauseEnd);
    return after.some((r) => !r.throttled) ? rows : undefined;
  });
  const throttled = status.filter((r) => r.throttled);
  assert.ok(throttled.length >= 2, 'throttled status recorded');
  assert.equal(throttled[0]!.retry_after_s, 2, 'the first throttled row carries the Retry-After header');
  // A throttled row is written at a refusal or by the periodic sample while paused, so it lies within the pause
  // (the SDK clock and Date.now() may differ by a millisecond or two: 5 ms of slack).
  for (const r of throttled) {
    const at = Date.parse(r.ts);
    assert.ok(at >= refusals.first - 5 && at <= pauseEnd + 5, `throttled row at ${r.ts} outside the pause`);
  }
  assert.ok(status.some((r) => r.used !== null && r.quota === 2400), 'used weight and quota from X-MBX-USED-WEIGHT-1M');
  assert.equal(status.at(-1)!.throttled, false, 'not throttled once the pause is over');

  // Awaited: the daemon saw them succeed before their rows were necessarily applied.
  await until('fetches resumed after the pause', async () => {
    const [okAfter] = await db.rows<{ n: number }>(
      `SELECT count() n FROM tw_fetches WHERE ${where} AND status = 'ok' AND ts > '${new Date(refusals.first + 2000).toISOString()}'`,
    );
    return Number(okAfter!.n) >= 2 ? true : undefined;
  });
});
