import type { Registry } from 'prom-client';
import type { FETCH_STATUSES, CONNECTION_STATES, ORDER_STATUSES, SIDES } from '../schema/index.js';
import type { WriterOptions } from '../storage/index.js';
import type { Ttl } from '../schema/index.js';
import type { MonitorWriter, TimeInput } from './context.js';
import type { SdkLogger } from './diagnostics.js';

export type { MonitorWriter, TimeInput, SdkLogger };

/*
 * Public types of the SDK. Conventions for every event:
 * - `at`: when it happened; a Date or milliseconds since the epoch (what Date.now() and ccxt timestamps give).
 *   Omitted: the SDK's clock (microseconds, strictly increasing per monitor, so rows never collide on dedup keys).
 *   Given: used exactly as is (backtests post simulated time); the caller then owns uniqueness within a series.
 * - Exchange-side times (`exchangeTime`, ...) follow the same rule.
 * - Label-like strings (exchange, symbol, ...) are non-empty, at most 256 characters.
 */

/** Outcome of one fetch (column `status` of tw_fetches). */
export type FetchStatus = (typeof FETCH_STATUSES)[number];
/** State of an exchange connection (column `state` of tw_connection_events). */
export type ConnectionState = (typeof CONNECTION_STATES)[number];
/** Order state (column `status` of tw_orders). */
export type OrderStatus = (typeof ORDER_STATUSES)[number];
/** Trade side: `buy` or `sell`. */
export type Side = (typeof SIDES)[number];
/** How a strategy run trades: live, paper, or a backtest on simulated time. */
export type TradingMode = 'live' | 'paper' | 'backtest';

/** monitor.error(): where an error happened (a row in tw_errors). */
export interface ErrorContext {
  /** Part of the process that failed, e.g. `fetcher`, `websocket`. */
  readonly component: string;
  readonly exchange?: string;
  /** Error class; default: the error's `name` (ccxt: `NetworkError`, `RateLimitExceeded`, ...). */
  readonly kind?: string;
  readonly at?: TimeInput;
}

/** monitor.fetch(): one REST fetch of an exchange dataset (a row in tw_fetches). */
export interface FetchEvent {
  readonly exchange: string;
  /** What was fetched: `open_interest`, `funding_rate`, ... */
  readonly dataset: string;
  readonly symbol: string;
  readonly status: FetchStatus;
  readonly latencyMs?: number;
  readonly records?: number;
  readonly at?: TimeInput;
}

/** monitor.dataGap(): a span of data that is missing (a row in tw_data_gaps). */
export interface DataGapEvent {
  readonly exchange: string;
  readonly dataset: string;
  readonly symbol: string;
  /** First instant without data. */
  readonly start: TimeInput;
  /** First instant with data again. */
  readonly end: TimeInput;
  readonly reason?: string;
  /** When the gap was detected. */
  readonly at?: TimeInput;
}

/** monitor.liquidation(): a liquidation reported by an exchange (a row in tw_liquidations). */
export interface LiquidationEvent {
  readonly exchange: string;
  readonly symbol: string;
  readonly side: Side;
  readonly price: number;
  readonly amount: number;
  /** Notional in quote currency; not derived (price × amount is wrong for inverse contracts). */
  readonly valueUsd?: number;
  readonly exchangeTime?: TimeInput;
  /** Receive time; default now. */
  readonly at?: TimeInput;
}

/** monitor.storageSize(): bytes (and files) a store holds (a row in tw_storage_size). */
export interface StorageSizeEvent {
  /** Which store: a dataset directory, a table, a volume. */
  readonly store: string;
  readonly bytes: number;
  readonly files?: number;
  readonly at?: TimeInput;
}

/** monitor.openInterest(): an open-interest observation (a row in tw_open_interest). */
export interface OpenInterestEvent {
  readonly exchange: string;
  readonly symbol: string;
  readonly openInterest: number;
  readonly openInterestValue?: number;
  /** The exchange's observation time (the table is keyed by it, so a re-fetch stores the observation once). */
  readonly at?: TimeInput;
}

/** monitor.fundingRate(): a funding-rate observation (a row in tw_funding_rates). */
export interface FundingRateEvent {
  readonly exchange: string;
  readonly symbol: string;
  readonly fundingRate: number;
  readonly markPrice?: number;
  readonly indexPrice?: number;
  readonly nextFundingTime?: TimeInput;
  /** The exchange's observation time. */
  readonly at?: TimeInput;
}

