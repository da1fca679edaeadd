import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { buildRules, defaultAlertsConfig, durationMs, type BuiltRule, type RuleId } from '../packages/cli/src/grafana/alerting/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { settled } from './helpers/rows.js';
import { runRule, ticks } from './support/grafana-model/questdb-rules.js';
import type { StateManager } from './support/grafana-model/state-manager.js';

// Recoveries only on evidence: faults are written to a real QuestDB with backdated timestamps, and each rule is
// evaluated as Grafana would at chosen instants (its relative range resolved at that instant, macros expanded as
// the plugin does) and stepped through the model of Grafana 12.3's state manager. A rule must keep firing while
// the fault lasts, however long, and resolve on positive evidence (a healthy row, a clean stop).

const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;
const us = (ms: number) => Math.round(ms * 1000);
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const rules = buildRules(defaultAlertsConfig());
const ruleOf = (id: RuleId) => rules.find((r) => r.id === id)!;
let writer: Writer;
/** Every fault starts 50 hours ago: each test evaluates at instants between then and now. */
const T0 = Date.now() - 50 * H;

const run = (rule: BuiltRule, instants: readonly number[]) => runRule(sql, rule, instants);
const firingFor = (m: StateManager, key: string, value: string) => m.firing().filter((i) => i.labels[key] === value);

async function applied(): Promise<void> {
  await writer.flush();
  await settled(sql);
}

const sample = (instance: string, at: number, rssMiB = 200) =>
  writer.write(schema.processSamples, { ts: us(at), service: 'tw-rec', instance, pid: 1, uptime_s: 60, rss_bytes: rssMiB * 1_048_576, heap_used_bytes: 1e7, heap_total_bytes: 2e7, cpu_percent: 5, event_loop_lag_ms: 1 });
const processEvent = (instance: string, at: number, event: 'start' | 'stop') => writer.write(schema.processEvents, { ts: us(at), service: 'tw-rec', instance, event, pid: 1 });
const connection = (instance: string, exchange: string, at: number, state: 'connected' | 'disconnected' | 'reconnecting') =>
  writer.write(schema.connectionEvents, { ts: us(at), service: 'tw-rec', instance, exchange, channel: 'liquidations', state, reason: state === 'connected' ? null : 'socket hang up', downtime_s: null, attempt: state === 'reconnecting' ? 1 : null });
const fetch = (instance: string, exchange: string, dataset: string, at: number, status: 'ok' | 'error' | 'timeout' | 'rate_limited') =>
  writer.write(schema.fetches, { ts: us(at), service: 'tw-rec', instance, exchange, dataset, symbol: 'BTC/USDT:USDT', status, latency_ms: 40, records: status === 'ok' ? 1 : 0 });

/** Evaluation instants: the first minutes of the fault at every tick, then three ticks at each later hour mark. */
const probes = (start: number, hours: readonly number[]) => [...ticks(start, 12), ...hours.flatMap((h) => ticks(start + h * H, 3))];
const LONG = [1, 2, 23, 24, 25, 47, 48];

