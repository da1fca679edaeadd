import assert from 'node:assert/strict';
import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { test } from 'node:test';
import { Registry } from 'prom-client';
import { statfs } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canonicalLabels, createExporter, DISK_METRICS, parsePrometheusText, type ScrapeReport } from '../packages/cli/src/exporter/index.js';
import { buildDashboards, type QuestDbQuery } from '../packages/cli/src/grafana/index.js';
import { QUESTDB_METRICS } from '../packages/cli/src/grafana/questdb-health.js';
import { expandQuery } from './support/grafana-model/macros.js';
import { createMonitor, renderMetrics, startMetricsServer, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, parseSamples, prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { waitFor } from './helpers/rows.js';

// Real QuestDB: its own /metrics is a scrape target, and tw_metrics is where the rows must land.
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const url = questDbUrl(server);
const run = Date.now().toString(36);

type Cleanup = { after(fn: () => Promise<void> | void): void };

function openWriter(t: Cleanup, service: string): Writer {
  const writer = createWriter({ url, service, logger: memoryLogger(), retry: { initialDelayMs: 20, maxDelayMs: 50 } });
  t.after(() => writer.close());
  return writer;
}

/** A monitor with a few fetches recorded, served on a free loopback port. */
async function sdkTarget(t: Cleanup, service: string): Promise<{ monitor: Monitor; metricsUrl: string }> {
  const monitor = createMonitor({ service, writer: openWriter(t, service), registry: new Registry(), logger: memoryLogger(), sampleIntervalMs: 0 });
  for (let i = 0; i < 3; i++) monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: 10 + i });
  monitor.fetch({ exchange: 'okx', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'error', latencyMs: 900 });
  const srv = await startMetricsServer({ registry: monitor.registry, port: 0 });
  t.after(async () => {
    await srv.close();
    await monitor.shutdown();
  });
  return { monitor, metricsUrl: `${srv.url}/metrics` };
}

/** A port nothing listens on: bind, read, release. */
async function deadPort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** An endpoint that accepts the request and never answers. */
async function hangingTarget(t: Cleanup): Promise<string> {
  const s: Server = createHttpServer(() => undefined);
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  }));
  return `http://127.0.0.1:${(s.address() as AddressInfo).port}/metrics`;
}

test('parser: reads prom-client output from the SDK registry in both formats, like the SDK tests do', async (t) => {
  const { monitor } = await sdkTarget(t, `parse-sdk-${run}`);
  monitor.liquidation({ exchange: 'okx', symbol: 'A "quoted"\\symbol\nline', side: 'buy', price: 1, amount: 1 });
  const text = await renderMetrics(monitor.registry, 'prometheus');
  const r = parsePrometheusText(text.body);
  assert.equal(r.invalidLines, 0, r.errors.join('\n'));
  const reference = parseSamples(text.body);
  assert.equal(r.samples.length + r.nonFinite, [...reference.values()].reduce((n, l) => n + l.length, 0), 'every sample line read');
  const ok = r.samples.find((s) => s.name === 'tradewatch_fetches_total' && s.labels.status === 'ok');
  assert.equal(ok?.value, 3);
  assert.equal(ok?.kind, 'counter');
  assert.equal(r.samples.find((s) => s.name === 'tradewatch_liquidations_total')?.labels.symbol, 'A "quoted"\\symbol\nline');
  const inf = r.samples.find((s) => s.name === 'tradewatch_fetch_duration_seconds_bucket' && s.labels.le === '+Inf');
  assert.equal(inf?.value, 4);
  assert.equal(inf?.kind, 'histogram');

  const om = await renderMetrics(monitor.registry, 'openmetrics');
  const r2 = parsePrometheusText(om.body, { openMetrics: true });
  assert.equal(r2.invalidLines, 0, r2.errors.join('\n'));
  assert.deepEqual(
    r2.samples.filter((s) => s.name.startsWith('tradewatch_fetch')).map((s) => [s.name, canonicalLabels(s.labels), s.value, s.kind]).sort(),
    r.samples.filter((s) => s.name.startsWith('tradewatch_fetch')).map((s) => [s.name, canonicalLabels(s.labels), s.value, s.kind]).sort(),
    'both formats give the same rows',
  );
});

