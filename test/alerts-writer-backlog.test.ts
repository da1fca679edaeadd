import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { createExporter, type Exporter } from '../packages/cli/src/exporter/index.js';
import { buildRules, defaultAlertsConfig, durationMs, RULE_DEFAULTS, SCRAPE_UP_METRIC, SDK_SCRAPED_METRICS } from '../packages/cli/src/grafana/alerting/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createMonitor, SDK_METRICS, startMetricsServer, WriterHealthRows, type MetricsServer, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { sleep, walApplied } from './helpers/rows.js';
import { VirtualClock } from './helpers/virtual-clock.js';
import { evaluateAt } from './support/grafana-model/questdb-rules.js';
import { StateManager } from './support/grafana-model/state-manager.js';

// Item 10 of issue 12: a writer's backlog while it cannot reach QuestDB, judged from evidence that is not stuck in
// that backlog. The writer's health rows (tw_writer_stats) travel through the writer itself; the exporter scrapes
// the process's /metrics (live writer.stats()) into tw_metrics through its own writer. A TCP proxy in front of the
// real QuestDB cuts the producer off while the exporter and Grafana (the evaluations) still reach it.

const S = 1000;
const MIN = 60 * S;
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const logger = memoryLogger();
const rules = buildRules(defaultAlertsConfig());
const writerLag = rules.find((r) => r.id === 'writerLag')!;
const spoolFull = rules.find((r) => r.id === 'spoolFull')!;
const daemonDown = rules.find((r) => r.id === 'daemonDown')!;
const stateOf = (rule: typeof daemonDown) => new StateManager({ forMs: durationMs(rule.for), noDataState: rule.noDataState, execErrState: rule.execErrState });
// Unique per run: on an external QuestDB (TRADEWATCH_QUESTDB_URL) the tables outlive the run.
const RUN = `${process.pid}-${Date.now() % 1_000_000}`;
const DAEMON = `daemon-${RUN}`;

