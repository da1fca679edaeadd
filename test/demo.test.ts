import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { METRICS } from '../packages/sdk/src/sdk/prometheus/catalog.js';
import { SMALL_FOOTPRINT_CONFIG, startQuestDb } from '../packages/cli/src/questdb/index.js';
import { createWriter, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { waitFor } from './helpers/rows.js';
import { until } from './helpers/until.js';

/**
 * The demo as a user runs it (`npm run demo`), stopped the way a terminal stops it: SIGINT to its whole process
 * group. Nothing may be lost, nothing left running, and "stopped cleanly" printed only when the writers'
 * accounting says so.
 */

interface Demo {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function startDemo(args: string[], env: NodeJS.ProcessEnv): Demo {
  // detached: a process group of its own, like a job in a terminal, so that -pid reaches all of it.
  const child = spawn('npm', ['run', '--silent', 'demo', '--', '--metrics-port', '0', '--strategy-metrics-port', '0', ...args], {
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, stdout: () => stdout, stderr: () => stderr, exited };
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Pids still in process group `pgid` (none once everything the demo ran is gone). */
const groupMembers = (pgid: number) =>
  spawnSync('ps', ['-o', 'pid=', '-g', String(pgid)], { encoding: 'utf8' }).stdout.split('\n').map((s) => s.trim()).filter(Boolean);

const bannerUrl = (demo: Demo, label: string) => {
  const match = new RegExp(`${label} +(http://\\S+)`).exec(demo.stdout());
  assert.ok(match, `banner line ${label} in:\n${demo.stdout()}`);
  return match[1]!;
};

async function waitForBanner(demo: Demo): Promise<void> {
  await waitFor(() => /Press Ctrl-C to stop\./.test(demo.stdout()) || demo.child.exitCode !== null || demo.child.signalCode !== null, 240_000, () => `demo banner; stderr:\n${demo.stderr()}`);
  assert.ok(demo.child.exitCode === null && demo.child.signalCode === null, `demo exited early:\n${demo.stderr()}`);
}

test('Ctrl-C to the process group of `npm run demo`: producers flushed first, QuestDB (supervised, own group) last, nothing lost or left running', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tradewatch-demo-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const dataRoot = join(root, 'questdb');
  const spoolDir = join(root, 'spool');
  const env: NodeJS.ProcessEnv = { ...process.env, TRADEWATCH_QUESTDB_DATA_ROOT: dataRoot, TRADEWATCH_WRITER_SPOOL_DIR: spoolDir };
  delete env.TRADEWATCH_QUESTDB_URL;
  const demo = startDemo([], env);
  t.after(() => {
    if (demo.child.exitCode === null && demo.child.signalCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
  });
  await waitForBanner(demo);

  // Item 3: every process the demo runs is scrapeable, and listed in the banner.
  const strategyBody = await until('strategy metrics with fills', async () => {
    const body = await (await fetch(bannerUrl(demo, 'strategy /metrics'))).text();
    return body.includes('tradewatch_fills_total{') ? body : undefined;
  }, 60_000);
  const tradingFamilies = Object.values(METRICS).filter((m) => m.group === 'trading');
  assert.equal(tradingFamilies.length, 10, 'the documented trading families (docs/metrics.md)');
  for (const family of tradingFamilies) assert.match(strategyBody, new RegExp(`^# TYPE ${family.name} `, 'm'), `${family.name} exposed`);
  assert.match(await (await fetch(bannerUrl(demo, 'daemon /metrics'))).text(), /^# TYPE tradewatch_fetches_total counter/m);
  assert.match(await (await fetch(bannerUrl(demo, 'QuestDB /metrics'))).text(), /questdb_/);
  // Item 6: the fault API is printed with an example, and the hint works in a clone.
  assert.match(demo.stdout(), /curl -X POST http:\/\/127\.0\.0\.1:\d+\/control\/bybit\/fault/);
  assert.match(demo.stdout(), /npx tradewatch query/);
  assert.match(demo.stdout(), /simulated binanceusdm +http:\/\/127\.0\.0\.1:\d+/);
  // Faults are announced when they start and when they end (scheduled ones go through the same path as this one).
  const faultUrl = /curl -X POST (http:\/\/127\.0\.0\.1:\d+\/control\/bybit\/fault)/.exec(demo.stdout())![1]!;
  const injected = await fetch(faultUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'latency', ms: 5, duration: '2s' }) });
  assert.equal(injected.status, 201);
  await waitFor(() => /simulator: fault ended .*latency/.test(demo.stderr()), 60_000, () => `fault announcements; stderr:\n${demo.stderr()}`);
  assert.match(demo.stderr(), /simulator: fault started: .*bybit.*latency/);

  // Item 2: the demo supervises the QuestDB it started. A SIGKILL is announced and followed by a restart.
  const firstPid = Number(/QuestDB \/metrics .*\(pid (\d+)/.exec(demo.stdout())?.[1]);
  assert.ok(firstPid > 0 && alive(firstPid));
  assert.notEqual(Number(spawnSync('ps', ['-o', 'pgid=', '-p', String(firstPid)], { encoding: 'utf8' }).stdout.trim()), demo.child.pid, 'QuestDB is not in the demo group');
  process.kill(firstPid, 'SIGKILL');
  await waitFor(() => /QuestDB restarted/.test(demo.stderr()), 180_000, () => `restart; stderr:\n${demo.stderr()}`);
  assert.match(demo.stderr(), /QuestDB exited unexpectedly; .*signal=SIGKILL/);
  const secondPid = Number(/QuestDB restarted;.*pid=(\d+)/.exec(demo.stderr())?.[1]);
  assert.ok(secondPid > 0 && secondPid !== firstPid && alive(secondPid));

  // A terminal's Ctrl-C: SIGINT to every process of the foreground group (npm, bash, node).
  const stopAt = Date.now();
  process.kill(-demo.child.pid!, 'SIGINT');
  const exit = await demo.exited;
  const stopMs = Date.now() - stopAt;
  const stderr = demo.stderr();
  // npm re-raises the SIGINT it got once its script has ended (so a shell sees an interrupted job); the demo's own
  // verdict is in its output.
  assert.ok(exit.code === 0 || exit.signal === 'SIGINT', `exit ${JSON.stringify(exit)}; stderr:\n${stderr}`);
  assert.match(stderr, /stopped cleanly: every accepted row is stored in QuestDB/);
  for (const name of ['daemon', 'strategy', 'exporter']) assert.match(stderr, new RegExp(`demo: ${name}: (\\d+) rows accepted, \\1 stored\\n`));
  // Producers before QuestDB: the writers' accounting is printed after QuestDB stopped, and nothing was lost on the way.
  assert.doesNotMatch(stderr, /they are lost|NOT cleanly/);
  // One log format: every stderr line is `<ISO time> <level> <component>: …` (no pino JSON in between).
  for (const line of stderr.split('\n').filter(Boolean)) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (info |warn |error) [a-z ]+: /, `log line: ${line}`);
  t.diagnostic(`stopped ${stopMs} ms after SIGINT (2-core machine, loaded)`);

  // Nothing left running: the demo's group is empty and the QuestDB it (re)started is gone.
  await waitFor(() => groupMembers(demo.child.pid!).length === 0, 10_000, () => `left in the group: ${groupMembers(demo.child.pid!).join(' ')}`);
  assert.equal(alive(secondPid), false, 'the restarted QuestDB was stopped');

  // Nothing lost: the final rows (stop events, the final scrape) are in QuestDB and no spool holds a pending row.
  const server = await startQuestDb({ dataRoot, extraConfig: SMALL_FOOTPRINT_CONFIG });
  try {
    const sql = new SqlClient({ url: server.httpUrl });
    const stops = async (service: string) =>
      Number((await sql.rows<{ n: number }>(`SELECT count() n FROM tw_process_events WHERE service = '${service}' AND event = 'stop'`))[0]?.n);
    // The restarted server applies its WAL on its own schedule: awaited, not read once.
    for (const service of ['ccxt-daemon', 'demo-strategy']) await waitFor(async () => (await stops(service)) >= 1, 60_000, () => `${service} stop row`);
    for (const service of ['ccxt-daemon', 'demo-strategy']) assert.equal(await stops(service), 1, `${service} stop row once`);
    // Market data fetched by real ccxt from the simulator, what monitoring recorded about it, the paper strategy's
    // trading rows, and the exporter's scrape of the daemon's /metrics.
    const count = async (table: string, where = '') => Number((await sql.rows<{ n: number }>(`SELECT count() n FROM ${table} ${where}`))[0]?.n);
    for (const [table, where] of [
      ['tw_fetches', ''], ['tw_open_interest', ''], ['tw_funding_rates', ''], ['tw_liquidations', ''], ['tw_connection_events', ''],
      ['tw_strategy_pnl', ''], ['tw_orders', ''], ['tw_fills', ''],
      ['tw_fetches', "WHERE exchange = 'bybit' AND status = 'ok'"],
      ['tw_metrics', "WHERE service = 'ccxt-daemon' AND name = 'tradewatch_fetches_total'"],
    ] as const) {
      let n = -1;
      await waitFor(async () => (n = await count(table, where)) > 0, 60_000, () => `${table} ${where}: ${n} row(s)`);
    }
    for (const name of ['daemon', 'strategy', 'exporter']) {
      const probe = createWriter({ url: server.httpUrl, service: 'probe', spoolDir: join(spoolDir, 'demo', name) });
      const pending = probe.stats().spoolRows;
      await probe.close();
      assert.equal(pending, 0, `${name} spool holds no pending row`);
    }
  } finally {
    await server.stop(); // before the data root is removed
  }
});

test('a demo whose QuestDB is gone at Ctrl-C does not claim a clean stop: it says what is pending and where', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'tradewatch-demo-'));
  t.after(() => rm(root, { recursive: true, force: true }));
  const questdb = await useQuestDb(t, { schema: true });
  const spoolDir = join(root, 'spool');
  const demo = startDemo(['--questdb-url', questdb.httpUrl], { ...process.env, TRADEWATCH_WRITER_SPOOL_DIR: spoolDir });
  t.after(() => {
    if (demo.child.exitCode === null && demo.child.signalCode === null) process.kill(-demo.child.pid!, 'SIGKILL');
  });
  await waitForBanner(demo);
  await questdb.kill();
  process.kill(-demo.child.pid!, 'SIGINT');
  const exit = await demo.exited;
  const stderr = demo.stderr();
  assert.ok(exit.code === 1 || exit.signal === 'SIGINT', `exit ${JSON.stringify(exit)}; stderr:\n${stderr}`);
  assert.doesNotMatch(stderr, /stopped cleanly/);
  assert.match(stderr, /stopped, NOT cleanly/);
  assert.match(stderr, new RegExp(`daemon: \\d+ rows accepted, \\d+ stored; \\d+ pending in the spool ${join(spoolDir, 'demo', 'daemon').replace(/[/.]/g, '\\$&')}`));
});