test("parser: reads QuestDB's own /metrics without a bad line", async () => {
  const response = await fetch(`${server.minHttpUrl}/metrics`);
  assert.equal(response.status, 200);
  const r = parsePrometheusText(await response.text());
  assert.equal(r.invalidLines, 0, r.errors.join('\n'));
  assert.ok(r.samples.length > 50, `only ${r.samples.length} samples`);
  const kind = (n: string) => r.samples.find((s) => s.name === n)?.kind;
  assert.equal(kind('questdb_json_queries_total'), 'counter');
  assert.equal(kind('questdb_memory_mem_used'), 'gauge');
  assert.equal(kind('questdb_wal_apply_seq_txn'), 'gauge');
});

test('scrapes QuestDB, an SDK endpoint, a dead and a hanging target concurrently into tw_metrics', async (t) => {
  const svc = (name: string) => `${name}-${run}`;
  const { metricsUrl } = await sdkTarget(t, svc('daemon'));
  const deadUrl = `http://127.0.0.1:${await deadPort()}/metrics`;
  const hangingUrl = await hangingTarget(t);
  const logger = memoryLogger();
  const writer = openWriter(t, svc('exporter'));
  const exporter = createExporter({
    targets: [
      { url: `${server.minHttpUrl}/metrics`, service: svc('questdb') },
      { url: metricsUrl, service: svc('daemon') },
      { url: deadUrl, service: svc('dead') },
      { url: hangingUrl, service: svc('hanging') },
    ],
    writer,
    timeoutMs: 1_500,
    logger,
  });
  t.after(() => exporter.stop());

  const started = Date.now();
  const reports = await exporter.scrapeOnce();
  const elapsed = Date.now() - started;
  assert.ok(elapsed < 3_000, `one round took ${elapsed} ms; the hanging target must only cost its timeout`);
  const by = (service: string): ScrapeReport => reports.find((r) => r.service === svc(service))!;
  assert.equal(by('questdb').up, true, by('questdb').error);
  assert.equal(by('daemon').up, true, by('daemon').error);
  assert.ok(by('daemon').durationMs < 1_000, 'the fast targets did not wait for the hanging one');
  assert.equal(by('dead').up, false);
  assert.match(by('dead').error!, /ECONNREFUSED/);
  assert.equal(by('hanging').up, false);
  assert.match(by('hanging').error!, /timeout after 1500 ms/);
  assert.equal(by('questdb').invalidLines, 0);
  assert.equal(by('questdb').instance, new URL(server.minHttpUrl).host);
  assert.equal(exporter.stats().failures, 2);
  assert.ok(logger.lines.some((e) => e.message.includes('scrape failed')), 'failures are logged');

  // A second round: another ts, so dedup keeps both scrapes.
  const again = await exporter.scrapeOnce();
  assert.ok(again.every((r, i) => r.ts > reports[i]!.ts));
  await writer.flush();

  const q = (s: string) => `'${s}'`;
  const ups = await waitForRows<{ service: string; value: number; n: number }>(
    sql,
    `SELECT service, min(value) value, count() n FROM tw_metrics WHERE name = 'up' AND service IN (${['questdb', 'daemon', 'dead', 'hanging'].map((s) => q(svc(s))).join(',')}) GROUP BY service ORDER BY service`,
    (rows) => rows.length === 4 && rows.every((r) => r.n === 2),
  );
  assert.deepEqual(
    Object.fromEntries(ups.map((r) => [r.service, r.value])),
    { [svc('daemon')]: 1, [svc('dead')]: 0, [svc('hanging')]: 0, [svc('questdb')]: 1 },
  );

  const fetches = await waitForRows<{ labels: string; value: number; kind: string; source: string; instance: string }>(
    sql,
    `SELECT labels, value, kind, source, instance FROM tw_metrics WHERE service = ${q(svc('daemon'))} AND name = 'tradewatch_fetches_total' AND ts = ${by('daemon').ts}::timestamp ORDER BY labels`,
    (rows) => rows.length === 2,
  );
  assert.deepEqual(
    fetches.map((r) => [r.labels, r.value, r.kind]),
    [
      [`dataset="funding_rate",exchange="okx",service="${svc('daemon')}",status="error"`, 1, 'counter'],
      [`dataset="funding_rate",exchange="okx",service="${svc('daemon')}",status="ok"`, 3, 'counter'],
    ],
  );
  assert.equal(fetches[0]!.source, metricsUrl);
  assert.equal(fetches[0]!.instance, new URL(metricsUrl).host);

  const buckets = await sql.rows<{ labels: string; kind: string; value: number }>(
    `SELECT labels, kind, value FROM tw_metrics WHERE service = ${q(svc('daemon'))} AND name = 'tradewatch_fetch_duration_seconds_bucket' AND labels LIKE '%le="+Inf"%' LIMIT 1`,
  );
  assert.equal(buckets[0]?.kind, 'histogram');
  assert.equal(buckets[0]?.value, 4);

  // QuestDB's own series: query activity, memory, WAL apply, GC.
  const questdb = await waitForRows<{ name: string; kind: string; value: number }>(
    sql,
    `SELECT name, kind, last(value) value FROM tw_metrics WHERE service = ${q(svc('questdb'))} AND name IN ('questdb_json_queries_total', 'questdb_memory_mem_used', 'questdb_memory_rss', 'questdb_wal_apply_seq_txn', 'questdb_committed_rows_total', 'questdb_jvm_major_gc_count_total') GROUP BY name, kind ORDER BY name`,
    (rows) => rows.length === 6,
  );
  const qv = Object.fromEntries(questdb.map((r) => [r.name, r]));
  assert.equal(qv.questdb_json_queries_total!.kind, 'counter');
  assert.ok(qv.questdb_json_queries_total!.value > 0, 'the schema was applied over /exec');
  assert.equal(qv.questdb_memory_rss!.kind, 'gauge');
  assert.ok(qv.questdb_memory_rss!.value > 1e6, 'a JVM uses more than 1 MB');
  assert.ok(qv.questdb_memory_mem_used!.value > 0);
  const scraped = await sql.rows<{ n: number }>(`SELECT count() n FROM tw_metrics WHERE service = ${q(svc('questdb'))} AND name = 'scrape_samples_scraped' AND value > 50`);
  assert.equal(scraped[0]!.n, 2);
});

