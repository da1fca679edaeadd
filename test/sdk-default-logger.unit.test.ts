import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

// The default logger is pino, loaded on the first line logged rather than at import (import time, issue 10).
// A child process, so that "not loaded yet" is not disturbed by other tests that loaded pino.
const child = `
import { createRequire } from 'node:module';
const loaded = () => Object.keys(createRequire(import.meta.url).cache).some((path) => /[\\\\/]pino[\\\\/]pino\\.js$/.test(path));
const { createMonitor } = await import('./packages/sdk/src/index.ts');
const monitor = createMonitor({ service: 'logger-check', writer: { write() {}, flush: async () => {}, close: async () => {}, stats: () => ({}) }, sampleIntervalMs: 0 });
const beforeFirstLine = loaded();
monitor.fetch(null);
process.stdout.write(JSON.stringify({ beforeFirstLine, afterFirstLine: loaded() }));
`;

test('the default logger loads pino only for its first line, and that line is pino JSON on stderr naming the problem', async () => {
  const { stdout, stderr } = await run('node', ['--import', 'tsx', '--input-type=module', '-e', child], { timeout: 120_000 });
  assert.deepEqual(JSON.parse(stdout), { beforeFirstLine: false, afterFirstLine: true });
  const line = JSON.parse(stderr.split('\n').find((l) => l.includes('"tradewatch-sdk"')) ?? '{}') as { level?: number; name?: string; method?: string };
  assert.equal(line.name, 'tradewatch-sdk');
  assert.equal(line.level, 40);
  assert.equal(line.method, 'fetch');
});
