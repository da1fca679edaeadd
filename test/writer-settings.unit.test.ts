import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ErrorCodes, isTradewatchError } from '../packages/sdk/src/common/errors.js';
import { zodFromSettingsSpec } from '../packages/cli/src/config/settings-zod.js';
import { createWriter, settingDefaults, validateSettings, writerSettingsSpec } from '../packages/sdk/src/storage/index.js';
import { FakeTransport } from './helpers/fake-transport.js';

// One spec, two validators: the SDK's own (createWriter) and the zod schema the CLI's config builds from it.
const cliSchema = zodFromSettingsSpec(writerSettingsSpec);

test('the SDK validator and the CLI zod schema fill in the same defaults', () => {
  const sdk = validateSettings(writerSettingsSpec, {});
  assert.ok(sdk.ok);
  assert.deepEqual(cliSchema.parse({}), sdk.value);
  assert.deepEqual(sdk.value, settingDefaults(writerSettingsSpec));
  assert.deepEqual(sdk.value, {
    flushIntervalMs: 250,
    flushRows: 5000,
    maxBufferedBytes: 64 * 1024 * 1024,
    spool: { maxBytes: 1024 * 1024 * 1024, onFull: 'drop-oldest' },
    requestTimeoutMs: 10_000,
    retry: { initialDelayMs: 250, maxDelayMs: 5_000, configErrorDelayMs: 30_000 },
  });
  // A partly given group keeps the defaults of the rest, in both.
  const partial = { spool: { onFull: 'drop-newest' }, retry: { maxDelayMs: 60_000 } };
  const sdkPartial = validateSettings(writerSettingsSpec, partial);
  assert.ok(sdkPartial.ok);
  assert.deepEqual(cliSchema.parse(partial), sdkPartial.value);
  assert.equal((sdkPartial.value.spool as { maxBytes: number }).maxBytes, 1024 * 1024 * 1024);
});

// [settings, accepted?, the setting a refusal names]
const table: [Record<string, unknown>, boolean, string?][] = [
  [{ flushIntervalMs: 1 }, true],
  [{ flushIntervalMs: 250 }, true],
  [{ flushIntervalMs: 251 }, false, 'flushIntervalMs'],
  [{ flushIntervalMs: 0 }, false, 'flushIntervalMs'],
  [{ flushIntervalMs: 2.5 }, false, 'flushIntervalMs'],
  [{ flushIntervalMs: '100' }, false, 'flushIntervalMs'],
  [{ flushIntervalMs: Number.NaN }, false, 'flushIntervalMs'],
  [{ flushIntervalMs: null }, false, 'flushIntervalMs'],
  [{ flushIntervalMs: undefined }, true],
  [{ flushRows: 1_000_000 }, true],
  [{ flushRows: 1_000_001 }, false, 'flushRows'],
  [{ maxBatchBytes: 1023 }, false, 'maxBatchBytes'],
  [{ maxBatchBytes: 1024 }, true],
  [{ maxBufferedBytes: 64 * 1024 - 1 }, false, 'maxBufferedBytes'],
  [{ maxBufferedBytes: 2 ** 40 }, true],
  [{ maxBufferedBytes: 2 ** 60 }, false, 'maxBufferedBytes'],
  [{ lowWaterMark: 0 }, true],
  [{ lowWaterMark: -1 }, false, 'lowWaterMark'],
  [{ spoolDir: '' }, false, 'spoolDir'],
  [{ spoolDir: 'x' }, true],
  [{ spoolDir: 3 }, false, 'spoolDir'],
  [{ quarantineDir: '/q' }, true],
  [{ spool: { onFull: 'drop-newest' } }, true],
  [{ spool: { onFull: 'drop-everything' } }, false, 'spool.onFull'],
  [{ spool: { maxBytes: 1000 } }, false, 'spool.maxBytes'],
  [{ spool: { segmentBytes: 4096 } }, true],
  [{ spool: { extra: 1 } }, false, 'spool.extra'],
  [{ spool: null }, false, 'spool'],
  [{ spool: 'big' }, false, 'spool'],
  [{ retry: { initialDelayMs: 0 } }, false, 'retry.initialDelayMs'],
  [{ retry: { configErrorDelayMs: 1 } }, true],
  [{ requestTimeoutMs: 99 }, false, 'requestTimeoutMs'],
  [{ bogus: 1 }, false, 'bogus'],
];

test('the SDK validator and the CLI zod schema accept and refuse the same values', () => {
  for (const [settings, accepted, name] of table) {
    const label = JSON.stringify(settings);
    const sdk = validateSettings(writerSettingsSpec, settings);
    const cli = cliSchema.safeParse(settings);
    assert.equal(sdk.ok, accepted, `SDK on ${label}`);
    assert.equal(cli.success, accepted, `CLI on ${label}`);
    if (sdk.ok && cli.success) assert.deepEqual(cli.data, sdk.value, label);
    if (!sdk.ok) assert.equal(sdk.problem.path, name, `SDK names the setting of ${label}`);
  }
});

test('createWriter refuses a bad setting with TW_INVALID_CONFIG naming the setting and the value', () => {
  for (const [settings, accepted, name] of table) {
    if (accepted) continue;
    assert.throws(
      () => createWriter({ url: 'http://127.0.0.1:9', service: 's', ...settings }, { transport: new FakeTransport() }),
      (err: unknown) => isTradewatchError(err, ErrorCodes.INVALID_CONFIG) && err.message.includes(`writer: ${name}: `) && /, got /.test(err.message),
      JSON.stringify(settings),
    );
  }
});
