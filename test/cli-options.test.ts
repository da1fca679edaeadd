import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

/** Issue 13 items 14 (option errors are configuration errors) and 17 (the version comes from the package). */
const run = promisify(execFile);
const PACKAGE_VERSION = (JSON.parse(readFileSync('packages/cli/package.json', 'utf8')) as { version: string }).version;

async function tradewatch(env: NodeJS.ProcessEnv, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run('node', ['packages/cli/bin/tradewatch.js', ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('item 14: a bad port, as a flag or a variable, is TW_INVALID_CONFIG naming its spellings and the value, exit 2', async () => {
  const dataRoot = await mkdtemp(join(tmpdir(), 'tradewatch-opts-'));
  try {
    const env = { ...process.env, TRADEWATCH_QUESTDB_DATA_ROOT: dataRoot };
    for (const [value, extraEnv, args] of [
      ['abc', {}, ['--http-port', 'abc']],
      ['70000', {}, ['--http-port', '70000']],
      ['abc', { TRADEWATCH_QUESTDB_HTTP_PORT: 'abc' }, []],
    ] as const) {
      const r = await tradewatch({ ...env, ...extraEnv }, 'questdb', 'start', ...args);
      assert.equal(r.code, 2, `${JSON.stringify(args)} ${JSON.stringify(extraEnv)}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`--http-port \\(TRADEWATCH_QUESTDB_HTTP_PORT\\) must be a port number 1-65535, got "${value}" \\[TW_INVALID_CONFIG\\]`));
    }
    const metrics = await tradewatch(env, 'daemon', '--metrics-port', 'abc', '--questdb-url', 'http://127.0.0.1:9');
    assert.equal(metrics.code, 2, metrics.stderr);
    assert.match(metrics.stderr, /--metrics-port \(daemon\.metricsPort, TRADEWATCH_DAEMON_METRICS_PORT\) must be a number, got "abc" \[TW_INVALID_CONFIG\]/);
    const envPort = await tradewatch({ ...env, TRADEWATCH_DAEMON_METRICS_PORT: 'abc' }, 'daemon', '--questdb-url', 'http://127.0.0.1:9');
    assert.equal(envPort.code, 2, envPort.stderr);
    assert.match(envPort.stderr, /TRADEWATCH_DAEMON_METRICS_PORT \(daemon\.metricsPort, --metrics-port\) must be a number, got "abc"/);
    const range = await tradewatch(env, 'daemon', '--metrics-port', '70000', '--questdb-url', 'http://127.0.0.1:9');
    assert.equal(range.code, 2, range.stderr);
    assert.match(range.stderr, /daemon\.metricsPort \(TRADEWATCH_DAEMON_METRICS_PORT, --metrics-port\): .*65535, got 70000/);
    const interval = await tradewatch(env, 'exporter', '--once', '--interval-ms', '-3', '--target', 'x=http://127.0.0.1:9/metrics', '--questdb-url', 'http://127.0.0.1:9');
    assert.equal(interval.code, 2, interval.stderr);
    assert.match(interval.stderr, /--interval-ms must be a positive integer, got "-3" \[TW_INVALID_CONFIG\]/);
    const duration = await tradewatch(env, 'demo', '--duration', 'soon');
    assert.equal(duration.code, 2, duration.stderr);
    assert.match(duration.stderr, /--duration must be a positive number, got "soon"/);
  } finally {
    await rm(dataRoot, { recursive: true, force: true });
  }
});

test('item 14: an unknown nested key in the config file names the key and the known ones, not spellings that do not exist', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'tradewatch-opts-'));
  try {
    const file = join(dir, 'tradewatch.yaml');
    await writeFile(file, 'questdb:\n  url: http://127.0.0.1:9\n  bogus: 1\n');
    const r = await tradewatch(process.env, 'schema', 'apply', '--config', file);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /questdb\.bogus: unknown setting in .*tradewatch\.yaml \(known under questdb: url, dataRoot\)/);
    assert.doesNotMatch(r.stderr, /TRADEWATCH_QUESTDB,|--questdb\)/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('item 17: the CLI reports the package version when run as `node bin/tradewatch.js` (no npm_package_version)', async () => {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.npm_package_version;
  assert.equal((await tradewatch(env, '--version')).stdout.trim(), PACKAGE_VERSION);
  // The daemon's start and stop rows carry it too: test/daemon.test.ts runs a daemon exactly so.
});
