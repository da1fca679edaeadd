import type { InstrumentKind } from './instruments.js';

/**
 * Every Prometheus metric the SDK exposes, in one list: the SDK registers from it, and docs/metrics.md is rendered
 * from it (`renderMetricsDoc`), so the documentation cannot drift from the code.
 *
 * Naming follows Prometheus conventions: `tradewatch_` prefix, base units (`_seconds`, `_bytes`), `_total` on
 * counters. Label names are the QuestDB column names of the table the same SDK call writes, so a panel can be moved
 * between the two sources without renaming. `service` is on every series; the process instance is Prometheus's own
 * `instance` target label (an `instance` label from the SDK would clash with it and be renamed `exported_instance`),
 * and the SDK's instance name is on `tradewatch_process_info`.
 */
export interface MetricDef {
  readonly name: string;
  readonly kind: InstrumentKind;
  readonly help: string;
  /** Label names in order; `service` first. */
  readonly labels: readonly string[];
  /**
   * Labels the overflow policy may fold into `__other__` (open vocabularies that callers choose: exchange, symbol,
   * strategy, ...), most specific first: that is the order they are folded in. Closed vocabularies (status, side,
   * mode, state) and `service` are never folded.
   */
  readonly fold: readonly string[];
  readonly buckets?: readonly number[];
  /** Dashboard group, for the docs. */
  readonly group: 'health' | 'pipeline' | 'market' | 'exchange' | 'trading' | 'sdk';
  /** SDK method(s) that update it, for the docs. */
  readonly source: string;
}

/** Latency buckets in seconds: from 1 ms (colocated websocket) to 30 s (a slow REST fetch with retries). */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

const S = ['service'];

function def(
  group: MetricDef['group'],
  kind: InstrumentKind,
  name: string,
  labels: readonly string[],
  fold: readonly string[],
  source: string,
  help: string,
  buckets?: readonly number[],
): MetricDef {
  return { name, kind, help, labels: [...S, ...labels], fold, group, source, ...(buckets ? { buckets } : {}) };
}

const EC = ['exchange', 'channel'];
const EC_FOLD = ['channel', 'exchange'];
const RUN = ['strategy', 'run_id', 'mode'];
const RUN_FOLD = ['run_id', 'strategy'];

