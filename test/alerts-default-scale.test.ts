import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { after, before, describe, mock, test } from 'node:test';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DAEMON_EXCHANGES, daemonSchema } from '../packages/cli/src/daemon/config-schema.js';
import { startPaperStrategy } from '../packages/cli/src/demo/index.js';
import { LIQUIDATIONS_CHANNEL } from '../packages/cli/src/daemon/stream.js';
import { buildRules, defaultAlertsConfig, durationMs, SCRAPE_UP_METRIC, SDK_SCRAPED_METRICS, type BuiltRule, type RuleId } from '../packages/cli/src/grafana/alerting/index.js';
import { QUESTDB_METRICS } from '../packages/cli/src/grafana/questdb-health.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createMonitor, DEFAULT_SAMPLE_INTERVAL_MS, DEFAULT_WRITER_HEALTH_INTERVAL_MS, type Monitor, type StrategyMonitor, type StrategyRef } from '../packages/sdk/src/sdk/index.js';
import { createWriter, SqlClient, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { walApplied } from './helpers/rows.js';
import { DAEMON_SPOOL_MIB_PER_H } from './support/daemon-spool-rate.js';
import { evaluateAt } from './support/grafana-model/questdb-rules.js';
import { StateManager } from './support/grafana-model/state-manager.js';

// Issue 12, item 4: every rule fires in a scenario at the reference daemon's default settings, and stays quiet
// through a healthy 30-minute run. Each process writes, through the SDK writer in one batch, the rows the daemon
// writes on its default schedule (its config defaults: exchanges, symbols, fetch intervals, rate-limit samples;
// the SDK's process, connection and writer-health sampling; the exporter's scrapes of its /metrics every 15 s),
// backdated on a virtual timeline. One healthy process runs the whole 30 minutes; each fault process runs the
// same schedule and meets its fault 10 minutes in. Every rule is then evaluated once a minute on real QuestDB as
// Grafana would (its relative range resolved at that instant) and stepped through the state-manager model: one
// pass serves the healthy run and all faults, since each process has its own labels.

const S = 1000;
const MIN = 60 * S;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;
const us = (ms: number) => Math.round(ms * 1000);
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const rules = buildRules(defaultAlertsConfig());
const ruleOf = (id: RuleId) => rules.find((r) => r.id === id)!;

// The reference daemon's defaults (packages/cli/src/daemon/config-schema.ts) and the SDK's sampling.
const DAEMON = daemonSchema.parse({});
const EXCHANGES = DEFAULT_DAEMON_EXCHANGES;
/** createMonitor's default sampleIntervalMs (process and connection samples). */
const SAMPLE_MS = DEFAULT_SAMPLE_INTERVAL_MS;
/** The exporter's default scrape interval (createExporter, compose TRADEWATCH_EXPORTER_INTERVAL_MS). */
const SCRAPE_MS = 15 * S;
assert.equal(DAEMON.service, 'ccxt-daemon');

// Unique per run: on an external QuestDB (TRADEWATCH_QUESTDB_URL) the tables outlive the run.
const RUN = `${process.pid}-${Date.now() % 1_000_000}`;
const T0 = Math.floor((Date.now() - 3 * 60 * MIN) / MIN) * MIN;
const RUN_MS = 30 * MIN;
const FAULT_AT = T0 + 10 * MIN;
/** The liquidation cascade comes after the healthy run: that rule is per exchange, shared by every process. */
const BURST_AT = T0 + RUN_MS + 5 * MIN;
/** Evaluation step through the run. */
const STEP_MS = 3 * MIN;

interface Process {
  readonly name: string;
  /** Its service and instance as deployed (default: per fault and run, see serviceOf). */
  readonly identity?: { readonly service: string; readonly instance: string };
  /** Nothing after this instant: a crash (no stop event). */
  readonly crashAt?: number;
  /** Cut off from QuestDB from this instant: none of its own rows land (held in its writer); the scrapes still do. */
  readonly cutAt?: number;
  readonly rssMiB?: (t: number) => number;
  readonly cpu?: (t: number) => number;
  readonly fetchStatus?: (t: number, exchange: string, dataset: string) => 'ok' | 'error' | 'timeout' | 'rate_limited';
  /** The liquidation stream of an exchange at t: down, connected but silent since, or its latency. */
  readonly stream?: (t: number, exchange: string) => { down?: boolean; silentSince?: number; latencyMs?: number };
}

/**
 * The reference daemon's spool, measured in before(): bytes its writer spools per ms of the default schedule (its
 * 30 minutes of rows written to a real writer that cannot reach QuestDB), and the bound of that writer's spool
 * (the SDK's default `spool.maxBytes`, as its /metrics serves it).
 */
const spool = { bytesPerMs: 0, maxBytes: 0 };

/** The daemon's default service, one per process (and per run: an external QuestDB keeps earlier runs' rows). */
const serviceOf = (name: string) => `${DAEMON.service}-${name}-${RUN}`;
const HEALTHY = serviceOf('healthy');

/** Rows of one daemon process on the default schedule, from T0 to T0 + 30 min; the exporter's scrapes of it go to `scrapes`. */
function daemonRows(w: Writer, p: Process, scrapes: Pick<Writer, 'write'> | undefined = w): void {
  const service = p.identity?.service ?? serviceOf(p.name);
  const instance = p.identity?.instance ?? `default-${RUN}`;
  const end = Math.min(T0 + RUN_MS, p.crashAt ?? Infinity);
  const lands = (t: number) => p.cutAt === undefined || t < p.cutAt;
  const base = { service, instance };
  if (lands(T0)) w.write(schema.processEvents, { ts: us(T0 - MIN), ...base, event: 'start', pid: 1 });
  for (const { id } of EXCHANGES) w.write(schema.connectionEvents, { ts: us(T0 - MIN + 1), ...base, exchange: id, channel: LIQUIDATIONS_CHANNEL, state: 'connected' });
  for (let t = T0; t < end; t += SAMPLE_MS) {
    if (!lands(t)) break;
    w.write(schema.processSamples, { ts: us(t), ...base, pid: 1, uptime_s: (t - T0) / S + 60, rss_bytes: (p.rssMiB?.(t) ?? 180) * 1_048_576, heap_used_bytes: 6e7, heap_total_bytes: 9e7, cpu_percent: p.cpu?.(t) ?? 4, event_loop_lag_ms: 1.5 });
    for (const { id } of EXCHANGES) {
      const s = p.stream?.(t, id) ?? {};
      const connected = !s.down;
      const lastMessage = s.silentSince ?? t - 1500;
      w.write(schema.connectionSamples, { ts: us(t), ...base, exchange: id, channel: LIQUIDATIONS_CHANNEL, connected, messages: connected && s.silentSince === undefined ? 2 : 0, latency_ms_avg: connected && s.silentSince === undefined ? (s.latencyMs ?? 90) : null, latency_ms_max: connected && s.silentSince === undefined ? (s.latencyMs ?? 90) * 2 : null, last_message_ts: us(Math.min(lastMessage, t)), reconnects: 0 });
      w.write(schema.rateLimits, { ts: us(t + 1), ...base, exchange: id, used: 10, quota: 2400, throttled: false, retry_after_s: null });
    }
  }
  // Fetches: open interest once per 30-s window and funding once per 60-s window, per exchange and symbol.
  for (let t = T0; t < end; t += DAEMON.openInterestIntervalMs) {
    if (!lands(t)) break;
    for (const { id, symbols } of EXCHANGES) {
      const datasets = (t - T0) % DAEMON.fundingIntervalMs === 0 ? ['open_interest', 'funding_rate'] : ['open_interest'];
      for (const dataset of datasets) {
        symbols.forEach((symbol, i) => {
          const status = p.fetchStatus?.(t, id, dataset) ?? 'ok';
          w.write(schema.fetches, { ts: us(t + 200 + i * 150), ...base, exchange: id, dataset, symbol, status, latency_ms: status === 'timeout' ? DAEMON.requestTimeoutMs : 80, records: status === 'ok' ? 1 : 0 });
        });
      }
    }
  }
  // The stream's state changes and the gap recorded when it comes back (as the daemon's stream does).
  if (p.stream) {
    for (const { id, symbols } of EXCHANGES) {
      let downSince: number | undefined;
      let delay = DAEMON.reconnectBaseMs;
      for (let t = T0; t < end && lands(t); t += S) {
        const down = !!p.stream(t, id).down;
        if (down && downSince === undefined) {
          downSince = t;
          delay = DAEMON.reconnectBaseMs;
          w.write(schema.connectionEvents, { ts: us(t), ...base, exchange: id, channel: LIQUIDATIONS_CHANNEL, state: 'disconnected', reason: 'socket hang up' });
        } else if (down && t - downSince! >= delay) {
          w.write(schema.connectionEvents, { ts: us(t), ...base, exchange: id, channel: LIQUIDATIONS_CHANNEL, state: 'reconnecting', attempt: 1 });
          delay = Math.min(delay * 2, DAEMON.reconnectMaxMs) + (t - downSince!);
        } else if (!down && downSince !== undefined) {
          w.write(schema.connectionEvents, { ts: us(t), ...base, exchange: id, channel: LIQUIDATIONS_CHANNEL, state: 'connected' });
          for (const symbol of symbols) {
            w.write(schema.dataGaps, { ts: us(t), ...base, exchange: id, dataset: LIQUIDATIONS_CHANNEL, symbol, gap_start: us(downSince), gap_end: us(t), duration_s: (t - downSince) / S, reason: 'socket hang up' });
          }
          downSince = undefined;
        }
      }
    }
  }
  // The writer's health rows (held from the cut on) and the exporter's scrapes of /metrics (never held).
  for (let t = T0; t < end && lands(t); t += DEFAULT_WRITER_HEALTH_INTERVAL_MS) {
    w.write(schema.writerStats, { ts: us(t), ...base, queue_rows: 0, queue_bytes: 0, spool_bytes: 0, rows_written: (t - T0) / 400, rows_rejected: 0, rows_dropped: 0, lag_ms: 40 });
  }
  for (let t = T0 + 7 * S; scrapes && t < T0 + RUN_MS; t += SCRAPE_MS) {
    const target = { ts: us(t), service: `${service}-metrics`, instance: `daemon-${p.name}-${RUN}:9464`, kind: 'gauge', source: 'http://daemon:9464/metrics' } as const;
    // The exporter keeps scraping a crashed process: its scrapes fail (`up` 0) and carry no sample.
    scrapes.write(schema.metrics, { ...target, name: SCRAPE_UP_METRIC, labels: '', value: t < end ? 1 : 0 });
    if (t >= end) continue;
    const lagS = p.cutAt !== undefined && t >= p.cutAt ? (t - p.cutAt) / S : 0.04;
    scrapes.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.processInfo, labels: `instance="${instance}",pid="1",service="${service}",version="0.1.0"`, value: 1 });
    scrapes.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.writerLag, labels: `service="${service}"`, value: lagS });
    // The spool grows at the daemon's measured rate from the cut (its bound: the writer's default).
    scrapes.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.writerSpoolBytes, labels: `service="${service}"`, value: p.cutAt !== undefined && t >= p.cutAt ? (t - p.cutAt) * spool.bytesPerMs : 0 });
    scrapes.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.writerSpoolMaxBytes, labels: `service="${service}"`, value: spool.maxBytes });
  }
}