/** A TCP proxy to QuestDB's HTTP port: `up = false` refuses new connections and resets the open ones. */
class Cut {
  up = true;
  url = '';
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  constructor(private readonly target: URL) {
    this.server = createServer((client) => {
      if (!this.up) return client.destroy();
      const upstream = connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on('close', () => this.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
  }
  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    const url = new URL(this.target.toString());
    url.port = String((this.server.address() as { port: number }).port);
    this.url = url.toString();
    return this;
  }
  down(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }
  close(): Promise<void> {
    this.down();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

describe('writer backlog judged from the exporter while the writer cannot reach QuestDB (real QuestDB)', () => {
  // Virtual time an hour back, whole minutes: the rows' timestamps and the evaluation instants.
  const T0 = Math.floor((Date.now() - 60 * MIN) / MIN) * MIN;
  const clock = new VirtualClock(T0);
  let cut: Cut;
  let producer: Writer;
  let monitor: Monitor;
  let health: WriterHealthRows;
  let metrics: MetricsServer;
  let exporterWriter: Writer;
  let exporter: Exporter;
  let spoolDir: string;

  before(async () => {
    cut = await new Cut(new URL(questDbUrl(server))).listen();
    // The reference daemon's identity; its writer reaches QuestDB only through the proxy.
    // It spools to disk as the CLI's processes always do (default bound: 1 GiB, served on its /metrics).
    spoolDir = mkdtempSync(join(tmpdir(), 'tw-backlog-spool-'));
    producer = createWriter({ url: cut.url, service: 'ccxt-daemon', instance: DAEMON, spoolDir, logger }, { clock });
    const registry = new Registry();
    monitor = createMonitor({ service: 'ccxt-daemon', instance: DAEMON, writer: producer, registry, sampleIntervalMs: 0, writerHealthIntervalMs: 0, logger });
    health = new WriterHealthRows(producer, 'ccxt-daemon', DAEMON, 0, logger, clock);
    metrics = await startMetricsServer({ registry, port: 0 });
    // The exporter names its target as deployed (a service and host:port), not as the SDK names the process.
    exporterWriter = createWriter({ url: questDbUrl(server), service: 'tradewatch-exporter', instance: 'exporter-1', logger }, { clock });
    exporter = createExporter({ targets: [{ url: `${metrics.url}/metrics`, service: 'daemon-metrics', instance: `daemon-host-${RUN}:9464` }], writer: exporterWriter, clock, logger });
  });
  after(async () => {
    await exporter.close();
    await exporterWriter.close();
    await metrics.close();
    cut.up = true;
    await monitor.shutdown();
    await producer.close();
    await cut.close();
    rmSync(spoolDir, { recursive: true, force: true });
  });

  /** Virtual time of the schedule; the clock may run a little ahead while a delivery is retried (drained()). */
  let t = T0;
  /** From then on the process is dead: no sample, no health row, its /metrics refuses connections. */
  let crashed = false;
  let lastSampleAt = 0;
  /**
   * One 10-second step of the processes: a process sample every 5 s (the SDK's heartbeat, as its monitor writes it
   * through the same writer), a health row every 10 s, a scrape every 15 s (virtual time).
   */
  async function step(): Promise<void> {
    for (let half = 0; half < 2; half++) {
      t += 5 * S;
      await clock.advance(Math.max(0, t - clock.now()));
      if (!crashed) {
        producer.write(schema.processSamples, { ts: t * 1000, service: 'ccxt-daemon', instance: DAEMON, pid: process.pid, uptime_s: (t - T0) / S, rss_bytes: 1.5e8, heap_used_bytes: 6e7, heap_total_bytes: 9e7, cpu_percent: 3, event_loop_lag_ms: 1 });
        lastSampleAt = t;
        if (t % (10 * S) === 0) health.write();
      }
      // Connected, the writer delivers within the step (virtual time waits for the real request).
      if (cut.up) await drained();
      if (t % (15 * S) === 0) await exporter.scrapeOnce();
    }
  }

  /** What Grafana would see now: the rows that reached QuestDB by now, applied. */
  async function landed(): Promise<void> {
    await exporterWriter.flush();
    if (cut.up) await drained();
    await walApplied(sql, ['tw_metrics', 'tw_writer_stats', 'tw_process_samples']);
  }

  /** Lets the producer deliver (its retries wait on the virtual clock): small steps until nothing is pending. */
  async function drained(): Promise<void> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      // flush() seals the open batch and sends it now; a retry after a failure waits on the virtual clock, hence
      // the small steps of virtual time while it is not done.
      const done = await Promise.race([producer.flush().then(() => true), sleep(50).then(() => false)]);
      if (done && producer.stats().lagMs === 0) return;
      if (Date.now() > deadline) throw new Error(`producer did not drain: ${JSON.stringify(producer.stats())}`);
      await clock.advance(100);
    }
  }

  /** The newest process sample of the daemon that reached QuestDB (ms). */
  const lastLandedSample = async () =>
    Date.parse(String((await sql.query(`SELECT max(ts) FROM tw_process_samples WHERE service = 'ccxt-daemon' AND instance = '${DAEMON}'`)).dataset[0]![0]));
  const healthRowsAfter = async (at: number) =>
    Number((await sql.query(`SELECT count() FROM tw_writer_stats WHERE service = 'ccxt-daemon' AND instance = '${DAEMON}' AND ts > cast(${at * 1000} AS TIMESTAMP)`)).dataset[0]![0]);

  test('the SDK metrics the rules read exist in its catalog', () => {
    const names = new Set(SDK_METRICS.map((m) => m.name));
    for (const name of Object.values(SDK_SCRAPED_METRICS)) assert.ok(names.has(name), `${name} is an SDK metric`);
    assert.deepEqual(SDK_METRICS.find((m) => m.name === SDK_SCRAPED_METRICS.processInfo)!.labels.slice(0, 2), ['service', 'instance']);
  });

  /** daemonDown as Grafana's fast group runs it (every 10 s) through the whole file: the cut, then a crash. */
  const down = stateOf(daemonDown);
  const downOfDaemon = () => [...down.instances.values()].filter((i) => i.labels.instance === DAEMON);
  const evaluateDown = async () => down.step(clock.now(), await evaluateAt(sql, daemonDown, clock.now()));

  test('cut off: writerLag fires from the scrapes while no health row lands, one alert for the writer, and resolves on evidence; daemonDown stays quiet', async () => {
    const manager = stateOf(writerLag);
    const spool = stateOf(spoolFull);
    let spoolSeen: { state: string; values: Record<string, number | null> } | undefined;
    const evaluate = async () => {
      await landed();
      await evaluateDown();
      if (t % MIN !== 0) return undefined;
      const e = await evaluateAt(sql, writerLag, clock.now());
      manager.step(clock.now(), e);
      const s = await evaluateAt(sql, spoolFull, clock.now());
      spool.step(clock.now(), s);
      spoolSeen = s.instances.find((i) => i.labels.instance === DAEMON);
      return e;
    };
    // Three healthy minutes (every evaluation sees the writer, at lag ~0).
    for (let i = 0; i < 18; i++) {
      await step();
      const e = await evaluate();
      if (e) assert.ok(!e.firing.some((i) => i.labels.instance === DAEMON), 'healthy: quiet');
    }
    assert.deepEqual(downOfDaemon().map((i) => i.state), ['Normal'], 'daemonDown sees the healthy daemon');
    const ours = () => [...manager.instances.values()].filter((i) => i.labels.instance === DAEMON || i.labels.service === 'daemon-metrics');
    assert.equal(ours().length, 1, 'the writer is seen while healthy');

    const cutAt = clock.now();
    cut.down();
    let firedAt: number | undefined;
    let lagSeen = 0;
    for (let i = 0; i < 6 * 6 && firedAt === undefined; i++) {
      await step();
      const e = await evaluate();
      if (!e) continue;
      lagSeen = e.instances.find((i) => i.labels.instance === DAEMON)?.values.A ?? 0;
      if (ours().some((i) => i.state === 'Alerting')) firedAt = clock.now();
    }
    assert.ok(firedAt !== undefined, `writerLag fires during the cut: ${JSON.stringify(manager.transitions)}`);
    // Lag > 60 s from 1 minute after the first held row, then the 1-minute pending period, at 1-minute evaluations.
    assert.ok(firedAt - cutAt <= 4 * MIN, `fired ${(firedAt - cutAt) / S} s after the cut`);
    assert.ok(lagSeen > 60_000, `the scraped lag: ${lagSeen} ms`);
    assert.equal(await healthRowsAfter(cutAt), 0, 'no health row written during the cut has reached QuestDB: the scrapes are the evidence');
    assert.deepEqual(ours().map((i) => [i.labels, i.state]), [[{ service: 'ccxt-daemon', instance: DAEMON }, 'Alerting']],   "one alert, under the writer's own service and instance (not the exporter's target labels)");
    // Its spool grows (scraped live with its 1 GiB bound) but is days from full at this rate: writerLag's incident only.
    assert.ok(spoolSeen && spoolSeen.values.A! > RULE_DEFAULTS.spoolFull.threshold, `spoolFull sees the spool, far from full: ${JSON.stringify(spoolSeen)}`);
    assert.ok(!spool.firing().some((i) => i.labels.instance === DAEMON), 'spoolFull stays quiet');
    assert.ok(producer.stats().spoolBytes > 0 && producer.stats().spoolMaxBytes === 1024 * 1_048_576, 'the cut is spooled');
    // Its samples are held with its other rows, but the exporter's scrapes find it answering: not a dead daemon.
    assert.ok(clock.now() - (await lastLandedSample()) > 2 * MIN, 'no sample of the cut has landed');
    assert.deepEqual(down.transitions.filter((x) => x.at >= cutAt && downOfDaemon().some((i) => i.key === x.key)), [], 'daemonDown never left Normal during the cut (evaluated every 10 s)');

    // QuestDB reachable again: the writer replays what it held (health rows of the cut included), then reports 0.
    cut.up = true;
    await drained();
    await walApplied(sql, ['tw_writer_stats']);
    assert.ok((await healthRowsAfter(cutAt)) > 0, 'the held health rows land with the replay');
    let resolvedAt: number | undefined;
    for (let i = 0; i < 3 * 6 && resolvedAt === undefined; i++) {
      await step();
      if (!(await evaluate())) continue;
      if (ours().every((i) => i.state === 'Normal')) resolvedAt = clock.now();
    }
    assert.ok(resolvedAt !== undefined, `resolves once the evidence shows the backlog gone: ${JSON.stringify(manager.transitions)}`);
    const [instance] = ours();
    assert.equal(manager.transitions.filter((x) => x.key === instance!.key).at(-1)!.to, 'Normal');
    assert.equal(instance!.value, 0, 'resolved by a normal result (lag below the threshold), not by missing data');
  });

  test('then a crash: samples stop and the scrape fails (up 0): daemonDown fires within its threshold plus one evaluation', async () => {
    assert.deepEqual(downOfDaemon().map((i) => i.state), ['Normal'], 'alive before the crash');
    crashed = true;
    // The process is gone: its /metrics refuses connections, so the exporter's next scrape writes up 0.
    await metrics.close();
    const crashAt = lastSampleAt;
    let firedAt: number | undefined;
    for (let i = 0; i < 12 && firedAt === undefined; i++) {
      await step();
      await landed();
      await evaluateDown();
      if (downOfDaemon().some((i) => i.state === 'Alerting')) firedAt = clock.now();
    }
    assert.ok(firedAt !== undefined, `daemonDown fires: ${JSON.stringify(down.transitions)}`);
    const threshold = RULE_DEFAULTS.daemonDown.threshold;
    // Evaluated every 10 s (the fast group): fires at the first evaluation past the threshold after the last sample.
    assert.ok(firedAt - crashAt <= threshold * S + 10 * S, `fired ${(firedAt - crashAt) / S} s after the last sample`);
    assert.ok(exporter.stats().failures > 0, 'the exporter saw the scrape fail');
  });
});

describe('writer backlog from scrapes as the exporter stores them (real QuestDB)', () => {
  const T = Math.floor((Date.now() - 3 * 60 * MIN) / MIN) * MIN;
  const us = (ms: number) => ms * 1000;
  let writer: Writer;
  before(async () => {
    writer = createWriter({ url: questDbUrl(server), service: 'tw-test', instance: 'rows', logger });
    // Processes scraped every 15 s for an hour (spoolFull's range), each with the default 1 GiB spool bound; their
    // health rows stopped an hour ago (held back). Spool sizes in MiB at scrape i of 240.
    const GIB = 1024 * 1_048_576;
    const procs = [
      // Cut off for an hour at ~2 MiB/h (the reference daemon's rate): writerLag's incident, the spool days from full.
      { target: `cut-off-${RUN}:9464`, instance: `cut-off-${RUN}`, lag: (i: number) => 3600 + i * 15, spool: (i: number) => (i * 2) / 240 },
      // QuestDB slower than the writes for an hour: 600 MiB in the hour, 400 MiB left: full in ~40 min.
      { target: `slow-db-${RUN}:9464`, instance: `slow-db-${RUN}`, lag: () => 2, spool: (i: number) => (i * 600) / 240 },
      // Full: drop-oldest holds it within a segment of the bound, not growing; rows are being given up.
      { target: `full-${RUN}:9464`, instance: `full-${RUN}`, lag: () => 90_000, spool: (i: number) => 1024 - 16 * (i % 2) },
      // Replaying a large spool after the outage: shrinking.
      { target: `replay-${RUN}:9464`, instance: `replay-${RUN}`, lag: () => 30, spool: (i: number) => 900 - i * 3 },
    ];
    for (const p of procs) {
      writer.write(schema.writerStats, { ts: us(T - 60 * MIN), service: 'svc-a', instance: p.instance, queue_rows: 0, spool_bytes: 0, lag_ms: 0 });
      for (let i = 0; i <= 240; i++) {
        const ts = us(T - 60 * MIN + i * 15 * S);
        const row = { ts, service: 'daemons', instance: p.target, kind: 'gauge', source: `http://${p.target}/metrics` } as const;
        writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.processInfo, labels: `instance="${p.instance}",pid="7",service="svc-a",version="1"`, value: 1 });
        writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.writerLag, labels: 'service="svc-a"', value: p.lag(i) });
        writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.writerSpoolBytes, labels: 'service="svc-a"', value: p.spool(i) * 1_048_576 });
        writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.writerSpoolMaxBytes, labels: 'service="svc-a"', value: GIB });
      }
    }
    await writer.flush();
    await walApplied(sql, ['tw_metrics', 'tw_writer_stats']);
  });
  after(() => writer.close());

  test('writerLag for the cut-off writer; spoolFull for a spool projected full within its threshold, or full; quiet while replaying', async () => {
    const lag = await evaluateAt(sql, writerLag, T);
    const full = await evaluateAt(sql, spoolFull, T);
    const at = (e: typeof lag, instance: string) => e.instances.find((i) => i.labels.instance === instance)!;
    assert.equal(at(lag, `cut-off-${RUN}`).state, 'Alerting', 'the scraped lag, newer than the last health row (0)');
    assert.equal(at(lag, `cut-off-${RUN}`).values.A, 7_200_000);
    assert.equal(at(lag, `slow-db-${RUN}`).state, 'Normal');
    assert.deepEqual(Object.keys(at(lag, `cut-off-${RUN}`).labels).sort(), ['instance', 'service']);
    // (1024 − 2) MiB left at 2 MiB/h: 511 h.
    assert.ok(Math.abs(at(full, `cut-off-${RUN}`).values.A! - 511) < 1e-6, JSON.stringify(full.instances));
    assert.equal(at(full, `cut-off-${RUN}`).state, 'Normal', 'the cut is writerLag\'s incident until the spool nears its bound');
    // (1024 − 600) MiB left at 600 MiB/h.
    assert.ok(Math.abs(at(full, `slow-db-${RUN}`).values.A! - 424 / 600) < 1e-6, JSON.stringify(full.instances));
    assert.equal(at(full, `slow-db-${RUN}`).state, 'Alerting');
    assert.equal(at(full, `full-${RUN}`).values.A, 0, 'within 5 % of its bound: full, whatever its growth');
    assert.equal(at(full, `full-${RUN}`).state, 'Alerting');
    assert.equal(at(full, `replay-${RUN}`).state, 'Normal', 'a shrinking spool projects nothing');
    assert.deepEqual(Object.keys(at(full, `slow-db-${RUN}`).labels).sort(), ['instance', 'service'], "the writer's own labels");
  });
});

