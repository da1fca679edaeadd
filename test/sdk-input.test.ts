import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { createMonitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { memoryLogger, metricSum, prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';

/**
 * Issue 13 items 7–13: input edge cases of the public API. Each is either accepted (stored and counted) or refused
 * (not stored, counted in tradewatch_sdk_invalid_calls_total, logged with a message naming the field), never a mix.
 * Real QuestDB: what is stored is read back.
 */
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const url = questDbUrl(server);
const run = Date.now().toString(36);

function setup(t: { after(fn: () => Promise<void>): void }, name: string) {
  const service = `input-${name}-${run}`;
  const logger = memoryLogger();
  const writer = createWriter({ url, service, logger });
  const registry = new Registry();
  const monitor = createMonitor({ service, writer, registry, logger, sampleIntervalMs: 0 });
  t.after(async () => {
    await monitor.shutdown();
    await writer.close();
  });
  const m = monitor as unknown as Record<string, (...args: unknown[]) => void>;
  const invalid = (method: string, field: string) => metricSum(registry, 'tradewatch_sdk_invalid_calls_total', { service, method, field });
  const count = async (table: string, where = '') => Number((await sql.rows<{ n: number }>(`SELECT count() n FROM ${table} WHERE service = '${service}' ${where}`))[0]!.n);
  /** A sentinel row written after the calls under test: once it is visible, so is anything written before it. */
  const sentinel = async () => {
    monitor.fetch({ exchange: 'sentinel', dataset: 'x', symbol: 'X', status: 'ok' });
    await writer.flush();
    await waitForRows(sql, `SELECT * FROM tw_fetches WHERE service = '${service}' AND exchange = 'sentinel'`, (rows) => rows.length === 1);
  };
  return { monitor, writer, registry, service, logger, m, invalid, count, sentinel };
}

const fetchBase = { exchange: 'okx', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'ok' };

test('item 7: a BigInt is refused, counted and logged as one, never stored', async (t) => {
  const { m, invalid, count, sentinel, logger, registry, service } = setup(t, 'bigint');
  m.fetch!({ ...fetchBase, records: 10n });
  await sentinel();
  assert.equal(await invalid('fetch', 'records'), 1);
  assert.equal(await count('tw_fetches', "AND exchange = 'okx'"), 0, 'not stored');
  assert.equal(await metricSum(registry, 'tradewatch_fetches_total', { service, exchange: 'okx' }), 0, 'not counted as a fetch');
  assert.ok(logger.lines.some((l) => /records must be a number, got 10n \(a BigInt\)/.test(l.message)), JSON.stringify(logger.lines));
  assert.ok(!logger.lines.some((l) => /Cannot mix BigInt/.test(l.message)));
});

test('item 8: at: null means "now" (the SDK clock), like an absent at; a string is refused naming at', async (t) => {
  const { m, invalid, count, sentinel, logger } = setup(t, 'null-at');
  m.fetch!({ ...fetchBase, at: null });
  m.fetch!({ ...fetchBase, exchange: 'bybit', at: '2026-01-01' });
  await sentinel();
  assert.equal(await count('tw_fetches', "AND exchange = 'okx'"), 1);
  assert.equal(await invalid('fetch', 'at'), 1);
  assert.ok(logger.lines.some((l) => /at must be a Date or milliseconds since the epoch, got "2026-01-01"/.test(l.message)));
  assert.ok(!logger.lines.some((l) => /got NaN/.test(l.message)));
});

test('item 9: connectionState attempt is checked the same in every state', async (t) => {
  const { m, invalid, count, sentinel } = setup(t, 'attempt');
  for (const state of ['connected', 'disconnected', 'reconnecting']) m.connectionState!({ exchange: 'okx', channel: 'trades', state, attempt: {} });
  m.connectionState!({ exchange: 'okx', channel: 'trades', state: 'reconnecting', attempt: 3 });
  await sentinel();
  assert.equal(await invalid('connectionState', 'attempt'), 3);
  assert.equal(await count('tw_connection_events'), 1);
});

test('item 10: an unknown event key is reported once per method and key, and the call is recorded', async (t) => {
  const { m, count, sentinel, logger } = setup(t, 'unknown-key');
  for (let i = 0; i < 3; i++) m.fetch!({ ...fetchBase, latency_ms: 12 });
  m.liquidation!({ exchange: 'okx', symbol: 'BTC/USDT:USDT', side: 'buy', price: 1, amount: 1, latency_ms: 1 });
  await sentinel();
  assert.equal(await count('tw_fetches', "AND exchange = 'okx'"), 3);
  const warned = logger.lines.filter((l) => /ignores the unknown key "latency_ms"/.test(l.message));
  assert.deepEqual(warned.map((l) => l.context.method), ['fetch', 'liquidation']);
  assert.match(warned[0]!.message, /known: .*latencyMs/);
});

test('item 11: a missing event gets a message a user can act on', async (t) => {
  const { m, invalid, logger } = setup(t, 'no-event');
  m.fetch!(undefined);
  assert.equal(await invalid('fetch', '(event)'), 1);
  const line = logger.lines.find((l) => l.context.method === 'fetch');
  assert.match(line!.message, /fetch\(\) takes an event object \(\{ exchange, dataset, symbol, status, … \}\), got undefined/);
  assert.doesNotMatch(line!.message, /Cannot read properties/);
});

test('item 12: a timestamp older than the table keeps (seconds passed as milliseconds) is refused and counted', async (t) => {
  const { m, invalid, count, sentinel, logger } = setup(t, 'ttl');
  const seconds = Math.floor(Date.now() / 1000);
  m.fetch!({ ...fetchBase, at: seconds });
  m.fetch!({ ...fetchBase, at: Date.now() - 400 * 86_400_000 }); // tw_fetches keeps less than 400 days
  m.fetch!({ ...fetchBase, at: Date.now() - 60_000 });
  await sentinel();
  assert.equal(await invalid('fetch', 'at'), 2);
  assert.equal(await count('tw_fetches', "AND exchange = 'okx'"), 1);
  const line = logger.lines.find((l) => l.context.method === 'fetch' && l.context.field === 'at');
  assert.match(line!.message, /tw_fetches\.ts is 1970-01-\d\dT.*older than the table keeps \(TTL \d+ \w+\).*seconds where milliseconds are expected/);
});

test('item 13: a negative latency is refused', async (t) => {
  const { m, invalid, count, sentinel } = setup(t, 'latency');
  m.fetch!({ ...fetchBase, latencyMs: -5 });
  m.fetch!({ ...fetchBase, latencyMs: 0 });
  await sentinel();
  assert.equal(await invalid('fetch', 'latencyMs'), 1);
  assert.equal(await count('tw_fetches', "AND exchange = 'okx'"), 1);
});

test('item 12: a configured retention longer than the default is honoured (retention option)', async (t) => {
  const service = `input-retention-${run}`;
  const logger = memoryLogger();
  const writer = createWriter({ url, service, logger });
  const registry = new Registry();
  const monitor = createMonitor({ service, writer, registry, logger, sampleIntervalMs: 0, retention: { tw_fetches: { value: 5, unit: 'YEARS' } } });
  t.after(async () => {
    await monitor.shutdown();
    await writer.close();
  });
  monitor.fetch({ exchange: 'okx', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'ok', at: Date.now() - 400 * 86_400_000 });
  assert.equal(await metricSum(registry, 'tradewatch_sdk_invalid_calls_total', { service }), 0);
  assert.equal(await metricSum(registry, 'tradewatch_fetches_total', { service }), 1);
});