/** Liquidations as the two default streams push them: calm through the healthy run, then a Binance cascade. */
function liquidationRows(w: Writer, base = { service: HEALTHY, instance: `default-${RUN}` }, cascade = true): void {
  for (let t = T0; t < T0 + RUN_MS; t += 20 * S) {
    for (const { id, symbols } of EXCHANGES) {
      symbols.forEach((symbol, i) => w.write(schema.liquidations, { ts: us(t + i * 3000), ...base, exchange: id, symbol, side: 'sell', price: 60_000, amount: 0.05, value_usd: 3000 }));
    }
  }
  // Binance pushes at most one liquidation per symbol per second: 2 symbols × 60 a minute, each large (~$30k).
  const binance = EXCHANGES.find((e) => e.id === 'binanceusdm')!;
  for (let t = BURST_AT; cascade && t < BURST_AT + 3 * MIN; t += S) {
    binance.symbols.forEach((symbol, i) => w.write(schema.liquidations, { ts: us(t + i * 100), ...base, exchange: binance.id, symbol, side: 'sell', price: 60_000, amount: 0.5 }));
  }
}

/**
 * The reference trader: the demo's paper strategy at its defaults (one decision every 2 s: an order, ~10 % of them
 * rejected, fills, a position and a PnL snapshot), run on mocked timers through the 30 minutes and recorded
 * through the SDK with each call's virtual time. `fault` rewrites its calls from FAULT_AT on. Returns its run id.
 */