/** monitor.connectionState(): a connection changed state (a row in tw_connection_events). */
export interface ConnectionStateEvent {
  readonly exchange: string;
  /** `rest`, or a websocket stream such as `liquidations`. */
  readonly channel: string;
  readonly state: ConnectionState;
  readonly reason?: string;
  /** On `reconnecting`; default: counted by the SDK since the connection was lost. */
  readonly attempt?: number;
  readonly at?: TimeInput;
}

/** monitor.rateLimit(): rate-limit usage or throttling by an exchange (a row in tw_rate_limits). */
export interface RateLimitEvent {
  readonly exchange: string;
  readonly used?: number;
  readonly quota?: number;
  readonly throttled?: boolean;
  readonly retryAfterSeconds?: number;
  readonly at?: TimeInput;
}

/** monitor.strategy(): which strategy run the handle records for. */
export interface StrategyRef {
  readonly strategy: string;
  /** One run: a live deployment or one backtest. */
  readonly runId: string;
  readonly mode: TradingMode;
}

/** strategy.pnl(): profit and loss of a run at one time (a row in tw_strategy_pnl). */
export interface PnlSnapshot {
  readonly realized: number;
  readonly unrealized: number;
  readonly equity?: number;
  readonly grossExposure?: number;
  /** Default: the open orders the SDK tracks from `order()` events, when there were any. */
  readonly openOrders?: number;
  readonly currency?: string;
  readonly at?: TimeInput;
}

/** strategy.order(): an order changed state (a row in tw_orders). */
export interface OrderEvent {
  readonly exchange: string;
  readonly symbol: string;
  readonly orderId: string;
  readonly side: Side;
  /** The state the order entered. */
  readonly status: OrderStatus;
  readonly type?: string;
  readonly price?: number;
  readonly amount?: number;
  readonly filled?: number;
  readonly reason?: string;
  readonly at?: TimeInput;
}

/** strategy.fill(): one fill of an order (a row in tw_fills). */
export interface FillEvent {
  readonly exchange: string;
  readonly symbol: string;
  readonly orderId: string;
  readonly fillId: string;
  readonly side: Side;
  readonly price: number;
  readonly amount: number;
  readonly fee?: number;
  readonly feeCurrency?: string;
  readonly liquidity?: 'maker' | 'taker';
  readonly at?: TimeInput;
}

/** strategy.position(): a position at one time (a row in tw_positions). */
export interface PositionSnapshot {
  readonly exchange: string;
  readonly symbol: string;
  /** Signed size; negative = short. */
  readonly quantity: number;
  readonly entryPrice?: number;
  readonly markPrice?: number;
  /** Signed notional; default quantity × markPrice when markPrice is given. */
  readonly exposure?: number;
  readonly unrealized?: number;
  readonly at?: TimeInput;
}

/** monitor.metric(): a value of the caller's own (a row in tw_metrics and a gauge or counter). */
export interface CustomMetric {
  /** Prometheus-style name, e.g. `myapp_queue_depth`; the `tradewatch_` prefix is reserved for the SDK. */
  readonly name: string;
  /** gauge: the current value. counter: an increment (≥ 0); the SDK keeps the running total. */
  readonly value: number;
  readonly kind?: 'gauge' | 'counter';
  /** Label values by name; the set of names must stay the same for a metric. */
  readonly labels?: Readonly<Record<string, string>>;
  readonly at?: TimeInput;
}

/** Recording methods for one strategy run; from `monitor.strategy({ strategy, runId, mode })`. */
export interface StrategyMonitor {
  readonly ref: StrategyRef;
  pnl(snapshot: PnlSnapshot): void;
  order(event: OrderEvent): void;
  fill(event: FillEvent): void;
  position(snapshot: PositionSnapshot): void;
  /** Orders the SDK currently counts as open for this run (from order events). */
  openOrders(): number;
}

/** What /readyz answers: ready, or not with the reason. */
export interface Readiness {
  readonly ready: boolean;
  /** Why not ready; absent when ready. */
  readonly reason?: string;
}

/** Options of monitor.close(). */
export interface ShutdownOptions {
  /** Written into the `stop` row, e.g. `SIGTERM`. */
  readonly reason?: string;
}

