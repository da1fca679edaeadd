import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Registry } from 'prom-client';
import { canonicalLabels, createExporter, parsePrometheusText } from '../packages/cli/src/exporter/index.js';
import { createMonitor, renderMetrics, startMetricsServer } from '../packages/sdk/src/sdk/index.js';
import { createWriter } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';

/**
 * The SDK's /metrics against the real thing: a Prometheus server scrapes it and answers PromQL about it, promtool
 * lints it, and the tradewatch exporter stores the same values Prometheus sees. Prometheus is required: the test
 * fails (never skips) when it is missing.
 */

for (const bin of ['prometheus', 'promtool']) {
  if (spawnSync('which', [bin]).status !== 0) {
    throw new Error(`${bin} is not installed: this test needs a real Prometheus. Fix: bash scripts/setup.sh (or apt-get install -y prometheus)`);
  }
}

const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const url = questDbUrl(server);
const service = `prom-${Date.now().toString(36)}`;

const writer = createWriter({ url, service, logger: memoryLogger() });
const monitor = createMonitor({ service, writer, registry: new Registry(), logger: memoryLogger(), sampleIntervalMs: 0 });
for (let i = 0; i < 3; i++) monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: 20 });
monitor.fetch({ exchange: 'bybit', dataset: 'open_interest', symbol: 'ETH/USDT:USDT', status: 'error', latencyMs: 3000 });
const metrics = await startMetricsServer({ registry: monitor.registry, port: 0 });
after(async () => {
  await metrics.close();
  await monitor.shutdown();
  await writer.close();
});

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Runs promtool with `input` on stdin. */
function promtool(args: string[], input: string): { status: number | null; output: string } {
  const r = spawnSync('promtool', args, { input, encoding: 'utf8', timeout: 10_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}

interface Prometheus {
  readonly url: string;
  query(promql: string): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
}

/** Our own Prometheus process (never the Debian service) on a free loopback port, temp config and storage. */
async function startPrometheus(scrapeTargets: Record<string, string>): Promise<Prometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'tradewatch-prometheus-'));
  const port = await freePort();
  const jobs = Object.entries(scrapeTargets).map(([job, target]) => {
    const u = new URL(target);
    return `  - job_name: ${job}\n    metrics_path: ${u.pathname}\n    static_configs:\n      - targets: ['${u.host}']`;
  });
  await writeFile(join(dir, 'prometheus.yml'), `global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n${jobs.join('\n')}\n`);
  const child: ChildProcess = spawn(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let log = '';
  child.stderr!.on('data', (d: Buffer) => (log = (log + d.toString()).slice(-4000)));
  after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    await rm(dir, { recursive: true, force: true });
  });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  while (true) {
    if (child.exitCode !== null) throw new Error(`prometheus exited (${child.exitCode}):\n${log}`);
    const ready = await fetch(`${base}/-/ready`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) throw new Error(`prometheus not ready after 15 s:\n${log}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url: base,
    async query(promql) {
      const r = await fetch(`${base}/api/v1/query?${new URLSearchParams({ query: promql })}`);
      const body = (await r.json()) as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
      if (body.status !== 'success') throw new Error(`PromQL ${promql}: ${body.error}`);
      return body.data!.result;
    },
  };
}

/** Polls a query until `done` holds, else fails with the last answer. */
async function until<T>(what: string, get: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await get();
  while (!done(last)) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; last: ${JSON.stringify(last).slice(0, 2000)}`);
    await new Promise((r) => setTimeout(r, 200));
    last = await get();
  }
  return last;
}

test('promtool check metrics accepts the SDK exposition with no lint problem', async () => {
  const { body } = await renderMetrics(monitor.registry, 'prometheus');
  const r = promtool(['check', 'metrics'], body);
  assert.equal(r.output, '', `promtool reported:\n${r.output}`);
  assert.equal(r.status, 0);
});