type TraderFault = (t: number, call: 'order' | 'fill' | 'pnl', args: Record<string, unknown>) => Record<string, unknown> | undefined;
function traderRows(monitor: Monitor, startAt: number, fault?: TraderFault): string {
  let runId = '';
  const virtual = {
    strategy(ref: StrategyRef): StrategyMonitor {
      runId = ref.runId;
      const real = monitor.strategy(ref);
      const at = <T extends object>(call: 'order' | 'fill' | 'pnl', args: T): T | undefined => {
        const t = Date.now();
        const changed = fault && t >= FAULT_AT ? fault(t, call, args as Record<string, unknown>) : args;
        return changed && ({ ...changed, at: t } as T);
      };
      return {
        ref,
        order: (e) => {
          const x = at('order', e);
          if (x) real.order(x);
        },
        fill: (e) => {
          const x = at('fill', e);
          if (x) real.fill(x);
        },
        pnl: (e) => {
          const x = at('pnl', e);
          if (x) real.pnl(x);
        },
        position: (e) => real.position({ ...e, at: Date.now() }),
        openOrders: () => real.openOrders(),
      };
    },
  } as unknown as Monitor;
  mock.timers.enable({ apis: ['setInterval', 'Date'], now: startAt });
  try {
    const trader = startPaperStrategy(virtual);
    // Step by step: Node 20's tick() moves Date to the end of the whole span before it runs the callbacks.
    for (let t = startAt; t + 1000 < T0 + RUN_MS; t += 1000) mock.timers.tick(1000);
    trader.stop();
  } finally {
    mock.timers.reset();
  }
  return runId;
}