test('start() keeps scraping on an interval; stop() flushes and closes an owned writer', async () => {
  const service = `loop-${run}`;
  const reports: ScrapeReport[] = [];
  const exporter = createExporter({
    targets: [{ url: `${server.minHttpUrl}/metrics`, service }],
    questdbUrl: url,
    intervalMs: 200,
    logger: memoryLogger(),
    onScrape: (r) => reports.push(r),
  });
  // No later than the schedule's origin (start() reads the clock after this): its slots are origin + k × 200 ms.
  const startedAtMs = Date.now();
  exporter.start();
  exporter.start();
  await waitFor(() => reports.length >= 3, 10_000, () => `${reports.length} scrapes`);
  await exporter.stop();
  const n = reports.length;
  assert.ok(n >= 3, `${n} scrapes in 10 s at 200 ms`);
  // One schedule, not two (start() twice): at most one scrape per interval slot, so the n-th scrape is in slot n - 1
  // or later. A late timer delays a scrape but the next one keeps to the grid (exporter-schedule.unit.test.ts checks
  // the exact slots in virtual time), so gaps between single scrapes may be shorter than the interval. Measured from
  // before start(), not from the first scrape's ts: that is a later clock read than the origin (3 ms later once on a
  // loaded machine, which a bound from the first ts took for a fourth scrape too many).
  const lastAfterStartMs = reports[n - 1]!.ts / 1000 - startedAtMs;
  assert.ok(lastAfterStartMs >= (n - 1) * 200 - 1, `${n} scrapes within ${lastAfterStartMs} ms of start() at a 200 ms interval`);
  // That nothing is scraped after stop() is shown in virtual time (exporter-schedule.unit.test.ts: no timer left).
  await waitForRows<{ n: number }>(sql, `SELECT count() n FROM tw_metrics WHERE service = '${service}' AND name = 'up'`, (rows) => rows[0]?.n === n);
});

