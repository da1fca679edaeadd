import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { daemonSchema, type DaemonConfig } from './config-schema.js';
import type { Monitor } from '@tradewatch/sdk/sdk';
import { createCcxtExchange, liquidationsEnabled, validateExchanges } from './ccxt-exchange.js';
import { systemClock, type Clock, type Timer } from './clock.js';
import { RestClient } from './rest.js';
import { WindowSchedule, type ScheduleStats } from './schedule.js';
import { startStorageSampler } from './storage-size.js';
import { LiquidationStream, type StreamStats } from './stream.js';

export interface DaemonOptions {
  /** The `daemon` section of the configuration (`loadConfig().daemon`, or `daemonConfig({...})`). */
  readonly config: DaemonConfig;
  /** Where everything is reported; the daemon does not shut it down (its owner does, after `stop()`). */
  readonly monitor: Monitor;
  /** Extra ccxt constructor options per exchange id, deep-merged last (e.g. the simulator's `ccxtOptions`). */
  readonly ccxtOverrides?: Readonly<Record<string, Record<string, unknown>>>;
  /**
   * The QuestDB the monitor writes to: the daemon records the size of its market-data tables there every
   * `storageSampleMs`. Without it, no storage-size rows.
   */
  readonly questdbUrl?: string;
  /** Where credentials are read from (`TRADEWATCH_DAEMON_<ID>_API_KEY`, ...). Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Time source of the schedules, streams and pauses (tests drive a virtual one). Default: the system clock. */
  readonly clock?: Clock;
}

export interface ExchangeStatus {
  readonly id: string;
  readonly symbols: readonly string[];
  readonly fetches: { readonly ok: number; readonly error: number; readonly rate_limited: number; readonly timeout: number; readonly blocked: number };
  readonly pausedUntil?: number;
  /** Set while the exchange blocks us (IP ban, restricted region): requests are paused until `until`. */
  readonly blocked?: { readonly until: number; readonly reason: string };
  /** REST calls in progress. */
  readonly requestsInFlight: number;
  readonly schedules: Readonly<Record<string, ScheduleStats>>;
  readonly liquidations?: StreamStats;
}

export interface DaemonStatus {
  readonly running: boolean;
  readonly exchanges: readonly ExchangeStatus[];
}

export interface Daemon {
  /** Starts the schedules and streams; returns at once (the work runs on timers). */
  start(): void;
  /**
   * Stops schedules and streams, lets fetches in flight settle (at most a few seconds), records the streams as
   * disconnected, closes every websocket. Idempotent. Then shut the monitor down (its `stop` row and flush).
   */
  close(): Promise<void>;
  /** The same as close() (the name before tradewatch's lifecycle was one vocabulary). */
  stop(): Promise<void>;
  status(): DaemonStatus;
}

interface ExchangeRuntime {
  readonly rest: RestClient;
  readonly symbols: readonly string[];
  readonly schedules: WindowSchedule[];
  readonly stream?: LiquidationStream;
  rateTimer?: Timer;
}

/**
 * Parses a (partial) `daemon` section with the config schema's defaults; throws TW_INVALID_CONFIG naming the
 * field as `daemon.<path>`. For programs that build the daemon without a config file.
 */
export function daemonConfig(input: unknown = {}): DaemonConfig {
  const result = daemonSchema.safeParse(input);
  if (!result.success) {
    const issues = result.error.issues.map((issue) => `${['daemon', ...issue.path].join('.')}: ${issue.message}`);
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `invalid configuration:\n  ${issues.join('\n  ')}`, { issues: result.error.issues });
  }
  return result.data;
}

const STOP_GRACE_MS = 3000;

/**
 * The reference CCXT DaemonRunner: per configured exchange a ccxt.pro instance; open interest and funding rates
 * fetched once per wall-clock window, liquidations streamed over websockets, everything reported through the
 * monitor (see docs/daemon.md for what lands where).
 */