/** The exporter's statfs samples of a QuestDB data directory every 15 s, `usedPercent(t)` full. */
function diskRows(w: Writer, name: string, usedPercent: (t: number) => number): void {
  const total = 200 * 1024 ** 3;
  for (let t = T0 + 3 * S; t < T0 + RUN_MS; t += SCRAPE_MS) {
    const row = { ts: us(t), service: 'questdb', instance: `${name}-${RUN}:9003`, labels: 'path="/var/lib/questdb"', kind: 'gauge', source: 'http://questdb:9003/metrics' } as const;
    w.write(schema.metrics, { ...row, name: QUESTDB_METRICS.diskTotal, value: total });
    w.write(schema.metrics, { ...row, name: QUESTDB_METRICS.diskFree, value: total * (1 - usedPercent(t) / 100) });
  }
}

const after10 = (t: number) => t >= FAULT_AT;
const bybit = (id: string) => id === 'bybit';
/**
 * Each fault process, the rules it must fire, and the others it sets off with them (`also`: evidence that stopped or
 * failed with the fault; one message per severity, grouped by service). A fault lasts to the end of the run (its
 * rules still firing then) unless `over`: then they must have resolved. docs/alerting.md shows this table.
 */
const FAULTS: readonly { process: Process; fires: readonly RuleId[]; also?: readonly RuleId[]; over?: boolean }[] = [
  { process: { name: 'crash', crashAt: FAULT_AT }, fires: ['daemonDown'] },
  { process: { name: 'leak', rssMiB: (t) => (after10(t) ? 180 + ((t - FAULT_AT) / MIN) * 300 : 180) }, fires: ['memoryHigh'] },
  { process: { name: 'hot', cpu: (t) => (after10(t) ? 97 : 4) }, fires: ['cpuHigh'] },
  {
    // bybit unreachable: websocket lost (reconnect attempts with the default backoff), every REST request times out.
    process: { name: 'bybit-outage', stream: (t, id) => ({ down: bybit(id) && after10(t) }), fetchStatus: (t, id) => (bybit(id) && after10(t) ? 'timeout' : 'ok') },
    fires: ['exchangeDisconnected', 'exchangeDown', 'staleData', 'errorRateSpike'],
  },
  // A 3-minute websocket drop (as long as the evaluation step here; Grafana's fast group sees a 10-s one):
  // the daemon records the missed window as a data gap when the stream is back.
  { process: { name: 'ws-drop', stream: (t, id) => ({ down: bybit(id) && after10(t) && t < FAULT_AT + 3 * MIN }) }, fires: ['dataGaps', 'exchangeDisconnected'], over: true },
  // Binance's REST API answers errors (ccxt ExchangeError) to every request; its websocket is fine.
  { process: { name: 'rest-errors', fetchStatus: (t, id) => (!bybit(id) && after10(t) ? 'error' : 'ok') }, fires: ['exchangeDown', 'errorRateSpike', 'staleData'], also: ['exchangeDisconnected'] },
  // A shared IP: Binance refuses the funding requests with HTTP 429 (2 of its 6 requests a minute).
  { process: { name: 'refused', fetchStatus: (t, id, dataset) => (!bybit(id) && dataset === 'funding_rate' && after10(t) ? 'rate_limited' : 'ok') }, fires: ['rateLimit'], also: ['staleData'] },
  // Connected, pongs arrive, no message: the bybit stream stalls.
  { process: { name: 'silent', stream: (t, id) => (bybit(id) && after10(t) ? { silentSince: FAULT_AT } : {}) }, fires: ['silentStream'] },
  { process: { name: 'slow-ws', stream: (t, id) => (bybit(id) && after10(t) ? { latencyMs: 3500 } : {}) }, fires: ['websocketLatency'] },
  // Its writer cannot reach QuestDB: its rows are held (the scrapes of its /metrics are not). It is alive, the
  // exporter's scrapes say so: not daemonDown's incident.
  { process: { name: 'cut-off', cutAt: FAULT_AT }, fires: ['writerLag'] },
];

/**
 * Faults of the reference trader (its default cadence: 30 orders and PnL snapshots a minute), each with the rules
 * it must fire; they last to the end of the run. Its healthy run is the paper strategy as it is.
 */
const TRADER_FAULTS: readonly { name: string; fault: TraderFault; fires: readonly RuleId[] }[] = [
  {
    // A position goes wrong: 15 % of its 10,000 USDT equity lost over 5 minutes, and not recovered.
    name: 'drawdown',
    fault: (t, call, args) => {
      if (call !== 'pnl') return args;
      const loss = 1500 * Math.min(1, (t - FAULT_AT) / (5 * MIN));
      return { ...args, realized: Number(args.realized) - loss, equity: Number(args.equity) - loss };
    },
    fires: ['drawdown'],
  },
  {
    // Margin exhausted: the exchange rejects every order from then on (no fills).
    name: 'reject-storm',
    fault: (_t, call, args) => (call === 'fill' ? undefined : call === 'order' && args.status === 'filled' ? { ...args, status: 'rejected', filled: 0, reason: 'insufficient margin' } : args),
    fires: ['orderRejectRate'],
  },
];