describe('recoveries only on evidence (Grafana 12.3 state manager model, real QuestDB)', () => {
  before(async () => {
    writer = createWriter({ url: questDbUrl(server), service: 'tw-rec', instance: 'writer', logger: memoryLogger() });
    // A healthy neighbour at every probe, so the results are never empty (a vanishing series would be "missing").
    const instants = [...probes(T0, LONG), ...ticks(T0 + 30 * MIN, 3), ...ticks(T0 + 40 * MIN, 6)];
    for (const at of instants) sample('alive', at - 2 * S);
    // dead: samples every 5 s for a minute, then a crash at T0 (no stop event); 3 GiB at its last sample.
    processEvent('dead', T0 - 2 * MIN, 'start');
    for (let t = T0 - MIN; t <= T0; t += 5 * S) sample('dead', t, 3000);
    // stopped: crashes at T0, later stops cleanly (its stop event arrives at T0 + 30 min).
    processEvent('stopped', T0 - 2 * MIN, 'start');
    for (let t = T0 - MIN; t <= T0; t += 5 * S) sample('stopped', t);
    processEvent('stopped', T0 + 30 * MIN, 'stop');
    // restarted: crashes at T0, is back at T0 + 40 min and samples again.
    for (let t = T0 - MIN; t <= T0; t += 5 * S) sample('restarted', t);
    for (let t = T0 + 40 * MIN; t <= T0 + 42 * MIN; t += 5 * S) sample('restarted', t);
    // An exchange whose funding endpoint fails from T0 on and never recovers; open interest recovers at T0 + 40 min.
    for (let t = T0 - 10 * MIN; t < T0; t += MIN) {
      fetch('alive', 'bybit', 'funding_rate', t, 'ok');
      fetch('alive', 'bybit', 'open_interest', t, 'ok');
    }
    for (let t = T0; t <= T0 + 2 * H; t += 30 * S) fetch('alive', 'bybit', 'funding_rate', t, 'timeout');
    for (let t = T0; t < T0 + 40 * MIN; t += 30 * S) fetch('alive', 'bybit', 'open_interest', t, 'error');
    fetch('alive', 'bybit', 'open_interest', T0 + 40 * MIN, 'ok');
    // Websockets lost at T0: okx on `alive` never comes back (reconnect attempts for 2 h, then silence); on
    // `stopped` the process stops cleanly at T0 + 30 min; on `restarted` it reconnects at T0 + 40 min.
    for (const instance of ['alive', 'stopped', 'restarted']) {
      connection(instance, 'okx', T0 - 10 * MIN, 'connected');
      connection(instance, 'okx', T0, 'disconnected');
    }
    for (let t = T0 + MIN; t <= T0 + 2 * H; t += 10 * MIN) connection('alive', 'okx', t, 'reconnecting');
    connection('restarted', 'okx', T0 + 40 * MIN, 'connected');
    // REST APIs that answer errors (ccxt ExchangeError → status `error`), no transport event at all:
    // kraken fails every 10 s from T0 for 2 h and is then not fetched any more; gateio fails from T0 and answers
    // again at T0 + 20 min; on mexc only funding fails (open interest keeps succeeding): the API is up.
    for (let t = T0 - 5 * MIN; t < T0; t += 10 * S) {
      fetch('alive', 'kraken', 'open_interest', t, 'ok');
      fetch('alive', 'gateio', 'open_interest', t, 'ok');
    }
    for (let t = T0; t <= T0 + 2 * H; t += 10 * S) fetch('alive', 'kraken', 'open_interest', t, 'error');
    for (let t = T0; t < T0 + 20 * MIN; t += 10 * S) fetch('alive', 'gateio', 'open_interest', t, 'error');
    for (let t = T0 + 20 * MIN; t <= T0 + 21 * MIN; t += 30 * S) fetch('alive', 'gateio', 'open_interest', t, 'ok');
    for (let t = T0 - 5 * MIN; t <= T0 + 30 * MIN; t += 30 * S) fetch('alive', 'mexc', 'open_interest', t, 'ok');
    for (let t = T0; t <= T0 + 30 * MIN; t += 5 * S) fetch('alive', 'mexc', 'funding_rate', t, 'error');
    await applied();
  });
  after(async () => {
    await writer.close();
  });

  test('daemon down: fires within the budget, stays firing through 48 h of silence; no false resolve, no missing series', async () => {
    const m = await run(ruleOf('daemonDown'), probes(T0, LONG));
    const firstFiring = m.transitions.find((t) => t.to === 'Alerting' && t.key.includes('"dead"'))!;
    assert.ok(firstFiring, JSON.stringify(m.transitions));
    assert.ok(firstFiring.at - T0 <= 30 * S, `fires ${(firstFiring.at - T0) / 1000} s after the last sample`);
    assert.equal(firingFor(m, 'instance', 'dead').length, 1, 'still firing at 48 h');
    assert.deepEqual(m.resolves().filter((t) => t.key.includes('"dead"')), []);
    assert.equal(firingFor(m, 'instance', 'alive').length, 0);
  });

  test('daemon down resolves on evidence: a clean stop, or new samples', async () => {
    const instants = [...ticks(T0, 6), ...ticks(T0 + 30 * MIN, 3), ...ticks(T0 + 40 * MIN, 6)];
    const m = await run(ruleOf('daemonDown'), instants);
    const resolved = (name: string) => m.resolves().find((t) => t.key.includes(`"${name}"`));
    assert.ok(resolved('stopped') && resolved('stopped')!.at >= T0 + 30 * MIN && resolved('stopped')!.at < T0 + 31 * MIN, 'stop event → resolved');
    assert.ok(resolved('restarted') && resolved('restarted')!.at >= T0 + 40 * MIN, 'new samples → resolved');
    assert.equal(resolved('stopped')!.reason, '', 'a Normal result, not MissingSeries or NoData');
    assert.equal(firingFor(m, 'instance', 'dead').length, 1);
  });

  test('memory high: a process that dies with high memory keeps the alert firing until evidence', async () => {
    const rule = ruleOf('memoryHigh');
    const interval = 60 * S; // the normal group
    const m = await run(rule, [...ticks(T0 + 10 * S, 8, interval), ...ticks(T0 + 24 * H, 3, interval)]);
    assert.equal(firingFor(m, 'instance', 'dead').length, 1, 'still firing after 24 h');
    assert.deepEqual(m.resolves(), []);
  });

  test('stale data: a dataset failing for 2 h and then not fetched at all stays stale for 48 h; recovers on an ok fetch', async () => {
    const instants = [...probes(T0, LONG), ...ticks(T0 + 30 * MIN, 3), ...ticks(T0 + 40 * MIN, 3)].sort((x, y) => x - y);
    const m = await run(ruleOf('staleData'), instants);
    assert.equal(firingFor(m, 'dataset', 'funding_rate').filter((i) => i.labels.exchange === 'bybit').length, 1, 'still firing at 48 h');
    const oi = m.transitions.filter((t) => t.key.includes('open_interest') && t.key.includes('"bybit"'));
    // Fails from T0, one ok fetch at T0 + 40 min (resolved), then nothing: stale again 3 minutes later.
    assert.deepEqual(oi.map((t) => t.to), ['Alerting', 'Normal', 'Alerting'], JSON.stringify(oi));
    assert.ok(oi[1]!.at >= T0 + 40 * MIN && oi[1]!.at < T0 + 41 * MIN, 'resolved by the ok fetch');
    assert.equal(m.resolves().filter((t) => t.key.includes('funding_rate') && t.key.includes('"bybit"')).length, 0);
  });

  test('request failure ratio: a 2-hour storm at the daemon rate fires and is not absorbed by a baseline', async () => {
    const m = await run(ruleOf('errorRateSpike'), [...ticks(T0, 30), ...ticks(T0 + 30 * MIN, 3), ...ticks(T0 + 90 * MIN, 3)]);
    const storm = m.transitions.filter((t) => t.key.includes('bybit'));
    assert.equal(storm[0]?.to, 'Alerting', JSON.stringify(storm));
    assert.ok(storm[0]!.at - T0 <= 5 * MIN, `fires ${(storm[0]!.at - T0) / 1000} s into the storm at 2 failed requests/min per dataset`);
    assert.equal(firingFor(m, 'exchange', 'bybit').length, 1, 'still firing 90 minutes in');
    assert.deepEqual(m.resolves().filter((t) => t.key.includes('bybit')), []);
  });

  test('exchange down: a websocket lost for 48 h stays firing (no false resolve when its events age); resolves on reconnect or clean stop', async () => {
    const instants = [...probes(T0, LONG), ...ticks(T0 + 5 * MIN, 3), ...ticks(T0 + 30 * MIN, 3), ...ticks(T0 + 40 * MIN, 3)].sort((x, y) => x - y);
    for (const id of ['exchangeDisconnected', 'exchangeDown'] as const) {
      const m = await run(ruleOf(id), instants);
      const okx = (instance: string) => m.transitions.filter((t) => t.key.includes('"okx"') && t.key.includes(`"${instance}"`));
      const alive = okx('alive');
      assert.equal(alive[0]?.to, 'Alerting', `${id}: ${JSON.stringify(alive)}`);
      assert.ok(alive[0]!.at - T0 <= durationMs(ruleOf(id).for) + defaultAlertsConfig().rules[id].threshold * S + 10 * S, `${id} fires ${(alive[0]!.at - T0) / 1000} s after the loss`);
      assert.deepEqual(alive.slice(1), [], `${id}: no resolve through 48 h`);
      assert.equal(m.firing().filter((i) => i.labels.exchange === 'okx' && i.labels.instance === 'alive').length, 1, `${id} still firing at 48 h`);
      const resolvedAt = (instance: string) => m.resolves().find((t) => t.key.includes('"okx"') && t.key.includes(`"${instance}"`));
      assert.ok(resolvedAt('stopped') && resolvedAt('stopped')!.at >= T0 + 30 * MIN && resolvedAt('stopped')!.at < T0 + 31 * MIN, `${id}: clean stop resolves`);
      assert.ok(resolvedAt('restarted') && resolvedAt('restarted')!.at >= T0 + 40 * MIN && resolvedAt('restarted')!.at < T0 + 41 * MIN, `${id}: reconnect resolves`);
      assert.equal(resolvedAt('restarted')!.reason, '', 'a Normal result, not MissingSeries');
    }
  });

  test('exchange down counts REST errors: an API answering only errors fires within 5 min, stays firing, resolves on an ok fetch', async () => {
    const instants = [...ticks(T0, 40), ...probes(T0 + 10 * MIN, [10 / 60, 20 / 60, 1, 23, 25, 47])].sort((x, y) => x - y);
    const down = await run(ruleOf('exchangeDown'), instants);
    const rest = (exchange: string) => down.transitions.filter((t) => t.key.includes(`"${exchange}"`) && t.key.includes('"rest"'));
    const kraken = rest('kraken');
    assert.equal(kraken[0]?.to, 'Alerting', JSON.stringify(kraken));
    // exchangeDown's 300 s threshold from the first error, at the 10 s fast-group ticks (the last ok was 10 s before it).
    assert.ok(kraken[0]!.at - T0 <= 5 * MIN, `fires ${(kraken[0]!.at - T0) / 1000} s after the first error`);
    assert.ok(kraken[0]!.at - T0 >= 4 * MIN, `not before its threshold: ${(kraken[0]!.at - T0) / 1000} s`);
    assert.deepEqual(kraken.slice(1), [], 'no resolve while it fails, nor after it is no longer fetched (48 h)');
    const gate = rest('gateio');
    assert.deepEqual(gate.map((t) => t.to), ['Alerting', 'Normal'], JSON.stringify(gate));
    assert.ok(gate[1]!.at >= T0 + 20 * MIN && gate[1]!.at < T0 + 21 * MIN, 'resolved by the first ok fetch');
    assert.deepEqual(rest('mexc'), [], 'one failing dataset while the others succeed is not the API down');
    const disconnected = await run(ruleOf('exchangeDisconnected'), ticks(T0, 40));
    const early = disconnected.transitions.find((t) => t.key.includes('"kraken"') && t.to === 'Alerting');
    assert.ok(early && early.at - T0 <= 70 * S, `disconnected warns ${early ? (early.at - T0) / 1000 : '-'} s after the first error (60 s REST window)`);
    assert.deepEqual(disconnected.transitions.filter((t) => t.key.includes('"mexc"')), []);
  });
});