test("QuestDB's disk: free and total bytes of the filesystem holding its data root, as statfs reports them, then read by the Health panel", async (t) => {
  // The managed test server's data root; an external QuestDB (TRADEWATCH_QUESTDB_URL) has none here, so the temp
  // directory stands in: what is checked is that the rows carry that path's filesystem figures.
  const diskPath = server.dataRoot ?? tmpdir();
  const service = `questdb-disk-${run}`;
  const logger = memoryLogger();
  const exporter = createExporter({ targets: [{ url: `${server.minHttpUrl}/metrics`, service, instance: 'disk', diskPath }], writer: openWriter(t, service), logger });
  t.after(() => exporter.stop());
  const before = await statfs(diskPath);
  const [report] = await exporter.scrapeOnce();
  const after = await statfs(diskPath);
  await exporter.stop();
  assert.equal(report!.up, true, report!.error);
  assert.equal(report!.diskError, undefined);

  const rows = await waitForRows<{ name: string; value: number; labels: string; ts: string }>(
    sql,
    `SELECT name, value, labels, ts FROM tw_metrics WHERE service = '${service}' AND name IN ('${DISK_METRICS.free}', '${DISK_METRICS.total}') ORDER BY name`,
    (r) => r.length === 2,
  );
  const value = (name: string) => rows.find((r) => r.name === name)!.value;
  assert.equal(value(DISK_METRICS.total), before.blocks * before.bsize, 'total = statfs blocks × bsize');
  // Other test files write and delete on the same filesystem meanwhile (a QuestDB preallocates and frees tens of MB
  // at a time), and not monotonically: space taken then freed between the two readings leaves no trace in either.
  // So the sample lies within the change seen around it plus a slack of 64 MiB, far less than the free space.
  const [freeBefore, freeAfter] = [before.bavail * before.bsize, after.bavail * after.bsize];
  const slack = Math.abs(freeAfter - freeBefore) + 64 * 1024 * 1024;
  const free = value(DISK_METRICS.free);
  assert.ok(free >= Math.min(freeBefore, freeAfter) - slack && free <= Math.max(freeBefore, freeAfter) + slack, `free ${free}, statfs ${freeBefore} then ${freeAfter}`);
  assert.ok(rows.every((r) => r.labels === canonicalLabels({ path: diskPath })), JSON.stringify(rows));
  assert.equal(new Set(rows.map((r) => r.ts)).size, 1, 'one timestamp: the scrape');

  // The Health dashboard's disk panel over the last 15 minutes shows them next to the bytes QuestDB's tables use.
  assert.deepEqual([DISK_METRICS.free, DISK_METRICS.total], [QUESTDB_METRICS.diskFree, QUESTDB_METRICS.diskTotal], 'the names the panel reads');
  type Panel = { title?: string; targets?: QuestDbQuery[]; panels?: Panel[] };
  const top = buildDashboards().find((d) => d.file === 'health')!.model.panels as Panel[];
  const panel = top.flatMap((p) => [p, ...(p.panels ?? [])]).find((p) => p.title === 'QuestDB disk used and free')!;
  const to = Date.now();
  const shown = await sql.query(expandQuery(panel.targets![0]!.rawSql, { from: to - 15 * 60_000, to, intervalMs: 1000, variables: {} }));
  const [used, shownFree, shownTotal] = shown.dataset[0]! as number[];
  assert.ok(used! > 0, `used ${used}`);
  // Other tests' disk rows may be in the range too (an external QuestDB): the latest one per name is this one or later.
  assert.ok(shownTotal === value(DISK_METRICS.total) && shownFree! > 0, JSON.stringify(shown.dataset));

  // A path that is not there (a missing mount): the scrape still succeeds, the disk rows are left out and the reason reported once.
  const missing = createExporter({ targets: [{ url: `${server.minHttpUrl}/metrics`, service: `${service}-missing`, diskPath: join(diskPath, 'no-such-dir') }], writer: openWriter(t, service), logger });
  const [first] = await missing.scrapeOnce();
  const [second] = await missing.scrapeOnce();
  await missing.stop();
  assert.equal(first!.up, true);
  assert.deepEqual([first!.diskError, second!.diskError], ['ENOENT', 'ENOENT']);
  assert.equal(logger.lines.filter((l) => l.message === 'exporter: cannot sample the disk').length, 1, 'logged when it starts failing, not per scrape');
});