export function createDaemon(options: DaemonOptions): Daemon {
  const { config, monitor } = options;
  validateExchanges(config);
  const env = options.env ?? process.env;
  const clock = options.clock ?? systemClock;
  const abort = new AbortController();
  let started = false;
  let stopping: Promise<void> | undefined;
  let storageSampler: { stop(): void } | undefined;

  const runtimes: ExchangeRuntime[] = config.exchanges.map((exchangeConfig) => {
    const exchange = createCcxtExchange(config, exchangeConfig, options.ccxtOverrides?.[exchangeConfig.id], env);
    const rest = new RestClient(exchange, monitor, config.requestTimeoutMs, clock, {
      banPauseMs: config.banPauseMs,
      regionBlockPauseMs: config.regionBlockPauseMs,
    });
    const schedules = [
      new WindowSchedule(rest, monitor, 'open_interest', config.openInterestIntervalMs, exchangeConfig.symbols, abort.signal, clock),
      new WindowSchedule(rest, monitor, 'funding_rate', config.fundingIntervalMs, exchangeConfig.symbols, abort.signal, clock),
    ];
    const stream = liquidationsEnabled(config, exchangeConfig)
      ? new LiquidationStream(
          rest,
          monitor,
          {
            symbols: exchangeConfig.symbols,
            staleStreamMs: config.staleStreamMs,
            reconnectBaseMs: config.reconnectBaseMs,
            reconnectMaxMs: config.reconnectMaxMs,
            plannedReconnectMs: config.plannedReconnectMs,
          },
          abort.signal,
          clock,
        )
      : undefined;
    return { rest, symbols: exchangeConfig.symbols, schedules, ...(stream ? { stream } : {}) };
  });

  const start = () => {
    if (started) return;
    started = true;
    for (const runtime of runtimes) {
      // Markets first, in the background: the first windows wait for them inside their deadline.
      runtime.rest.ensureMarkets().catch(() => undefined);
      for (const schedule of runtime.schedules) schedule.start();
      runtime.stream?.start();
      runtime.rateTimer = clock.setInterval(() => runtime.rest.sampleRateLimit(), config.rateLimitSampleMs);
    }
    if (options.questdbUrl && config.storageSampleMs > 0) storageSampler = startStorageSampler(options.questdbUrl, monitor, config.storageSampleMs);
  };

  const stop = () => {
    stopping ??= (async () => {
      abort.abort();
      storageSampler?.stop();
      for (const runtime of runtimes) {
        for (const schedule of runtime.schedules) schedule.stop();
        runtime.rateTimer?.cancel();
      }
      const settle = Promise.allSettled(runtimes.flatMap((r) => [...r.schedules.map((s) => s.idle()), r.stream?.stop()]));
      await withTimeout(settle, STOP_GRACE_MS);
      if (started) for (const runtime of runtimes) runtime.rest.sampleRateLimit();
      await withTimeout(
        Promise.allSettled(runtimes.map((r) => r.rest.exchange.close())),
        STOP_GRACE_MS,
      );
    })();
    return stopping;
  };

  const status = (): DaemonStatus => ({
    running: started && !abort.signal.aborted,
    exchanges: runtimes.map((r) => ({
      id: r.rest.id,
      symbols: r.symbols,
      fetches: { ...r.rest.counts },
      ...(r.rest.pausedUntil > clock.now() ? { pausedUntil: r.rest.pausedUntil } : {}),
      ...blockedOf(r.rest),
      requestsInFlight: r.rest.inFlight,
      schedules: Object.fromEntries(r.schedules.map((s) => [s.dataset, s.stats()])),
      ...(r.stream ? { liquidations: r.stream.stats() } : {}),
    })),
  });

  return { start, close: stop, stop, status };
}

function blockedOf(rest: RestClient): { blocked?: { until: number; reason: string } } {
  const block = rest.blocked();
  return block ? { blocked: { until: block.until, reason: block.reason } } : {};
}

async function withTimeout(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
