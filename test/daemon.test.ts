/**
 * The daemon process: `tradewatch daemon --simulate` against a real QuestDB, stopped by SIGTERM: exit status 0 and a
 * `stop` row; an invalid config refused with status 2. Its configuration and error handling: daemon.unit.test.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { until } from './helpers/until.js';

const dir = mkdtempSync(join(tmpdir(), 'tw-daemon-'));

const PACKAGE_VERSION = (JSON.parse(readFileSync('packages/cli/package.json', 'utf8')) as { version: string }).version;

/**
 * `node bin/tradewatch.js …` as an installed CLI runs, without npm's npm_package_version: the daemon must report the
 * package's version on its own (issue 13 item 17).
 */
function runCli(args: string[], env: NodeJS.ProcessEnv) {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, ...env };
  delete childEnv.npm_package_version;
  return spawn(process.execPath, ['packages/cli/bin/tradewatch.js', ...args], {
    cwd: process.cwd(),
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

test('tradewatch daemon refuses an invalid config with exit status 2, naming the field', async () => {
  const child = runCli(['daemon'], { TRADEWATCH_DAEMON_EXCHANGES: 'nosuch=BTC/USDT:USDT', TRADEWATCH_QUESTDB_URL: 'http://127.0.0.1:1' });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  assert.equal(code, 2, stderr);
  assert.match(stderr, /daemon\.exchanges\.0\.id: "nosuch" is not a ccxt exchange.*\[TW_INVALID_CONFIG\]/s);
});

test('SIGTERM stops a running daemon cleanly: exit 0 and a stop row, both with the package version', async () => {
  const server = await useQuestDb(undefined, { schema: true });
  const db = new SqlClient({ url: server.httpUrl });
  const instance = `sigterm-${process.pid}`;
  const child = runCli(['daemon', '--simulate', '--metrics-port', '0'], {
    TRADEWATCH_QUESTDB_URL: server.httpUrl,
    TRADEWATCH_WRITER_SPOOL_DIR: join(dir, 'spool'),
    TRADEWATCH_INSTANCE: instance,
    TRADEWATCH_DAEMON_EXCHANGES: 'binanceusdm=BTC/USDT:USDT;bybit=ETH/USDT:USDT',
    TRADEWATCH_DAEMON_OPEN_INTEREST_INTERVAL_MS: '300',
    TRADEWATCH_DAEMON_FUNDING_INTERVAL_MS: '600',
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

  const deadline = Date.now() + 60_000;
  while (!/metrics +http:\/\/\S+\/metrics/.test(stdout)) {
    if (Date.now() > deadline || child.exitCode !== null) assert.fail(`daemon did not start:\n${stdout}\n${stderr}`);
    await sleep(100);
  }
  const metricsUrl = /metrics +(http:\/\/\S+\/metrics)/.exec(stdout)![1]!;
  // Running: fetches counted on /metrics and stored in QuestDB.
  for (;;) {
    const text = await (await fetch(metricsUrl)).text();
    const [rows] = await db.rows<{ n: number }>(`SELECT count() n FROM tw_fetches WHERE instance = '${instance}' AND status = 'ok'`);
    if (/tradewatch_fetches_total\{[^}]*exchange="bybit"/.test(text) && Number(rows?.n) >= 4) break;
    if (Date.now() > deadline) assert.fail(`no fetches:\n${stdout}\n${stderr}`);
    await sleep(250);
  }

  child.kill('SIGTERM');
  const { code, signal } = await exited;
  assert.equal(signal, null, stderr);
  assert.equal(code, 0, stderr);
  assert.match(stderr, /stopped cleanly/);

  const stopDeadline = Date.now() + 30_000;
  const events = await (async () => {
    for (;;) {
      const rows = await db.rows<{ event: string; reason: string | null; version: string }>(
        `SELECT event, reason, version FROM tw_process_events WHERE service = 'ccxt-daemon' AND instance = '${instance}' ORDER BY ts`,
      );
      if (rows.some((r) => r.event === 'stop') || Date.now() > stopDeadline) return rows;
      await sleep(200);
    }
  })();
  assert.deepEqual(events.map((e) => e.event), ['start', 'stop']);
  assert.equal(events[1]!.reason, 'SIGTERM');
  assert.deepEqual(events.map((e) => e.version), [PACKAGE_VERSION, PACKAGE_VERSION], 'the package version, without npm_package_version');
  // The streams were recorded as stopped, not as failures (awaited: that table applies its WAL on its own schedule).
  const last = await until('the last liquidations connection row', async () => {
    const [row] = await db.rows<{ state: string; reason: string }>(
      `SELECT state, reason FROM tw_connection_events WHERE instance = '${instance}' AND exchange = 'bybit' AND channel = 'liquidations' LATEST ON ts PARTITION BY exchange`,
    );
    return row?.state === 'disconnected' ? row : undefined;
  }, 30_000);
  assert.deepEqual(last, { state: 'disconnected', reason: 'daemon stopped' });
});
