// The reference workload (BENCHMARKS.md, src/schema/estimate.ts REFERENCE_WORKLOAD), written into a real QuestDB:
// N days ending now, rows per day per table exactly as REFERENCE_WORKLOAD says, through the tradewatch writer with
// backdated timestamps. Used by bench/queries.bench.ts and bench/storage.bench.ts; runnable alone:
//   BENCH_DAYS=30 BENCH_DATA_ROOT=/tmp/tw-ref node --import tsx bench/workload.ts
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startQuestDb, type QuestDbServer } from '../packages/cli/src/questdb/index.js';
import { schema, tables, views } from '../packages/sdk/src/schema/index.js';
import { REFERENCE_WORKLOAD } from '../packages/sdk/src/schema/estimate.js';
import type { TableDef } from '../packages/sdk/src/schema/index.js';
import { configSchema } from '../packages/cli/src/config/schema.js';
import { applySchema, compactPartitions, createWriter, SqlClient, waitForParquet, type ConvertedPartition, type Row } from '../packages/sdk/src/storage/index.js';

export const EXCHANGES = ['binanceusdm', 'bybit', 'okx', 'bitget', 'hyperliquid'] as const;
export const SYMBOLS = Array.from({ length: 50 }, (_, i) => `C${String(i).padStart(2, '0')}/USDT:USDT`);
export const STRATEGIES = [
  { strategy: 'grid', run_id: 'grid-live-1', mode: 'live' },
  { strategy: 'momentum', run_id: 'momentum-paper-1', mode: 'paper' },
  { strategy: 'basis', run_id: 'basis-live-1', mode: 'live' },
] as const;
const DAEMON = { service: 'ccxt-daemon', instance: 'daemon-1' };
const RUNNER = { service: 'strategy-runner', instance: 'runner-1' };
const SCRAPE = { service: 'questdb', instance: 'questdb-1' };

/** Words of the workload definition, rendered into BENCHMARKS.md next to the measured numbers. */
export const WORKLOAD_DEFINITION = [
  '5 exchanges × 50 symbols (250 markets) fetched by one daemon: open interest every 30 s and funding every 60 s per market (`tw_open_interest`, `tw_funding_rates`, one `tw_fetches` row per fetch, 1 in 50 failed)',
  '~5 liquidations/s (432,000 a day) with a burst minute every hour at 10× the base rate',
  'market values shaped like exchange data: prices on a tick of 5 significant digits, open interest to 0.001 and funding to 1e-8, slowly moving series; QuestDB metrics as counters and integer gauges',
  '3 strategies (PnL every 5 s, 5 positions every 30 s, 3 order state changes and a fill a minute each)',
  'process samples every second, one connection sample per exchange every second, rate-limit samples every 30 s per exchange',
  '~200 QuestDB series scraped every 15 s into `tw_metrics`; writer stats every 10 s; 2,000 errors, 100 connection events, 50 data gaps a day',
];

const SECOND_US = 1_000_000;
const DAY_S = 86_400;
const STATE_FILE = 'tw-bench-workload.json';

export interface WorkloadState {
  /** First second of data (µs) and the end of the last build (exclusive, µs). */
  readonly startUs: number;
  readonly endUs: number;
  readonly days: number;
  readonly rows: number;
  readonly buildSeconds: number;
  readonly rowsPerSecond: number;
}

/** Cheap deterministic noise in [0, 1). */
function noise(a: number, b = 0): number {
  let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x7f4a7c15, 0xc2b2ae35);
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d);
  h ^= h >>> 12;
  return (h >>> 0) / 4_294_967_296;
}

type RowFn = (k: number, tsUs: number, t: number) => Row;

/*
 * Market values shaped like exchange data, since they decide how well cold partitions compress: prices on the
 * market's tick (5 significant digits), amounts on a lot size, open interest to 0.001 and funding to 1e-8 as
 * exchanges publish them, every series moving slowly (hours) with small fast noise. Uniform full-precision noise
 * would be the worst case for compression and resembles no exchange.
 */