/** Options of createMonitor (docs/sdk.md has the table with defaults). */
export interface MonitorOptions {
  /** Logical service name, e.g. `ccxt-daemon`: the `service` column and label. */
  readonly service: string;
  /** Instance of the service (host name or replica id); default the host name. */
  readonly instance?: string;
  /** Version of the producing software, written into the `start` row, every process sample and `tradewatch_process_info`. */
  readonly version?: string;
  /** Host name written into every process sample (the fleet view's host column); default os.hostname(). */
  readonly host?: string;
  /** A writer to share (the monitor flushes it but does not close it) ... */
  readonly writer?: MonitorWriter;
  /** ... or options for a writer the monitor creates, owns and closes on shutdown (service/instance/logger are filled in). */
  readonly questdb?: Omit<WriterOptions, 'service' | 'instance' | 'logger'>;
  /** The prom-client registry for the metrics. Default: a new private Registry (never the global one), at `monitor.registry`. */
  readonly registry?: Registry;
  /** Diagnostics logger (pino or compatible). Default: pino, warn level, to stderr. */
  readonly logger?: SdkLogger;
  /**
   * The writer's health row (its stats, into tw_writer_stats) every this many ms, for the monitor's writer, owned or
   * shared. Default 10 000; 0 disables. Give a writer shared by several monitors to one of them only.
   */
  readonly writerHealthIntervalMs?: number;
  /** Health and connection samples every this many ms. Default 5000; 0 disables the timer (call `sample()` yourself). */
  readonly sampleIntervalMs?: number;
  /** Label sets per metric before folding into `__other__`. Default 2000. */
  readonly maxSeriesPerMetric?: number;
  /** Shut down (writing a `stop` row) on these signals, then re-raise them. Default: none. `true` = SIGTERM and SIGINT. */
  readonly handleSignals?: boolean | readonly NodeJS.Signals[];
  /** `/readyz` fails when unacknowledged rows are older than this while QuestDB is unreachable and nothing is spooled. Default 60 000. */
  readonly readyMaxLagMs?: number;
  /**
   * Table TTLs where the database's differ from the schema's defaults (configured retention, `retentionTtls(config)`
   * in the CLI), by table name. A row with a timestamp older than its table keeps is refused (QuestDB would delete it).
   */
  readonly retention?: Readonly<Record<string, Ttl>>;
}

/** What createMonitor returns: the recording methods (never throw, never wait) and the lifecycle (flush, close). */
export interface Monitor {
  readonly service: string;
  readonly instance: string;
  readonly registry: Registry;
  readonly logger: SdkLogger;

  // Health (uptime, memory, CPU, event-loop lag and the start/stop lifecycle are collected by the monitor itself).
  error(err: unknown, where: ErrorContext): void;

  // Pipeline.
  fetch(event: FetchEvent): void;
  dataGap(event: DataGapEvent): void;
  liquidation(event: LiquidationEvent): void;
  storageSize(event: StorageSizeEvent): void;
  openInterest(event: OpenInterestEvent): void;
  fundingRate(event: FundingRateEvent): void;

  // Exchange connectivity.
  connectionState(event: ConnectionStateEvent): void;
  /**
   * One message received on a channel: the hot path, so positional arguments and no row per message. Counts,
   * latency (receive time − exchangeTime) and last-message time are aggregated in memory and written as
   * tw_connection_samples rows every sampling interval.
   */
  message(exchange: string, channel: string, exchangeTime?: TimeInput): void;
  rateLimit(event: RateLimitEvent): void;

  // Trading.
  strategy(ref: StrategyRef): StrategyMonitor;

  // Anything else.
  metric(metric: CustomMetric): void;

  /** Takes the periodic health and connection samples now (the timer does this every sampleIntervalMs). */
  sample(): void;
  /** What `/readyz` answers: whether the writer is delivering (see docs/sdk.md). */
  readiness(): Readiness;
  /**
   * Backpressure for a producer that can wait, such as a backtest replaying history far faster than QuestDB takes
   * it: true while the writer's backlog is above its high-water mark (writer option `highWaterMark`). Recording on
   * is allowed, but only grows the backlog until the spool or memory bound drops rows. Live code never needs it.
   */
  readonly needDrain: boolean;
  /** Resolves once needDrain is false again (at once when it is), or the writer is closed. Never rejects. */
  drained(): Promise<void>;
  /** Resolves when everything recorded so far is acknowledged by QuestDB (or spooled). Never rejects. */
  flush(): Promise<void>;
  /** Final samples, a `stop` row, flush (and close an owned writer). Idempotent; never rejects. */
  close(options?: ShutdownOptions): Promise<void>;
  /** @deprecated The same as close(), the name before the SDK's lifecycle was one vocabulary. */
  shutdown(options?: ShutdownOptions): Promise<void>;
}
