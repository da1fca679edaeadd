/**
 * The writer's logic in virtual time, through a fake transport: the flush timer, the retry backoff (the policy shared
 * with the daemon), access errors, and its settings (one schema, shared with the config). The same behaviour against
 * real QuestDB, outages included, is in storage-writer.test.ts and storage-faults.test.ts.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isTradewatchError } from '../packages/sdk/src/common/errors.js';
import { loadConfig } from '../packages/cli/src/config/index.js';
import { createWriter, validateSettings, writerSettingsSpec, type WriterOptions } from '../packages/sdk/src/storage/index.js';
import { FakeTransport } from './helpers/fake-transport.js';
import { tableDef } from './helpers/rows.js';
import { VirtualClock } from './helpers/virtual-clock.js';
import { captureLogger, quietLogger } from './helpers/writer.js';

const table = tableDef('tw_unit', [['id', 'LONG']]);
const url = 'http://questdb.invalid:9000';

function open(options: Partial<WriterOptions> = {}, logger = quietLogger) {
  const clock = new VirtualClock();
  const transport = new FakeTransport();
  const writer = createWriter({ url, service: 'unit', logger, ...options }, { transport, clock, random: () => 1 });
  return { clock, transport, writer };
}

test('a batch is sealed and sent by the flush timer, not before', async (t) => {
  const { clock, transport, writer } = open({ flushIntervalMs: 250 });
  t.after(() => writer.close());
  writer.write(table, { ts: 1, id: 1 });
  await clock.advance(249);
  assert.equal(transport.requests, 0, 'nothing sent before the interval');
  await clock.advance(1);
  assert.equal(transport.requests, 1);
  assert.equal(writer.stats().rowsWritten, 1);
  await clock.advance(10_000);
  assert.equal(transport.requests, 1, 'an empty batch is never sent');
});

test('flushRows seals a batch at once; lag is measured on the writer clock', async (t) => {
  const { clock, transport, writer } = open({ flushRows: 3 });
  t.after(() => writer.close());
  transport.auto = false;
  writer.write(table, { ts: 1, id: 1 });
  await clock.advance(100);
  assert.equal(writer.stats().lagMs, 100);
  writer.write(table, { ts: 2, id: 2 });
  writer.write(table, { ts: 3, id: 3 });
  await clock.advance(0);
  assert.equal(transport.waiting, 1, 'the third row sealed the batch');
  transport.answerNext();
  await clock.advance(0);
  assert.equal(writer.stats().lagMs, 0);
});

test('an unreachable QuestDB is probed with doubling pauses up to the cap, and reached again at once', async (t) => {
  const logger = captureLogger();
  const { clock, transport, writer } = open({ retry: { initialDelayMs: 100, maxDelayMs: 1000 } }, logger);
  t.after(() => writer.close());
  transport.mode = 'down';
  writer.write(table, { ts: 1, id: 1 });
  const probes: number[] = [];
  const start = clock.now();
  for (let i = 0; i < 8; i++) {
    const before = transport.requests;
    while (transport.requests === before) await clock.advanceToNext();
    probes.push(clock.now() - start);
  }
  // random() = 1: each pause is the full step. First send at the 250 ms flush, then +100, +200, +400, +800, +1000...
  assert.deepEqual(probes, [250, 350, 550, 950, 1750, 2750, 3750, 4750]);
  assert.equal(writer.stats().connected, false);
  assert.equal(logger.lines.filter((l) => /unreachable/.test(l.message)).length, 1, 'one log line for the outage, not one per probe');
  transport.mode = 'up';
  await clock.advance(1000);
  assert.equal(writer.stats().connected, true);
  assert.equal(writer.stats().rowsWritten, 1);
  assert.ok(logger.lines.some((l) => l.message === 'QuestDB reachable again'));
});

test('refused access waits configErrorDelayMs between attempts and keeps the data', async (t) => {
  const { clock, transport, writer } = open({ retry: { configErrorDelayMs: 30_000 } });
  t.after(() => writer.close());
  transport.mode = 'config';
  writer.write(table, { ts: 1, id: 1 });
  await clock.advance(250);
  assert.equal(transport.requests, 1);
  await clock.advance(29_999);
  assert.equal(transport.requests, 1);
  await clock.advance(1);
  assert.equal(transport.requests, 2);
  assert.match(writer.stats().lastError ?? '', /HTTP 401/);
  transport.mode = 'up';
  await clock.advance(30_000);
  assert.equal(writer.stats().rowsWritten, 1);
});

test('bad settings are refused naming the setting and the value', () => {
  const refused = (options: Partial<WriterOptions>, pattern: RegExp) =>
    assert.throws(
      () => createWriter({ url, service: 's', ...options }, { transport: new FakeTransport() }),
      (err: unknown) => isTradewatchError(err, ErrorCodes.INVALID_CONFIG) && pattern.test(err.message),
    );
  refused({ flushIntervalMs: 300 }, /flushIntervalMs.*got 300/);
  refused({ flushRows: 0 }, /flushRows.*got 0/);
  refused({ spool: { maxBytes: 1000 } }, /spool\.maxBytes.*got 1000/);
  refused({ spool: { onFull: 'drop-everything' as 'drop-oldest' } }, /spool\.onFull.*"drop-everything"/);
  refused({ retry: { initialDelayMs: 0 } }, /retry\.initialDelayMs.*got 0/);
  refused({ maxBatchBytes: 128 * 1024 * 1024 }, /maxBatchBytes must be at most/);
  refused({ url: 'nope' }, /url "nope"/);
  refused({ service: '' }, /service/);
  refused({ bogus: 1 } as Partial<WriterOptions>, /bogus/);
});

test('one writer-settings schema: the config composes it, with the same defaults and limits', () => {
  const config = loadConfig({ env: {} });
  const checked = validateSettings(writerSettingsSpec, {});
  assert.ok(checked.ok);
  const writerDefaults = checked.value;
  const { spoolDir, ...rest } = config.writer;
  assert.equal(spoolDir, '.cache/spool', 'the CLI spools by default');
  assert.deepEqual(rest, writerDefaults);
  // The same limit in both places (the config once allowed flushIntervalMs >= 10, the writer >= 1).
  assert.equal(loadConfig({ env: { TRADEWATCH_WRITER_FLUSH_INTERVAL_MS: '1' } }).writer.flushIntervalMs, 1);
  assert.throws(() => loadConfig({ env: { TRADEWATCH_WRITER_SPOOL_MAX_BYTES: '1000' } }), /writer\.spool\.maxBytes/);
  assert.equal(loadConfig({ env: { TRADEWATCH_WRITER_SPOOL_ON_FULL: 'drop-newest' } }).writer.spool.onFull, 'drop-newest');
});

test('the configuration is frozen after validation', () => {
  const config = loadConfig({ env: {} });
  assert.ok(Object.isFrozen(config) && Object.isFrozen(config.writer) && Object.isFrozen(config.writer.spool) && Object.isFrozen(config.daemon.exchanges));
  assert.throws(() => {
    (config.writer as { flushRows: number }).flushRows = 1;
  }, TypeError);
});