/** The value on a decimal step (0.001, 1e-8, 1): the shortest double, as parsing the exchange's decimal string gives. */
const onStep = (value: number, step: number) => Number(value.toFixed(Math.max(0, -Math.round(Math.log10(step)))));
/** Price level of market m (0..249): from ~70,000 (the first symbol) down to ~0.05. */
const baseOf = (market: number) => 70_000 * 10 ** (-Math.floor(market / 5) / 8);
const tickOf = (market: number) => 10 ** (Math.floor(Math.log10(baseOf(market))) - 4);
/** Price at second t: a slow swing of a few per cent, the same for the market on every exchange. */
const priceOf = (market: number, t: number) => {
  const m = market - (market % 5);
  return onStep(baseOf(m) * (1 + 0.03 * Math.sin(t / 7_200 + m) + 0.002 * Math.sin(t / 97 + m)), tickOf(m));
};
/** Open interest (base currency) at second t: ~$50M notional per market, drifting by a few per cent over hours. */
const openInterestOf = (market: number, t: number) => (5e7 / baseOf(market)) * (1 + 0.05 * Math.sin(t / 21_600 + market) + 0.001 * Math.sin(t / 300 + market));

const METRIC_NAMES = Array.from({ length: 40 }, (_, i) => `questdb_metric_${i}`);
const ERROR_COMPONENTS = ['fetcher', 'websocket', 'writer', 'scheduler'];
const ERROR_KINDS = ['NetworkError', 'RateLimitExceeded', 'ExchangeNotAvailable', 'RequestTimeout', 'BadSymbol'];