/**
 * QuestDB unreachable from one daemon for weeks, at the daemon's measured spool rate: its spool grows toward the
 * writer's default bound. Only what the two rules read is written (the exporter's scrapes of its /metrics, every
 * 15 s), and only in the hour before each evaluation (spoolFull's range): through its first day, around the instant
 * its spool is a threshold's hours from full, and over a day of it full (drop-oldest: within a segment of the bound).
 */
const LONG = { service: `${DAEMON.service}-long-outage-${RUN}`, instance: `default-${RUN}`, target: `daemon-long-outage-${RUN}:9464` };
/** Segment size of a default spool (min(16 MiB, maxBytes / 4)): a full drop-oldest spool saws within one. */
const SEGMENT_BYTES = 16 * 1_048_576;
function spoolAt(since: number, t: number): number {
  const grown = (t - since) * spool.bytesPerMs;
  return grown <= spool.maxBytes ? grown : spool.maxBytes - SEGMENT_BYTES + ((grown - spool.maxBytes) % SEGMENT_BYTES);
}
function longOutageScrapes(w: Writer, since: number, from: number, to: number): void {
  for (let t = Math.ceil((from - since) / SCRAPE_MS) * SCRAPE_MS + since; t <= to; t += SCRAPE_MS) {
    const target = { ts: us(t), service: `${LONG.service}-metrics`, instance: LONG.target, kind: 'gauge', source: 'http://daemon:9464/metrics' } as const;
    const labels = `service="${LONG.service}"`;
    w.write(schema.metrics, { ...target, name: SCRAPE_UP_METRIC, labels: '', value: 1 });
    w.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.processInfo, labels: `instance="${LONG.instance}",pid="1",service="${LONG.service}",version="0.1.0"`, value: 1 });
    w.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.writerLag, labels, value: (t - since) / S });
    w.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.writerSpoolBytes, labels, value: spoolAt(since, t) });
    w.write(schema.metrics, { ...target, name: SDK_SCRAPED_METRICS.writerSpoolMaxBytes, labels, value: spool.maxBytes });
  }
}

/** Rules not shown to fire here, and why (each is covered where its fault can be produced). */
const NOT_HERE: Readonly<Partial<Record<RuleId, string>>> = {
  questdbWalSuspended:
    "reads QuestDB's live wal_tables(): no time macro, so virtual time and the daemon's rate have no bearing (any table QuestDB suspends fires it); fires for a really suspended table on real QuestDB in grafana-questdb-health.test.ts",
  questdbWalLag:
    "reads QuestDB's live wal_tables() (no time macro): whether QuestDB's apply keeps up is its own state, so neither virtual time nor the daemon's scale has any bearing (any writer's commits count). Shown firing in grafana-questdb-health.test.ts on a real QuestDB started with cairo.wal.apply.enabled=false: 25 unapplied commits to tw_process_samples go Pending, then Alerting after its pending period and keep firing, questdbWalSuspended quiet; the same data root on a server that applies them resolves it",
  questdbDiskSize:
    "off by default (an absolute data budget only the operator can set; the volume's fill is questdbDiskFull's, shown here); reads QuestDB's live table_storage(), fires above its threshold on real QuestDB in grafana-questdb-health.test.ts",
};