describe("daemonDown holds off while the exporter's scrapes find the process answering (real QuestDB)", () => {
  const T = Math.floor((Date.now() - 2 * 60 * MIN) / MIN) * MIN;
  const us = (ms: number) => ms * 1000;
  /**
   * Each process's samples stopped 2 minutes before T (held in a cut-off writer, or dead); its target's scrapes
   * every 15 s up to `scrapedUntil` (none: no exporter scrapes it), then `failedFrom` on: up 0, no sample.
   */
  const cases = [
    { name: 'cut-off', scrapedUntil: T - 5 * S, state: 'Normal', why: 'alive: answered a scrape 5 s ago (its samples are held)' },
    { name: 'crashed', scrapedUntil: T - 70 * S, failedFrom: T - 65 * S, state: 'Alerting', why: 'its scrapes fail (up 0)' },
    { name: 'crash-just-seen', scrapedUntil: T - 5 * S, failedFrom: T - 1 * S, state: 'Alerting', why: 'answered 5 s ago, but the latest scrape failed: up 0 ends the hold at once' },
    { name: 'exporter-gone', scrapedUntil: T - 40 * S, state: 'Alerting', why: 'samples and scrapes both stopped more than the threshold ago' },
    { name: 'unscraped', state: 'Alerting', why: "no exporter scrapes it: today's behaviour, its samples decide" },
    { name: 'restarted-as-other', scrapedUntil: T - 5 * S, otherInstance: true, state: 'Alerting', why: 'the target now answers as another instance: no evidence for this one' },
  ] as const;
  const instanceOf = (name: string) => `${name}-${RUN}`;
  let writer: Writer;
  before(async () => {
    writer = createWriter({ url: questDbUrl(server), service: 'tw-test', instance: 'rows', logger });
    for (const c of cases) {
      const instance = instanceOf(c.name);
      for (let t = T - 10 * MIN; t <= T - 2 * MIN; t += 5 * S) {
        writer.write(schema.processSamples, { ts: us(t), service: 'svc-down', instance, pid: 7, uptime_s: 1, rss_bytes: 1e8, heap_used_bytes: 1e7, heap_total_bytes: 2e7, cpu_percent: 1, event_loop_lag_ms: 1 });
      }
      if (!('scrapedUntil' in c)) continue;
      const target = { service: 'daemons', instance: `${c.name}-${RUN}:9464`, kind: 'gauge', source: `http://${c.name}:9464/metrics` } as const;
      const seenAs = 'otherInstance' in c ? `${instance}-new` : instance;
      for (let t = T - 10 * MIN; t <= T; t += 15 * S) {
        const failed = 'failedFrom' in c && t >= c.failedFrom;
        if (t > c.scrapedUntil && !failed) continue;
        writer.write(schema.metrics, { ...target, ts: us(t), name: SCRAPE_UP_METRIC, labels: '', value: failed ? 0 : 1 });
        if (!failed) writer.write(schema.metrics, { ...target, ts: us(t), name: SDK_SCRAPED_METRICS.processInfo, labels: `instance="${seenAs}",pid="7",service="svc-down",version="1"`, value: 1 });
      }
      // The scrape that found it last (scrapedUntil) and the failing one (failedFrom) at their exact instants.
      writer.write(schema.metrics, { ...target, ts: us(c.scrapedUntil), name: SCRAPE_UP_METRIC, labels: '', value: 1 });
      writer.write(schema.metrics, { ...target, ts: us(c.scrapedUntil), name: SDK_SCRAPED_METRICS.processInfo, labels: `instance="${seenAs}",pid="7",service="svc-down",version="1"`, value: 1 });
      if ('failedFrom' in c) writer.write(schema.metrics, { ...target, ts: us(c.failedFrom), name: SCRAPE_UP_METRIC, labels: '', value: 0 });
    }
    await writer.flush();
    await walApplied(sql, ['tw_metrics', 'tw_process_samples']);
  });
  after(() => writer.close());

  for (const c of cases) {
    test(`${c.name}: ${c.state} (${c.why})`, async () => {
      const e = await evaluateAt(sql, daemonDown, T);
      const mine = e.instances.filter((i) => i.labels.instance === instanceOf(c.name));
      assert.equal(mine.length, 1, JSON.stringify(e.instances.filter((i) => i.labels.service === 'svc-down')));
      assert.equal(mine[0]!.state, c.state, JSON.stringify(mine[0]));
    });
  }
});