/** One row generator per table: row k of the table (k counts from the epoch, so rebuilding or topping up is seamless). */
const GENERATORS: Record<string, RowFn> = {
  tw_process_samples: (k, ts) => ({ ts, ...DAEMON, pid: 4242, uptime_s: k % 1_000_000, rss_bytes: 200e6 + Math.round(noise(k) * 50e6), heap_used_bytes: 80e6 + Math.round(noise(k, 1) * 20e6), heap_total_bytes: 120e6, cpu_percent: 10 + noise(k, 2) * 30, event_loop_lag_ms: 1 + noise(k, 3) * 5 }),
  tw_process_events: (k, ts) => ({ ts, ...DAEMON, event: k % 2 ? 'stop' : 'start', pid: 4000 + (k >> 1), version: '1.0.0', reason: k % 2 ? 'SIGTERM' : undefined }),
  tw_errors: (k, ts) => ({ ts, ...DAEMON, component: ERROR_COMPONENTS[k % 4]!, exchange: EXCHANGES[k % 5]!, kind: ERROR_KINDS[Math.floor(k / 4) % 5]!, message: `request failed: connection reset by peer (attempt ${k % 7})` }),
  tw_storage_size: (k, ts) => ({ ts, ...DAEMON, store: `parquet/${['open_interest', 'funding_rates', 'liquidations', 'fetches'][k % 4]}`, bytes: 1e9 + k * 1000, files: 100 + (k % 1000) }),
  tw_fetches: (k, ts) => {
    // Per 30 s: 250 open-interest fetches, then every other 30 s window 250 funding fetches too (375 a window on average).
    const m = k % 750;
    const market = m % 250;
    return { ts, ...DAEMON, exchange: EXCHANGES[market % 5]!, dataset: m < 500 ? 'open_interest' : 'funding_rate', symbol: SYMBOLS[Math.floor(market / 5)]!, status: k % 50 === 0 ? 'error' : 'ok', latency_ms: 40 + noise(k) * 200, records: 1 };
  },
  tw_data_gaps: (k, ts) => ({ ts, ...DAEMON, exchange: EXCHANGES[k % 5]!, dataset: 'open_interest', symbol: SYMBOLS[k % 50]!, gap_start: ts - 120 * SECOND_US, gap_end: ts - 60 * SECOND_US, duration_s: 60, reason: 'exchange maintenance' }),
  tw_liquidations: (k, ts, t) => {
    const market = Math.floor(noise(k, 2) * 250);
    const price = priceOf(market, t * (1 + noise(k, 3) * 1e-4));
    const amount = onStep(market < 25 ? 0.001 + noise(k, 1) * 2 : 1 + noise(k, 1) * 5000, market < 25 ? 0.001 : 1);
    return { ts, ...DAEMON, exchange: EXCHANGES[market % 5]!, symbol: SYMBOLS[Math.floor(market / 5)]!, side: k % 2 ? 'buy' : 'sell', price, amount, value_usd: price * amount, exchange_ts: ts - 50_000 };
  },
  tw_open_interest: (k, ts, t) => {
    const market = k % 250;
    const amount = onStep(openInterestOf(market, t), 0.001);
    return { ts, exchange: EXCHANGES[market % 5]!, symbol: SYMBOLS[Math.floor(market / 5)]!, service: DAEMON.service, open_interest: amount, open_interest_value: onStep(amount * priceOf(market, t), 0.01) };
  },
  tw_funding_rates: (k, ts, t) => {
    const market = k % 250;
    const mark = priceOf(market, t);
    return { ts, exchange: EXCHANGES[market % 5]!, symbol: SYMBOLS[Math.floor(market / 5)]!, service: DAEMON.service, funding_rate: onStep(1e-4 + 2e-4 * Math.sin(t / 86_400 + market), 1e-8), mark_price: mark, index_price: onStep(mark * (1 - 2e-4 * noise(k, 2)), tickOf(market)), next_funding_ts: (Math.floor(t / 28_800) + 1) * 28_800 * SECOND_US };
  },
  tw_connection_events: (k, ts) => {
    const state = (['disconnected', 'reconnecting', 'connected'] as const)[k % 3]!;
    return { ts, ...DAEMON, exchange: EXCHANGES[Math.floor(k / 3) % 5]!, channel: 'liquidations', state, reason: state === 'disconnected' ? 'close 1006' : undefined, downtime_s: state === 'connected' ? 2 + noise(k) * 10 : undefined, attempt: state === 'reconnecting' ? 1 : undefined };
  },
  tw_connection_samples: (k, ts) => ({ ts, ...DAEMON, exchange: EXCHANGES[k % 5]!, channel: 'liquidations', connected: k % 10_007 !== 0, messages: 1 + Math.floor(noise(k) * 10), latency_ms_avg: 20 + noise(k, 1) * 30, latency_ms_max: 60 + noise(k, 2) * 100, last_message_ts: ts - 200_000, reconnects: 3 }),
  tw_rate_limits: (k, ts) => ({ ts, ...DAEMON, exchange: EXCHANGES[k % 5]!, used: 200 + noise(k) * 800, quota: 1200, throttled: k % 997 === 0, retry_after_s: k % 997 === 0 ? 5 : undefined }),
  tw_strategy_pnl: (k, ts) => ({ ts, ...STRATEGIES[k % 3]!, ...RUNNER, currency: 'USDT', realized: k * 0.001, unrealized: noise(k) * 100 - 50, equity: 100_000 + noise(k, 1) * 1000, gross_exposure: 50_000 + noise(k, 2) * 5000, open_orders: k % 7 }),
  tw_orders: (k, ts) => {
    const s = Math.floor(k / 3) % 3;
    return { ts, ...STRATEGIES[s]!, ...RUNNER, exchange: EXCHANGES[k % 5]!, symbol: SYMBOLS[k % 50]!, order_id: `o-${Math.floor(k / 9)}-${s}`, side: k % 2 ? 'buy' : 'sell', type: 'limit', status: (['new', 'open', 'filled'] as const)[k % 3]!, price: 100 + noise(k), amount: 1, filled: k % 3 === 2 ? 1 : 0 };
  },
  tw_fills: (k, ts) => ({ ts, ...STRATEGIES[k % 3]!, ...RUNNER, exchange: EXCHANGES[k % 5]!, symbol: SYMBOLS[k % 50]!, order_id: `o-${k}`, fill_id: `f-${k}`, side: k % 2 ? 'buy' : 'sell', price: 100 + noise(k), amount: 1, fee: 0.02, fee_currency: 'USDT', liquidity: k % 2 ? 'maker' : 'taker' }),
  tw_positions: (k, ts) => ({ ts, ...STRATEGIES[k % 3]!, ...RUNNER, exchange: EXCHANGES[Math.floor(k / 3) % 5]!, symbol: SYMBOLS[Math.floor(k / 3) % 5]!, quantity: noise(k) * 10 - 5, entry_price: 100, mark_price: 100 + noise(k, 1), exposure: (noise(k) * 10 - 5) * 100, unrealized: noise(k, 2) * 10 - 5 }),
  // QuestDB's metrics are counters and byte/row gauges: integers, mostly growing.
  tw_metrics: (k, ts, t) => ({ ts, name: METRIC_NAMES[k % 40]!, ...SCRAPE, labels: `le="${Math.floor(k / 40) % 5}"`, kind: k % 40 < 30 ? 'counter' : 'gauge', source: 'questdb', value: k % 40 < 30 ? Math.floor(t * (1 + (k % 200))) : Math.round(64e6 + noise(k) * 1e6) }),
  tw_writer_stats: (k, ts) => ({ ts, ...DAEMON, queue_rows: k % 100, queue_bytes: (k % 100) * 200, spool_bytes: 0, rows_written: k * 1000, rows_rejected: 0, rows_dropped: 0, rows_spooled: 0, rows_replayed: 0, lag_ms: noise(k) * 300 }),
};