test('a real Prometheus scrapes the SDK endpoint, and the exporter stores the same series in tw_metrics', async () => {
  const prometheus = await startPrometheus({ tradewatch: `${metrics.url}/metrics`, questdb: `${server.minHttpUrl}/metrics` });

  const ok = await until(
    'tradewatch_fetches_total in Prometheus',
    () => prometheus.query(`tradewatch_fetches_total{service="${service}"}`),
    (r) => r.length === 2,
  );
  const series = Object.fromEntries(ok.map((s) => [`${s.metric.exchange}/${s.metric.dataset}/${s.metric.status}`, s]));
  assert.equal(series['okx/funding_rate/ok']?.value[1], '3');
  assert.equal(series['bybit/open_interest/error']?.value[1], '1');
  const okLabels = series['okx/funding_rate/ok']!.metric;
  assert.equal(okLabels.job, 'tradewatch');
  assert.equal(okLabels.instance, `127.0.0.1:${metrics.port}`);
  assert.equal(okLabels.__name__, 'tradewatch_fetches_total');
  assert.equal(okLabels.service, service);

  // Histogram: Prometheus computes a quantile from the SDK's buckets.
  const p99 = await prometheus.query(`histogram_quantile(0.99, sum by (le) (tradewatch_fetch_duration_seconds_bucket{service="${service}"}))`);
  assert.equal(p99.length, 1);
  assert.ok(Number(p99[0]!.value[1]) > 1, `p99 ${p99[0]!.value[1]} s should sit in the bucket of the 3 s fetch`);

  // More fetches show up at the next scrape.
  monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok' });
  await until('the 4th fetch', () => prometheus.query(`tradewatch_fetches_total{service="${service}",status="ok"}`), (r) => r[0]?.value[1] === '4');

  // The exporter, scraping the same endpoint, stores what Prometheus sees (labels minus job/instance).
  const exporter = createExporter({ targets: [{ url: `${metrics.url}/metrics`, service: `${service}-scraped` }], writer, logger: memoryLogger() });
  const [report] = await exporter.scrapeOnce();
  await exporter.stop();
  assert.equal(report!.up, true, report!.error);
  const rows = await waitForRows<{ labels: string; value: number }>(
    sql,
    `SELECT labels, value FROM tw_metrics WHERE service = '${service}-scraped' AND name = 'tradewatch_fetches_total' ORDER BY labels`,
    (r) => r.length === 2,
  );
  const fromPrometheus = (await prometheus.query(`tradewatch_fetches_total{service="${service}"}`))
    .map((s) => {
      const labels: Record<string, string> = { ...s.metric };
      delete labels.__name__;
      delete labels.job;
      delete labels.instance;
      return { labels: canonicalLabels(labels), value: Number(s.value[1]) };
    })
    .sort((a, b) => (a.labels < b.labels ? -1 : 1));
  assert.deepEqual(rows, fromPrometheus);

  // QuestDB's own endpoint, as Prometheus judges it: recorded so a change in QuestDB's output is noticed.
  const qdbUp = await until('a scrape of QuestDB', () => prometheus.query('up{job="questdb"}'), (r) => r.length === 1);
  const direct = parsePrometheusText(await (await fetch(`${server.minHttpUrl}/metrics`)).text());
  assert.equal(direct.invalidLines, 0);
  const lint = promtool(['check', 'metrics'], await (await fetch(`${server.minHttpUrl}/metrics`)).text());
  const targets = (await (await fetch(`${prometheus.url}/api/v1/targets`)).json()) as { data: { activeTargets: { labels: { job: string }; lastError: string }[] } };
  const qdbError = targets.data.activeTargets.find((t) => t.labels.job === 'questdb')?.lastError;
  process.stderr.write(`# QuestDB /metrics: Prometheus up=${qdbUp[0]!.value[1]} ${qdbError ?? ''}; promtool: status ${lint.status}, ${lint.output.split('\n')[0]}\n`);
});
