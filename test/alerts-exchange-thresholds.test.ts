/**
 * Per-exchange thresholds (`alerts.rules.<rule>.exchangeThresholds`) of the exchange-scoped rules, run on a real
 * QuestDB exactly as Grafana would run them (relative range, macros expanded) and evaluated with Grafana's
 * semantics: an exchange's own limit decides whether it fires, the other exchanges keep the rule's threshold, and
 * a firing alert still shows the real value (seconds, %), not a rescaled one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  alertsConfigSchema,
  buildRules,
  type ProvisionedRule,
  type RuleId,
} from '../packages/cli/src/grafana/alerting/index.js';
import { createMonitor, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { settled } from './helpers/rows.js';
import { evaluateAt } from './support/grafana-model/questdb-rules.js';

const server = await useQuestDb(undefined, { schema: true });
const sqlClient = await prepareSchema(server);
const logger = memoryLogger();
const MIN = 60_000;
let writer: Writer;
let monitor: Monitor;

/** The rule evaluated as Grafana would now. */
const evaluateNow = (rule: ProvisionedRule) => evaluateAt(sqlClient, rule, Date.now());

const rule = (id: RuleId, input: unknown = {}) => buildRules(alertsConfigSchema.parse(input)).find((r) => r.id === id)!;
const firingExchanges = async (r: ProvisionedRule) => {
  const e = await evaluateNow(r);
  assert.equal(e.outcome, 'ok', JSON.stringify(e));
  return e.firing.map((i) => i.labels.exchange).sort();
};

describe('per-exchange thresholds on real QuestDB', () => {
  before(async () => {
    writer = createWriter({ url: questDbUrl(server), service: 'tw-xthr', instance: 'writer', logger });
    monitor = createMonitor({ service: 'tw-xthr', instance: 'x-1', writer, sampleIntervalMs: 0, logger });
    const now = Date.now();
    // Disconnected 2 minutes: bybit, okx and kraken (websocket liquidations).
    for (const exchange of ['bybit', 'okx', 'kraken']) {
      monitor.connectionState({ exchange, channel: 'liquidations', state: 'connected', at: now - 20 * MIN });
      monitor.connectionState({ exchange, channel: 'liquidations', state: 'disconnected', at: now - 2 * MIN });
    }
    // Failure ratios over 12 requests: bybit 25 %, okx 75 %.
    for (let i = 0; i < 12; i++) {
      monitor.fetch({ exchange: 'bybit', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: i % 4 === 0 ? 'error' : 'ok', latencyMs: 50, at: now - 1000 - i * 20_000 });
      monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: i % 4 === 0 ? 'ok' : 'error', latencyMs: 50, at: now - 1000 - i * 20_000 });
    }
    // Rate-limit usage: bybit 70 %, okx 95 %.
    monitor.rateLimit({ exchange: 'bybit', used: 840, quota: 1200, throttled: false, at: now - 5000 });
    monitor.rateLimit({ exchange: 'okx', used: 1140, quota: 1200, throttled: false, at: now - 5000 });
    await monitor.flush();
    await writer.flush();
    await settled(sqlClient);
  });
  after(async () => {
    await monitor.shutdown();
    await writer.close();
  });

  test('exchangeDisconnected / exchangeDown: a higher limit silences its exchange, a lower one fires it early', async () => {
    // Default 10 s: all three fire after 2 minutes.
    assert.deepEqual(await firingExchanges(rule('exchangeDisconnected')), ['bybit', 'kraken', 'okx']);
    // bybit may be down 5 minutes before the warning.
    assert.deepEqual(await firingExchanges(rule('exchangeDisconnected', { rules: { exchangeDisconnected: { exchangeThresholds: 'bybit=300' } } })), ['kraken', 'okx']);
    // Default 300 s: none after 2 minutes; kraken's own 60 s makes it critical already.
    assert.deepEqual(await firingExchanges(rule('exchangeDown')), []);
    const tuned = rule('exchangeDown', { rules: { exchangeDown: { exchangeThresholds: { kraken: 60, okx: 600 } } } });
    const e = await evaluateNow(tuned);
    assert.deepEqual(e.firing.map((i) => i.labels.exchange), ['kraken']);
    // The alert shows the real outage length (about 120 s), not a share of a threshold.
    const kraken = e.firing[0]!.values.A!;
    assert.ok(kraken >= 115 && kraken < 200, `kraken down for ${kraken} s`);
    // Not firing: never above the compared number (the smallest limit, 60).
    for (const i of e.instances.filter((x) => x.labels.exchange !== 'kraken')) assert.ok(i.values.A! <= 60, JSON.stringify(i));
    assert.match(String(tuned.annotations.description), /kraken: 60, okx: 600/);
  });

  test('errorRateSpike: per-exchange failure ratio', async () => {
    assert.deepEqual(await firingExchanges(rule('errorRateSpike')), ['okx']);
    assert.deepEqual(await firingExchanges(rule('errorRateSpike', { rules: { errorRateSpike: { exchangeThresholds: 'bybit=20,okx=80' } } })), ['bybit']);
  });

  test('rateLimit: per-exchange usage (after its reduce)', async () => {
    assert.deepEqual(await firingExchanges(rule('rateLimit')), ['okx']);
    const e = await evaluateNow(rule('rateLimit', { rules: { rateLimit: { exchangeThresholds: 'bybit=60,okx=99' } } }));
    assert.deepEqual(e.firing.map((i) => i.labels.exchange), ['bybit']);
    assert.ok(Math.abs(e.firing[0]!.values.B! - 70) < 1e-6, `bybit shows its real usage: ${JSON.stringify(e.firing[0])}`);
  });

  test('staleData: per-exchange staleness', async () => {
    // bybit's newest ok fetch is ~21 s old (its newest fetch failed), okx's ~1 s: neither is stale at 180 s, and
    // bybit is at its own 15 s.
    assert.deepEqual(await firingExchanges(rule('staleData')), []);
    assert.deepEqual(await firingExchanges(rule('staleData', { rules: { staleData: { exchangeThresholds: 'bybit=15' } } })), ['bybit']);
  });
});