interface Stream {
  readonly table: TableDef;
  readonly rowsPerDay: number;
  readonly row: RowFn;
  /** Cumulative rows from the epoch up to second t (exclusive): rows in second t = at(t + 1) − at(t). */
  readonly at: (t: number) => number;
}

/** Liquidations come in bursts: one minute an hour at 10× the base rate, the same total per hour (so per day). */
function burstyCumulative(rowsPerDay: number): (t: number) => number {
  const perHour = rowsPerDay / 24;
  const burstStart = 7 * 60;
  const weight = 3600 - 60 + 60 * 10;
  return (t) => {
    const hour = Math.floor(t / 3600);
    const s = t - hour * 3600;
    const w = s <= burstStart ? s : s <= burstStart + 60 ? burstStart + (s - burstStart) * 10 : s + 9 * 60;
    return Math.floor(hour * perHour + (perHour * w) / weight);
  };
}

export function workloadStreams(): Stream[] {
  const out: Stream[] = [];
  for (const table of tables) {
    const load = REFERENCE_WORKLOAD[table.name];
    if (!load || load.rowsPerDay === 0) continue;
    const row = GENERATORS[table.name];
    if (!row) throw new Error(`no workload generator for ${table.name}`);
    const r = load.rowsPerDay;
    const at = table === schema.liquidations ? burstyCumulative(r) : (t: number) => Math.floor((t * r) / DAY_S);
    out.push({ table, rowsPerDay: r, row, at });
  }
  return out;
}

export const rowsPerDay = () => workloadStreams().reduce((sum, s) => sum + s.rowsPerDay, 0);

const log = (line: string) => process.stderr.write(`${line}\n`);

/**
 * Writes every row with a timestamp in [fromUs, toUs) (whole seconds), in time order, through the writer; waits for
 * QuestDB to acknowledge them all. Returns the rows written.
 */
