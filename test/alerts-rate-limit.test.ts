import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildRules, defaultAlertsConfig } from '../packages/cli/src/grafana/alerting/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { runRule, ticks } from './support/grafana-model/questdb-rules.js';
import { walApplied } from './helpers/rows.js';

// The rate-limit rule at the reference daemon's real scale (rows written through the SDK writer at its default
// schedule: 2 symbols, open interest every 30 s and funding every 60 s, a rate-limit sample every 5 s using ~10 of
// Binance's 2,400 weight/min). Its used-% path can never reach 90 % there; refused requests (HTTP 429, fetch status
// rate_limited) must fire it all the same, and a healthy process must stay quiet.

const S = 1000;
const MIN = 60 * S;
const us = (ms: number) => Math.round(ms * 1000);
const server = await useQuestDb();
const sql = await prepareSchema(server);
const rule = buildRules(defaultAlertsConfig()).find((r) => r.id === 'rateLimit')!;
let writer: Writer;
const T0 = Math.floor((Date.now() - 60 * MIN) / MIN) * MIN;
const RUN = 30 * MIN;

/** One process at the daemon's default schedule on binanceusdm; `refused(t)` says which fetches got HTTP 429. */
function daemonRows(instance: string, refused: (t: number, dataset: string) => boolean, throttledAfterRefusal: boolean) {
  const base = { service: 'tw-scale', instance, exchange: 'binanceusdm' };
  for (let t = T0; t < T0 + RUN; t += 30 * S) {
    for (const dataset of t % MIN === 0 ? ['open_interest', 'funding_rate'] : ['open_interest']) {
      for (const symbol of ['BTC/USDT:USDT', 'ETH/USDT:USDT']) {
        const limited = refused(t, dataset);
        writer.write(schema.fetches, { ts: us(t + (symbol.startsWith('ETH') ? 200 : 100)), ...base, dataset, symbol, status: limited ? 'rate_limited' : 'ok', latency_ms: 80, records: limited ? 0 : 1 });
      }
    }
  }
  for (let t = T0; t < T0 + RUN; t += 5 * S) {
    // The daemon pauses for Retry-After (2 s) after a 429: only a sample that falls inside the pause says throttled.
    const throttled = throttledAfterRefusal && refused(t - (t % (30 * S)), 'open_interest') && t % (30 * S) === 0;
    writer.write(schema.rateLimits, { ts: us(t + 1), ...base, used: 10, quota: 2400, throttled, retry_after_s: throttled ? 2 : null });
  }
}

describe('rate limit at the reference daemon scale (real QuestDB)', () => {
  before(async () => {
    writer = createWriter({ url: questDbUrl(server), service: 'tw-scale', instance: 'writer', logger: memoryLogger() });
    daemonRows('healthy', () => false, false);
    // A shared IP (or a tighter account limit): from T0 + 10 min the funding requests are refused with 429.
    daemonRows('shared-ip', (t, dataset) => t >= T0 + 10 * MIN && dataset === 'funding_rate', true);
    await writer.flush();
    await walApplied(sql, ['tw_fetches', 'tw_rate_limits']);
  });
  after(async () => {
    await writer.close();
  });

  test('refused requests fire it although the used weight stays at 0.4 %; a healthy 30-minute run stays quiet', async () => {
    const m = await runRule(sql, rule, ticks(T0 + MIN, 30, MIN));
    const fired = m.transitions.filter((t) => t.to === 'Alerting');
    assert.deepEqual(fired.filter((t) => t.key.includes('"healthy"')), [], 'healthy: never fires');
    assert.ok(![...m.instances.values()].some((i) => i.labels.instance === 'healthy' && i.state !== 'Normal'), 'healthy: never pending either');
    const shared = fired.find((t) => t.key.includes('"shared-ip"'));
    assert.ok(shared, JSON.stringify(m.transitions));
    // Two refusals a minute (2 of 6 requests): 3 refusals by T0 + 11 min, then the 1-minute pending period.
    assert.ok(shared.at >= T0 + 11 * MIN && shared.at <= T0 + 13 * MIN, `fires ${(shared.at - T0 - 10 * MIN) / 1000} s after the first 429`);
    assert.equal(m.firing().filter((i) => i.labels.instance === 'shared-ip').length, 1, 'still firing while refused');
  });
});