export const METRICS = {
  // Health: collected by the SDK itself.
  processInfo: def('health', 'gauge', 'tradewatch_process_info', ['instance', 'version', 'pid'], [], 'createMonitor', 'Always 1; identifies the process: SDK instance name, software version, pid.'),
  startTime: def('health', 'gauge', 'tradewatch_process_start_time_seconds', [], [], 'createMonitor', 'Start time of the process, seconds since the epoch; changes() over it counts restarts.'),
  uptime: def('health', 'gauge', 'tradewatch_process_uptime_seconds', [], [], 'health sampler', 'Seconds since the process started.'),
  rss: def('health', 'gauge', 'tradewatch_process_resident_memory_bytes', [], [], 'health sampler', 'Resident set size.'),
  heapUsed: def('health', 'gauge', 'tradewatch_process_heap_used_bytes', [], [], 'health sampler', 'JavaScript heap in use.'),
  heapTotal: def('health', 'gauge', 'tradewatch_process_heap_total_bytes', [], [], 'health sampler', 'JavaScript heap reserved.'),
  cpuSeconds: def('health', 'counter', 'tradewatch_process_cpu_seconds_total', [], [], 'health sampler', 'CPU time used, user + system; rate() of it is cores in use.'),
  eventLoopLag: def('health', 'gauge', 'tradewatch_process_event_loop_lag_seconds', [], [], 'health sampler', 'Event-loop delay, p99 over the last sampling interval.'),
  errors: def('health', 'counter', 'tradewatch_errors_total', ['component', 'exchange', 'kind'], ['kind', 'exchange', 'component'], 'error', 'Errors reported, by component, exchange and kind.'),
  lastError: def('health', 'gauge', 'tradewatch_last_error_timestamp_seconds', [], [], 'error', 'Time of the last error reported, seconds since the epoch.'),

  // Pipeline.
  fetches: def('pipeline', 'counter', 'tradewatch_fetches_total', ['exchange', 'dataset', 'status'], ['dataset', 'exchange'], 'fetch', 'Data fetches by exchange, dataset and outcome (ok, error, rate_limited, timeout, blocked).'),
  fetchDuration: def('pipeline', 'histogram', 'tradewatch_fetch_duration_seconds', ['exchange', 'dataset'], ['dataset', 'exchange'], 'fetch', 'Fetch latency.', LATENCY_BUCKETS),
  fetchRecords: def('pipeline', 'counter', 'tradewatch_fetch_records_total', ['exchange', 'dataset'], ['dataset', 'exchange'], 'fetch', 'Records returned by fetches.'),
  dataGaps: def('pipeline', 'counter', 'tradewatch_data_gaps_total', ['exchange', 'dataset'], ['dataset', 'exchange'], 'dataGap', 'Data gaps detected.'),
  dataGapSeconds: def('pipeline', 'counter', 'tradewatch_data_gap_seconds_total', ['exchange', 'dataset'], ['dataset', 'exchange'], 'dataGap', 'Total duration of the data gaps detected.'),
  liquidations: def('pipeline', 'counter', 'tradewatch_liquidations_total', ['exchange', 'symbol', 'side'], ['symbol', 'exchange'], 'liquidation', 'Liquidation events received.'),
  liquidationValue: def('pipeline', 'counter', 'tradewatch_liquidation_value_usd_total', ['exchange', 'symbol', 'side'], ['symbol', 'exchange'], 'liquidation', 'Notional of the liquidations received (those reported with valueUsd).'),
  storageBytes: def('pipeline', 'gauge', 'tradewatch_storage_bytes', ['store'], ['store'], 'storageSize', 'Size of a data store on disk.'),
  storageFiles: def('pipeline', 'gauge', 'tradewatch_storage_files', ['store'], ['store'], 'storageSize', 'Files in a data store.'),

  // Market data rows stored through the SDK.
  marketRows: def('market', 'counter', 'tradewatch_market_rows_total', ['exchange', 'dataset'], ['exchange'], 'openInterest, fundingRate', 'Market data rows stored (dataset: open_interest, funding_rate).'),

  // Exchange connectivity.
  connectionUp: def('exchange', 'gauge', 'tradewatch_connection_up', EC, EC_FOLD, 'connectionState', '1 while the connection is up, 0 while it is down or reconnecting.'),
  connectionChanges: def('exchange', 'counter', 'tradewatch_connection_state_changes_total', [...EC, 'state'], EC_FOLD, 'connectionState', 'Connection state changes, by the state entered.'),
  reconnects: def('exchange', 'counter', 'tradewatch_reconnects_total', EC, EC_FOLD, 'connectionState', 'Connections re-established after a loss.'),
  downtime: def('exchange', 'counter', 'tradewatch_connection_downtime_seconds_total', EC, EC_FOLD, 'connectionState', 'Downtime of the connection, added when it comes back.'),
  messages: def('exchange', 'counter', 'tradewatch_messages_total', EC, EC_FOLD, 'message', 'Messages received.'),
  messageLatency: def('exchange', 'histogram', 'tradewatch_message_latency_seconds', EC, EC_FOLD, 'message', 'Receive time minus exchange time of messages that carry one (negative values count as 0).', LATENCY_BUCKETS),
  lastMessage: def('exchange', 'gauge', 'tradewatch_last_message_timestamp_seconds', EC, EC_FOLD, 'message', 'When the last message was received, seconds since the epoch.'),
  rateLimitUsed: def('exchange', 'gauge', 'tradewatch_rate_limit_used', ['exchange'], ['exchange'], 'rateLimit', 'Rate-limit weight or requests used in the current window.'),
  rateLimitQuota: def('exchange', 'gauge', 'tradewatch_rate_limit_quota', ['exchange'], ['exchange'], 'rateLimit', 'Rate-limit weight or requests allowed per window.'),
  rateLimitThrottled: def('exchange', 'gauge', 'tradewatch_rate_limit_throttled', ['exchange'], ['exchange'], 'rateLimit', '1 while requests are being throttled, else 0.'),
  rateLimitThrottledTotal: def('exchange', 'counter', 'tradewatch_rate_limit_throttle_reports_total', ['exchange'], ['exchange'], 'rateLimit', 'Rate-limit reports that said requests were throttled.'),

  // Trading: live, paper and backtest runs, told apart by mode and run_id.
  realized: def('trading', 'gauge', 'tradewatch_strategy_realized_pnl', RUN, RUN_FOLD, 'strategy().pnl', 'Realized PnL of the run, in the run currency.'),
  unrealized: def('trading', 'gauge', 'tradewatch_strategy_unrealized_pnl', RUN, RUN_FOLD, 'strategy().pnl', 'Unrealized PnL of open positions.'),
  equity: def('trading', 'gauge', 'tradewatch_strategy_equity', RUN, RUN_FOLD, 'strategy().pnl', 'Account equity.'),
  grossExposure: def('trading', 'gauge', 'tradewatch_strategy_gross_exposure', RUN, RUN_FOLD, 'strategy().pnl', 'Sum of absolute position notionals.'),
  openOrders: def('trading', 'gauge', 'tradewatch_strategy_open_orders', RUN, RUN_FOLD, 'strategy().order, strategy().pnl', 'Orders open now (tracked from order events, or as reported in a PnL snapshot).'),
  orders: def('trading', 'counter', 'tradewatch_orders_total', [...RUN, 'exchange', 'status'], ['run_id', 'exchange', 'strategy'], 'strategy().order', 'Order state changes, by the status entered (new, filled, canceled, ...).'),
  fills: def('trading', 'counter', 'tradewatch_fills_total', [...RUN, 'exchange'], ['run_id', 'exchange', 'strategy'], 'strategy().fill', 'Fills (executions).'),
  fillNotional: def('trading', 'counter', 'tradewatch_fill_notional_total', [...RUN, 'exchange'], ['run_id', 'exchange', 'strategy'], 'strategy().fill', 'Executed notional, price × amount.'),
  positionQuantity: def('trading', 'gauge', 'tradewatch_position_quantity', [...RUN, 'exchange', 'symbol'], ['symbol', 'run_id', 'exchange', 'strategy'], 'strategy().position', 'Signed position size (negative = short).'),
  positionExposure: def('trading', 'gauge', 'tradewatch_position_exposure', [...RUN, 'exchange', 'symbol'], ['symbol', 'run_id', 'exchange', 'strategy'], 'strategy().position', 'Signed notional exposure of the position.'),

  // The SDK's own health, and its writer's (read from writer.stats() at scrape time).
  writerConnected: def('sdk', 'gauge', 'tradewatch_writer_connected', [], [], 'writer stats', '1 while the writer reaches QuestDB, 0 after a failed attempt.'),
  writerQueueRows: def('sdk', 'gauge', 'tradewatch_writer_queue_rows', [], [], 'writer stats', 'Rows buffered in memory, not yet acknowledged by QuestDB.'),
  writerSpoolBytes: def('sdk', 'gauge', 'tradewatch_writer_spool_bytes', [], [], 'writer stats', 'Bytes waiting in the on-disk spool.'),
  writerSpoolMaxBytes: def('sdk', 'gauge', 'tradewatch_writer_spool_max_bytes', [], [], 'writer stats', 'Bound of the on-disk spool (0 without one): once full, the writer gives rows up.'),
  writerLag: def('sdk', 'gauge', 'tradewatch_writer_lag_seconds', [], [], 'writer stats', 'Age of the oldest row not yet acknowledged by QuestDB.'),
  writerRowsWritten: def('sdk', 'counter', 'tradewatch_writer_rows_written_total', [], [], 'writer stats', 'Rows acknowledged by QuestDB.'),
  writerRowsRejected: def('sdk', 'counter', 'tradewatch_writer_rows_rejected_total', [], [], 'writer stats', 'Rows QuestDB refused (quarantined).'),
  writerRowsDropped: def('sdk', 'counter', 'tradewatch_writer_rows_dropped_total', [], [], 'writer stats', 'Rows dropped by the writer overflow policy (memory bound, full spool).'),
  invalidCalls: def('sdk', 'counter', 'tradewatch_sdk_invalid_calls_total', ['method', 'field'], [], 'any method', 'SDK calls refused because of invalid input (or after the writer was closed), by method and field.'),
  seriesOverflow: def('sdk', 'counter', 'tradewatch_sdk_series_overflow_total', ['metric'], [], 'any method', 'Calls whose label set was folded into __other__ because the metric reached its series limit.'),
} as const satisfies Record<string, MetricDef>;

export type MetricKey = keyof typeof METRICS;

export const METRIC_LIST: readonly MetricDef[] = Object.values(METRICS);

/** Label value that folded label sets carry. */
export const OTHER = '__other__';

/** Default bound on label sets per metric (per registry). */
export const DEFAULT_MAX_SERIES = 2000;