export async function writeWorkload(
  url: string,
  fromUs: number,
  toUs: number,
  onProgress?: (doneUs: number, rows: number) => void,
  only?: readonly TableDef[],
): Promise<number> {
  const streams = workloadStreams().filter((s) => !only || only.includes(s.table));
  const MiB = 2 ** 20;
  const writer = createWriter({ url, service: 'bench-workload', flushRows: 20_000, maxBufferedBytes: 128 * MiB });
  const t0 = Math.ceil(fromUs / SECOND_US);
  const t1 = Math.floor(toUs / SECOND_US);
  let rows = 0;
  let lastReport = performance.now();
  try {
    for (let t = t0; t < t1; t++) {
      const base = t * SECOND_US;
      for (const s of streams) {
        const first = s.at(t);
        const n = s.at(t + 1) - first;
        // Distinct microseconds within the second: every row is its own under DEDUP.
        for (let j = 0; j < n; j++) writer.write(s.table, s.row(first + j, base + Math.floor((j * SECOND_US) / n), t));
        rows += n;
      }
      if (t % 16 === 0) {
        const stats = writer.stats();
        if (stats.rowsDropped > 0 || stats.rowsRejected > 0) throw new Error(`writer dropped ${stats.rowsDropped} and rejected ${stats.rowsRejected} rows: ${stats.lastError ?? ''}`);
        // Offer rows only as fast as QuestDB acknowledges them: the memory bound (128 MiB) is never reached.
        if (stats.queueBytes > 48 * MiB) {
          while (writer.stats().queueBytes > 24 * MiB) await new Promise((r) => setTimeout(r, 2));
        } else if (t % 256 === 0) await new Promise((r) => setImmediate(r));
        if (onProgress && performance.now() - lastReport > 10_000) {
          lastReport = performance.now();
          onProgress(base, rows);
        }
      }
    }
    await writer.flush();
  } finally {
    await writer.close();
  }
  const stats = writer.stats();
  if (stats.rowsWritten !== rows) throw new Error(`QuestDB acknowledged ${stats.rowsWritten} of ${rows} rows (${stats.lastError ?? 'no error'})`);
  return rows;
}

