import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, envName, flagName } from '../packages/cli/src/config/index.js';
import { isTradewatchError } from '../packages/sdk/src/common/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'tw-config-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};

test('one name, three spellings: file path, environment variable, CLI flag', () => {
  assert.equal(envName('questdb.dataRoot'), 'TRADEWATCH_QUESTDB_DATA_ROOT');
  assert.equal(flagName('questdb.dataRoot'), '--questdb-data-root');
  assert.equal(envName('writer.flushIntervalMs'), 'TRADEWATCH_WRITER_FLUSH_INTERVAL_MS');
});

test('defaults apply without a file', () => {
  const config = loadConfig({ env: {}, file: undefined });
  assert.equal(config.writer.flushIntervalMs, 250);
  assert.equal(config.questdb.url, undefined);
});

test('precedence: flag over environment over file', () => {
  const path = file('a.yaml', 'service: from-file\nwriter:\n  flushRows: 100\n');
  assert.equal(loadConfig({ file: path, env: {} }).service, 'from-file');
  assert.equal(loadConfig({ file: path, env: { TRADEWATCH_SERVICE: 'from-env' } }).service, 'from-env');
  const flagged = loadConfig({
    file: path,
    env: { TRADEWATCH_SERVICE: 'from-env', TRADEWATCH_WRITER_FLUSH_ROWS: '200' },
    flags: { service: 'from-flag' },
  });
  assert.equal(flagged.service, 'from-flag');
  assert.equal(flagged.writer.flushRows, 200);
});

test('an invalid value is refused with the field, its other spellings and the value', () => {
  const path = file('b.yaml', 'writer:\n  flushIntervalMs: 5000\n');
  assert.throws(
    () => loadConfig({ file: path, env: {} }),
    (err: unknown) => {
      assert.ok(isTradewatchError(err, 'TW_INVALID_CONFIG'));
      assert.match(err.message, /writer\.flushIntervalMs/);
      assert.match(err.message, /TRADEWATCH_WRITER_FLUSH_INTERVAL_MS/);
      assert.match(err.message, /5000/);
      return true;
    },
  );
  assert.throws(() => loadConfig({ env: { TRADEWATCH_WRITER_FLUSH_ROWS: 'lots' } }), /TRADEWATCH_WRITER_FLUSH_ROWS \(writer\.flushRows, --writer-flush-rows\) must be a number, got "lots"/);
  assert.throws(() => loadConfig({ env: { TRADEWATCH_QUESTDB_URL: 'ftp://x' } }), /questdb\.url/);
});

test('unknown keys in the file are refused (typos do not pass silently)', () => {
  const path = file('c.yaml', 'questdb:\n  urll: http://localhost:9000\n');
  assert.throws(() => loadConfig({ file: path, env: {} }), /urll/);
});

test('a renamed alert rule in the file is refused with its new name and what its threshold means now, naming field and value', () => {
  const path = file('renamed.yaml', 'alerts:\n  rules:\n    spoolGrowth:\n      threshold: 8\n      for: 2m\n    cpuHihg:\n      threshold: 75\n');
  assert.throws(
    () => loadConfig({ file: path, env: {} }),
    (err: unknown) => {
      assert.ok(isTradewatchError(err));
      assert.equal(err.code, 'TW_INVALID_CONFIG');
      const lines = err.message.split('\n').map((l) => l.trim());
      const renamed = lines.find((l) => l.startsWith('alerts.rules.spoolGrowth.threshold = 8, alerts.rules.spoolGrowth.for = "2m" in '));
      assert.ok(renamed, err.message);
      assert.match(renamed, /the rule spoolGrowth was renamed spoolFull, and its threshold now means hours left until a writer's spool reaches its bound .* \(default 24 h\), no longer MiB .* in 10 minutes/);
      assert.match(renamed, /under alerts\.rules\.spoolFull/);
      // Any other unknown key beside it is still reported as one, with the known rules.
      assert.ok(lines.some((l) => /^alerts\.rules\.cpuHihg: unknown setting in .*\(known under alerts\.rules: .*spoolFull/.test(l)), err.message);
      assert.ok(!lines.some((l) => /spoolGrowth: unknown setting/.test(l)), 'not also "unknown"');
      return true;
    },
  );
});