describe("every rule at the reference daemon's default settings (real QuestDB, virtual time)", () => {
  let writer: Writer;
  let trader: Monitor;
  /** The reference trader's run ids: 'healthy' and each trader fault's name. */
  const runIds = new Map<string, string>();
  /** The long outage's timeline (virtual ms) and evaluation instants, and its two rules' state. */
  const long = { since: 0, crossAt: 0, fullAt: 0, instants: [] as number[] };
  const longManagers = new Map<RuleId, StateManager>();
  const longFired = new Map<RuleId, number>();
  /** Per rule, its state manager stepped through the run. */
  const managers = new Map<RuleId, StateManager>();
  /** Per rule, each instance that fired: its labels and the first evaluation it was firing at. */
  const fired = new Map<RuleId, Map<string, { labels: Readonly<Record<string, string>>; at: number }>>();

  before(async () => {
    // The daemon's spool rate: its 30 minutes of rows (no scrapes: those are the exporter's) into a real writer with
    // the default spool whose QuestDB refuses connections.
    const spoolDir = mkdtempSync(join(tmpdir(), 'tw-scale-spool-'));
    const probe = createWriter({ url: 'http://127.0.0.1:1', service: DAEMON.service, instance: 'default', spoolDir, logger: memoryLogger() });
    const identity = { service: DAEMON.service, instance: 'default' };
    daemonRows(probe, { name: 'spool-probe', identity }, undefined);
    liquidationRows(probe, identity, false);
    await probe.flush();
    const probed = probe.stats();
    await probe.close();
    rmSync(spoolDir, { recursive: true, force: true });
    assert.equal(probed.spoolRows + probed.rowsDropped, probed.rowsAccepted, `every row of the probe is spooled: ${JSON.stringify(probed)}`);
    spool.bytesPerMs = probed.spoolBytes / (RUN_MS + MIN);
    spool.maxBytes = probed.spoolMaxBytes;

    writer = createWriter({ url: questDbUrl(server), service: 'tw-scale', instance: `writer-${RUN}`, logger: memoryLogger() });
    daemonRows(writer, { name: 'healthy' });
    for (const f of FAULTS) daemonRows(writer, f.process);
    liquidationRows(writer);
    diskRows(writer, 'questdb-ok', () => 41);
    diskRows(writer, 'questdb-full', (t) => (after10(t) ? 95 : 60));
    // The reference trader, healthy and with its faults (each run starts a millisecond apart: its own run id).
    trader = createMonitor({ service: `demo-strategy-${RUN}`, instance: `default-${RUN}`, writer, sampleIntervalMs: 0, writerHealthIntervalMs: 0, logger: memoryLogger() });
    runIds.set('healthy', traderRows(trader, T0));
    TRADER_FAULTS.forEach((f, i) => runIds.set(f.name, traderRows(trader, T0 + i + 1, f.fault)));
    // The long outage: where it starts, so that its spool is full a day before T0 (its rows stay within the 90-day TTL).
    const threshold = defaultAlertsConfig().rules.spoolFull.threshold;
    const fullAfter = spool.maxBytes / spool.bytesPerMs;
    long.since = Math.floor((T0 - fullAfter - 2 * DAY) / MIN) * MIN;
    long.crossAt = long.since + fullAfter - threshold * HOUR;
    long.fullAt = long.since + fullAfter;
    assert.ok(T0 - long.since < 85 * DAY, `a spool of ${spool.maxBytes} bytes at ${(spool.bytesPerMs * HOUR) / 1_048_576} MiB/h fills within the tables' 90-day TTL`);
    const day1 = Array.from({ length: 6 }, (_, i) => long.since + DAY + i * 10 * MIN);
    const crossing = Array.from({ length: 21 }, (_, i) => Math.floor((long.crossAt - 30 * MIN) / MIN) * MIN + i * STEP_MS);
    const onward = Array.from({ length: 12 }, (_, i) => crossing.at(-1)! + (i + 1) * 4 * HOUR).filter((t) => t <= long.fullAt + DAY);
    long.instants = [...day1, ...crossing, ...onward];
    for (const at of long.instants) longOutageScrapes(writer, long.since, at - HOUR, at);
    await writer.flush();
    await walApplied(sql, ['tw_process_samples', 'tw_process_events', 'tw_connection_samples', 'tw_connection_events', 'tw_fetches', 'tw_rate_limits', 'tw_writer_stats', 'tw_metrics', 'tw_data_gaps', 'tw_liquidations', 'tw_orders', 'tw_strategy_pnl']);

    // Every 3 minutes through the run (the groups evaluate every 10 s and 1 min: finer steps would add precision to
    // the firing times, not verdicts), every minute through the cascade for the per-exchange liquidation rule. The
    // rules of one instant are evaluated concurrently, as Grafana's scheduler does; each keeps its own state. A rule
    // whose query has no time macro (QuestDB's current state: wal_tables(), table_storage(), the watchdog) gives the
    // same result at every instant of the run: evaluated at its end only.
    const instants = Array.from({ length: RUN_MS / STEP_MS }, (_, i) => T0 + (i + 1) * STEP_MS);
    const burstInstants = Array.from({ length: 6 }, (_, i) => BURST_AT + i * MIN);
    for (const rule of rules) {
      managers.set(rule.id, new StateManager({ forMs: durationMs(rule.for), noDataState: rule.noDataState, execErrState: rule.execErrState }));
      fired.set(rule.id, new Map());
    }
    const step = async (rule: BuiltRule, at: number) => {
      const m = managers.get(rule.id)!;
      m.step(at, await evaluateAt(sql, rule, at));
      for (const i of m.firing()) if (!fired.get(rule.id)!.has(i.key)) fired.get(rule.id)!.set(i.key, { labels: i.labels, at });
    };
    const timeless = (rule: BuiltRule) => rule.data.every((d) => !String(d.model.rawSql ?? '$__').includes('$__'));
    for (const at of instants) await Promise.all(rules.filter((rule) => !timeless(rule) || at === instants.at(-1)).map((rule) => step(rule, at)));
    for (const at of burstInstants) await step(ruleOf('liquidationBurst'), at);
    // The long outage, on its own timeline (weeks before the run): its two rules, with their own state.
    for (const id of ['spoolFull', 'writerLag'] as const) {
      const rule = ruleOf(id);
      const m = new StateManager({ forMs: durationMs(rule.for), noDataState: rule.noDataState, execErrState: rule.execErrState });
      longManagers.set(id, m);
      for (const at of long.instants) {
        m.step(at, await evaluateAt(sql, rule, at));
        if (!longFired.has(id) && m.firing().some((i) => i.labels.service === LONG.service)) longFired.set(id, at);
      }
    }
  });
  after(async () => {
    await trader.shutdown();
    await writer.close();
  });

  /** When `rule` first fired for an instance whose labels match `labels`. */
  const firstFired = (rule: RuleId, labels: (l: Readonly<Record<string, string>>) => boolean) =>
    Math.min(...[...fired.get(rule)!.values()].filter((f) => labels(f.labels)).map((f) => f.at));

  test('a healthy 30-minute run: no rule fires, nor goes pending (the watchdog always fires)', () => {
    const healthy = (l: Readonly<Record<string, string>>) => l.service === HEALTHY || l.instance === `questdb-ok-${RUN}:9003`;
    for (const rule of rules) {
      const m = managers.get(rule.id)!;
      if (rule.id === 'watchdog') {
        assert.equal(m.firing().length, 1, 'the watchdog fires');
        continue;
      }
      // Rules without process labels (QuestDB's own, per-exchange liquidations before the cascade) must be quiet too.
      // The reference trader's rules have no service: its healthy run's only.
      const mine = (l: Readonly<Record<string, string>>) => healthy(l) || (l.service === undefined && l.run_id === undefined) || l.run_id === runIds.get('healthy');
      const noisy = m.transitions.filter((x) => x.to !== 'Normal' && x.at <= T0 + RUN_MS && mine(Object.fromEntries(JSON.parse(x.key) as [string, string][])));
      assert.deepEqual(noisy, [], `${rule.id} stays Normal through the healthy run`);
    }
    // The healthy process is really seen by the rules that judge it (not quiet by having no data).
    for (const id of ['daemonDown', 'memoryHigh', 'errorRateSpike', 'exchangeDisconnected', 'staleData', 'rateLimit', 'silentStream', 'writerLag', 'spoolFull'] as const) {
      assert.ok([...managers.get(id)!.instances.values()].some((i) => i.labels.service === HEALTHY), `${id} sees the healthy daemon`);
    }
    for (const id of ['drawdown', 'orderRejectRate'] as const) {
      assert.ok([...managers.get(id)!.instances.values()].some((i) => i.labels.run_id === runIds.get('healthy')), `${id} sees the healthy paper strategy`);
    }
  });

  for (const { process, fires, also = [], over } of FAULTS) {
    test(`fault '${process.name}' at the default schedule fires ${fires.join(', ')}`, (t) => {
      const service = serviceOf(process.name);
      for (const id of fires) {
        const at = firstFired(id, (l) => l.service === service);
        assert.ok(at <= T0 + RUN_MS, `${id} fires for ${service}: ${JSON.stringify([...managers.get(id)!.instances.values()].filter((i) => i.labels.service === service))}`);
        assert.ok(at > FAULT_AT, `${id} fires after the fault, not before (${(at - FAULT_AT) / S} s)`);
        const firingAtEnd = managers.get(id)!.firing().some((i) => i.labels.service === service);
        assert.equal(firingAtEnd, !over, over ? `${id} resolved once the fault was over` : `${id} still firing while the fault lasts`);
      }
      const others = rules.filter((r) => !fires.includes(r.id) && firstFired(r.id, (l) => l.service === service) <= T0 + RUN_MS).map((r) => r.id);
      assert.deepEqual(others.sort(), [...also].sort(), 'the other rules this fault sets off');
      t.diagnostic(`fires: ${fires.map((id) => `${id} +${(firstFired(id, (l) => l.service === service) - FAULT_AT) / S} s`).join(', ')}; also: ${others.join(', ') || 'none'}`);
    });
  }

  for (const { name, fires } of TRADER_FAULTS) {
    test(`trader fault '${name}' at the paper strategy's default cadence fires ${fires.join(', ')} and keeps firing`, (t) => {
      const runId = runIds.get(name)!;
      const mine = (l: Readonly<Record<string, string>>) => l.run_id === runId;
      for (const id of fires) {
        const at = firstFired(id, mine);
        assert.ok(at > FAULT_AT && at <= T0 + RUN_MS, `${id} fires for ${runId} after the fault: ${JSON.stringify([...managers.get(id)!.instances.values()].filter((i) => mine(i.labels)))}`);
        assert.ok(managers.get(id)!.firing().some((i) => mine(i.labels)), `${id} still firing while the fault lasts`);
      }
      const others = rules.filter((r) => !fires.includes(r.id) && firstFired(r.id, mine) <= T0 + RUN_MS).map((r) => r.id);
      assert.deepEqual(others, [], 'no other rule fires for it');
      t.diagnostic(`fires: ${fires.map((id) => `${id} +${(firstFired(id, mine) - FAULT_AT) / S} s`).join(', ')}`);
    });
  }
  test("QuestDB unreachable from a daemon for weeks (its measured spool rate, the writer's default bound): writerLag at once, spoolFull a threshold's hours before the spool is full, and on while it is full", (t) => {
    const spoolFull = longManagers.get('spoolFull')!;
    const threshold = defaultAlertsConfig().rules.spoolFull.threshold;
    assert.ok((longFired.get('writerLag') ?? Infinity) <= long.since + DAY + 10 * MIN, `writerLag fires on the first day: ${JSON.stringify(longManagers.get('writerLag')!.transitions.slice(0, 4))}`);
    const firedAt = longFired.get('spoolFull');
    assert.ok(firedAt !== undefined, `spoolFull fires: ${JSON.stringify(spoolFull.transitions)}`);
    // Quiet through the first day (the evaluations there); pending from the first evaluation past the crossing.
    const latest = long.crossAt + STEP_MS + Math.ceil(durationMs(ruleOf('spoolFull').for) / STEP_MS) * STEP_MS;
    assert.ok(firedAt > long.crossAt && firedAt <= latest, `fires ${(firedAt - long.crossAt) / MIN} min after the spool is ${threshold} h from full`);
    assert.ok(long.fullAt - firedAt >= (threshold - 1) * HOUR, 'at least the threshold (less an evaluation) before rows are given up');
    assert.ok(long.instants.at(-1)! >= long.fullAt + 20 * HOUR, 'evaluated through most of a day of a full spool');
    const [instance] = spoolFull.firing();
    assert.equal(instance?.labels.service, LONG.service, 'still firing a day after the spool filled');
    assert.ok(spool.maxBytes - spoolAt(long.since, long.instants.at(-1)!) <= SEGMENT_BYTES, 'its spool is at its bound then');
    // The figure the scenario table (docs/alerting.md, alerts-scenarios.unit.test.ts) is computed with.
    const mibPerHour = (spool.bytesPerMs * HOUR) / 1_048_576;
    assert.ok(Math.abs(mibPerHour - DAEMON_SPOOL_MIB_PER_H) / DAEMON_SPOOL_MIB_PER_H < 0.1, `measured ${mibPerHour.toFixed(3)} MiB/h, the scenario table uses ${DAEMON_SPOOL_MIB_PER_H}`);
    const days = (ms: number) => (ms / DAY).toFixed(1);
    t.diagnostic(`daemon spool rate ${((spool.bytesPerMs * HOUR) / 1_048_576).toFixed(2)} MiB/h, bound ${spool.maxBytes / 1_048_576} MiB: spoolFull fires ${days(firedAt - long.since)} days into the outage, full at ${days(long.fullAt - long.since)} days`);
  });

  test("liquidation cascade (Binance's 1 event per symbol per second, default 2 symbols): liquidationBurst fires", () => {
    const at = firstFired('liquidationBurst', (l) => l.exchange === 'binanceusdm');
    assert.ok(at >= BURST_AT && at <= BURST_AT + 2 * MIN, `fires ${(at - BURST_AT) / S} s into the cascade`);
    assert.equal(managers.get('liquidationBurst')!.firing().length, 0, 'and resolves once it is over');
  });

  test('QuestDB disk nearly full (the exporter statfs samples every 15 s): questdbDiskFull fires', () => {
    const at = firstFired('questdbDiskFull', (l) => l.instance === `questdb-full-${RUN}:9003`);
    // Above 90 % from FAULT_AT: seen at the next step, then pending for its `for` (5 min), in whole steps.
    const latest = FAULT_AT + STEP_MS + Math.ceil(durationMs(ruleOf('questdbDiskFull').for) / STEP_MS) * STEP_MS;
    assert.ok(at > FAULT_AT && at <= latest, `fires ${(at - FAULT_AT) / S} s after passing 90 %`);
  });

  test('QuestDB unreachable: questdbUnreachable fires on the failing query', async () => {
    const rule: BuiltRule = ruleOf('questdbUnreachable');
    const down = new SqlClient({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
    const m = new StateManager({ forMs: durationMs(rule.for), noDataState: rule.noDataState, execErrState: rule.execErrState });
    m.step(T0 + RUN_MS, await evaluateAt(down, rule, T0 + RUN_MS));
    assert.equal(m.firing().length, 1);
  });

  test('every rule is covered here or named with the reason and where it is covered', () => {
    const here = new Set<RuleId>([...FAULTS.flatMap((f) => f.fires), ...TRADER_FAULTS.flatMap((f) => f.fires), 'spoolFull', 'liquidationBurst', 'questdbDiskFull', 'questdbUnreachable', 'watchdog']);
    for (const rule of rules) assert.ok(here.has(rule.id) !== (rule.id in NOT_HERE), `${rule.id}: covered here xor listed in NOT_HERE`);
  });
});