/** Waits until every WAL table has applied its last transaction and every materialized view has caught up. */
export async function waitApplied(sql: SqlClient, timeoutMs = 30 * 60_000, expectedViews = views.length): Promise<number> {
  const start = performance.now();
  let lastLog = 0;
  for (;;) {
    const wal = await sql.rows<{ name: string; writerTxn: number; sequencerTxn: number; suspended: boolean }>(
      "SELECT name, writerTxn, sequencerTxn, suspended FROM wal_tables() WHERE name LIKE 'tw_%'",
    );
    const suspended = wal.filter((w) => w.suspended);
    if (suspended.length) throw new Error(`WAL suspended: ${suspended.map((w) => w.name).join(', ')}`);
    const walBehind = wal.filter((w) => Number(w.writerTxn) < Number(w.sequencerTxn));
    const mv = await sql.rows<{ view_name: string; view_status: string; refresh_base_table_txn: number; base_table_txn: number }>(
      'SELECT view_name, view_status, refresh_base_table_txn, base_table_txn FROM materialized_views()',
    );
    const invalid = mv.filter((v) => v.view_status === 'invalid');
    if (invalid.length) throw new Error(`materialized views invalid: ${invalid.map((v) => v.view_name).join(', ')}`);
    const mvBehind = mv.filter((v) => v.view_status === 'refreshing' || Number(v.refresh_base_table_txn) < Number(v.base_table_txn));
    if (walBehind.length === 0 && mvBehind.length === 0 && mv.length === expectedViews) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`still applying after ${timeoutMs} ms: ${[...walBehind.map((w) => w.name), ...mvBehind.map((v) => v.view_name)].join(', ')}`);
    if (performance.now() - lastLog > 15_000) {
      lastLog = performance.now();
      log(`  waiting for WAL apply (${walBehind.length} tables behind) and view refresh (${mvBehind.length} of ${mv.length} views behind)…`);
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Storage tiers as production runs them: the default of `storage.parquetAfterDays`. */
export const PARQUET_AFTER_DAYS = configSchema.parse({}).storage.parquetAfterDays;

/** What `tradewatch storage compact` does, waited on: every day partition older than PARQUET_AFTER_DAYS in Parquet. */
export async function compactWorkload(sql: SqlClient, tables?: readonly TableDef[]): Promise<ConvertedPartition[]> {
  const report = await compactPartitions(sql, { olderThanDays: PARQUET_AFTER_DAYS, ...(tables ? { tables } : {}) });
  return waitForParquet(sql, report.converting, { timeoutMs: 3 * 3600_000 });
}

export function readState(dataRoot: string): WorkloadState | undefined {
  const path = join(dataRoot, STATE_FILE);
  return existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as WorkloadState) : undefined;
}

export interface Workload {
  readonly server: QuestDbServer;
  readonly sql: SqlClient;
  readonly dataRoot: string;
  readonly state: WorkloadState;
  /** Stops QuestDB; deletes the data root unless it was given by BENCH_DATA_ROOT. */
  close(): Promise<void>;
}

/**
 * QuestDB on BENCH_DATA_ROOT (kept) or a temporary root (deleted by close()), holding BENCH_DAYS (default 30) of the
 * reference workload ending now: built when absent, topped up to now when it exists, then waited on until applied.
 */
export async function openWorkload(options: { days?: number; topUp?: boolean } = {}): Promise<Workload> {
  const days = options.days ?? Number(process.env.BENCH_DAYS ?? 30);
  const given = process.env.BENCH_DATA_ROOT;
  const dataRoot = given ?? mkdtempSync(join(tmpdir(), 'tw-bench-ref-'));
  log(`starting QuestDB (data root ${dataRoot}${given ? ', kept' : ', temporary'})`);
  const server = await startQuestDb({ dataRoot });
  const close = async () => {
    await server.stop();
    if (!given) rmSync(dataRoot, { recursive: true, force: true });
  };
  try {
    const sql = new SqlClient({ url: server.httpUrl, timeoutMs: 300_000 });
    await applySchema(sql);
    const previous = readState(dataRoot);
    const nowUs = Date.now() * 1000;
    let state: WorkloadState;
    if (previous && previous.days >= days && options.topUp === false) {
      log(`reusing ${previous.days} days of the reference workload built earlier (no top-up)`);
      state = previous;
    } else if (previous && previous.days >= days) {
      log(`reusing ${previous.days} days of the reference workload built earlier; topping up to now…`);
      const rows = await writeWorkload(server.httpUrl, previous.endUs, nowUs);
      state = { ...previous, endUs: Math.floor(nowUs / SECOND_US) * SECOND_US, rows: previous.rows + rows };
    } else {
      if (previous) throw new Error(`${dataRoot} holds ${previous.days} days, ${days} asked: use an empty BENCH_DATA_ROOT`);
      const startUs = nowUs - Math.round(days * DAY_S) * SECOND_US;
      const perDay = rowsPerDay();
      log(`building ${days} days of the reference workload: ${perDay.toLocaleString('en-US')} rows a day, ${Math.round(perDay * days).toLocaleString('en-US')} rows…`);
      const started = performance.now();
      const rows = await writeWorkload(server.httpUrl, startUs, nowUs, (doneUs, n) => {
        const elapsed = (performance.now() - started) / 1000;
        const fraction = (doneUs - startUs) / (nowUs - startUs);
        log(`  ${(fraction * 100).toFixed(1)}%  ${n.toLocaleString('en-US')} rows  ${Math.round(n / elapsed).toLocaleString('en-US')} rows/s  ETA ${Math.round(elapsed / fraction - elapsed)} s`);
      });
      const writeSeconds = (performance.now() - started) / 1000;
      log(`  written in ${writeSeconds.toFixed(0)} s (${Math.round(rows / writeSeconds).toLocaleString('en-US')} rows/s); waiting for WAL apply and view refresh…`);
      await waitApplied(sql);
      const buildSeconds = (performance.now() - started) / 1000;
      state = { startUs, endUs: Math.floor(nowUs / SECOND_US) * SECOND_US, days, rows, buildSeconds, rowsPerSecond: rows / writeSeconds };
      log(`  built in ${buildSeconds.toFixed(0)} s`);
    }
    writeFileSync(join(dataRoot, STATE_FILE), `${JSON.stringify(state, null, 2)}\n`);
    const waitMs = await waitApplied(sql);
    log(`  WAL applied and views refreshed (${Math.round(waitMs)} ms wait)`);
    return { server, sql, dataRoot, state, close };
  } catch (err) {
    await close();
    throw err;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const workload = await openWorkload();
  log(`${workload.state.rows.toLocaleString('en-US')} rows over ${workload.state.days} days in ${workload.dataRoot}`);
  await workload.close();
}
