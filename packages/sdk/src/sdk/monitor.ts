import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import { ErrorCodes, TradewatchError, describeValue } from '../common/errors.js';
import { createWriter } from '../storage/index.js';
import { MicrosClock } from './clock.js';
import { RecorderContext, type MonitorWriter, type TimeInput } from './context.js';
import { defaultLogger } from './default-logger.js';
import { Diagnostics, type SdkLogger } from './diagnostics.js';
import { CustomRecorder } from './domains/custom.js';
import { ExchangeRecorder } from './domains/exchange.js';
import { HealthRecorder } from './domains/health.js';
import { PipelineRecorder } from './domains/pipeline.js';
import { TradingRecorder } from './domains/trading.js';
import { HealthCollector } from './health-collector.js';
import { Lifecycle, hookSignals } from './lifecycle.js';
import { DEFAULT_MAX_SERIES, METRICS } from './prometheus/catalog.js';
import { RegistryMetrics } from './prometheus/families.js';
import { Cache1, Cache2, type OnFold } from './prometheus/series-cache.js';
import { watchWriter } from './writer-metrics.js';
import { DEFAULT_WRITER_HEALTH_INTERVAL_MS, WriterHealthRows } from './writer-health.js';
import type {
  ConnectionStateEvent,
  CustomMetric,
  DataGapEvent,
  ErrorContext,
  FetchEvent,
  FundingRateEvent,
  LiquidationEvent,
  Monitor,
  MonitorOptions,
  OpenInterestEvent,
  RateLimitEvent,
  Readiness,
  ShutdownOptions,
  StorageSizeEvent,
  StrategyMonitor,
  StrategyRef,
} from './types.js';

/** How often a monitor samples process and connection health by default: the heartbeat daemonDown waits for. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 5000;
const DEFAULT_READY_MAX_LAG_MS = 60_000;
/** /readyz stays failed this long after the writer last dropped rows. */
const DROP_WINDOW_MS = 60_000;

/**
 * Creates a monitor: writes the `start` row, starts sampling process health, and returns the recording methods.
 * Throws TradewatchError TW_INVALID_CONFIG for unusable options (this is configuration, checked once); the
 * recording methods themselves never throw.
 */
export function createMonitor(options: MonitorOptions): Monitor {
  return new MonitorImpl(options);
}

class MonitorImpl implements Monitor {
  readonly service: string;
  readonly instance: string;
  readonly registry: Registry;
  readonly logger: SdkLogger;

  private readonly writer: MonitorWriter;
  private readonly ownsWriter: boolean;
  private readonly ctx: RecorderContext;
  private readonly healthCollector: HealthCollector;
  private readonly health: HealthRecorder;
  private readonly pipeline: PipelineRecorder;
  private readonly exchange: ExchangeRecorder;
  private readonly trading: TradingRecorder;
  private readonly custom: CustomRecorder;
  private readonly lifecycle: Lifecycle;
  private readonly writerHealth: WriterHealthRows;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unhookSignals: (() => void) | undefined;
  private readonly readyMaxLagMs: number;
  private shutdownPromise: Promise<void> | undefined;
  private lastDropped = 0;
  private lastDropAt = -Infinity;

  constructor(options: MonitorOptions) {
    const service = options?.service;
    if (typeof service !== 'string' || service.length === 0 || service.length > 256) {
      throw config(`service must be a non-empty string of at most 256 characters, got ${describeValue(service)}`);
    }
    const instance = options.instance ?? hostname();
    if (typeof instance !== 'string' || instance.length === 0 || instance.length > 256) {
      throw config(`instance must be a non-empty string of at most 256 characters, got ${describeValue(instance)}`);
    }
    const host = options.host ?? hostname();
    if (typeof host !== 'string' || host.length === 0 || host.length > 256) {
      throw config(`host must be a non-empty string of at most 256 characters, got ${describeValue(host)}`);
    }
    const sampleIntervalMs = options.sampleIntervalMs ?? DEFAULT_SAMPLE_INTERVAL_MS;
    if (!Number.isInteger(sampleIntervalMs) || sampleIntervalMs < 0) throw config(`sampleIntervalMs must be an integer ≥ 0, got ${describeValue(sampleIntervalMs)}`);
    const maxSeries = options.maxSeriesPerMetric ?? DEFAULT_MAX_SERIES;
    if (!Number.isInteger(maxSeries) || maxSeries < 1) throw config(`maxSeriesPerMetric must be an integer ≥ 1, got ${describeValue(maxSeries)}`);
    this.readyMaxLagMs = options.readyMaxLagMs ?? DEFAULT_READY_MAX_LAG_MS;
    const writerHealthIntervalMs = options.writerHealthIntervalMs ?? DEFAULT_WRITER_HEALTH_INTERVAL_MS;
    if (!Number.isInteger(writerHealthIntervalMs) || writerHealthIntervalMs < 0) {
      throw config(`writerHealthIntervalMs must be an integer ≥ 0, got ${describeValue(writerHealthIntervalMs)}`);
    }

    this.service = service;
    this.instance = instance;
    this.logger = options.logger ?? defaultLogger();
    // Never the global registry: what a process exposes is decided by whoever serves it.
    this.registry = options.registry ?? new Registry();
    if (options.writer) {
      this.writer = options.writer;
      this.ownsWriter = false;
    } else if (options.questdb) {
      this.writer = createWriter({ ...options.questdb, service, instance, logger: this.logger });
      this.ownsWriter = true;
    } else {
      throw config('either writer (a shared writer) or questdb (options for a writer of its own) is required');
    }

    const metrics = RegistryMetrics.for(this.registry, maxSeries);
    const invalidCalls = new Cache2(metrics.counter(METRICS.invalidCalls), [service], () => {});
    const diagnostics = new Diagnostics(this.logger, invalidCalls, { service, instance });
    const overflow = new Cache1(metrics.counter(METRICS.seriesOverflow), [service], () => {});
    const onFold: OnFold = (family) => {
      overflow.get(family.name).value++;
      diagnostics.once(
        `overflow\u0000${family.name}`,
        { metric: family.name, maxSeries: family.maxSeries },
        `tradewatch: metric ${family.name} reached ${family.maxSeries} label sets; new ones are recorded under __other__ (tradewatch_sdk_series_overflow_total counts them; QuestDB rows keep the real labels)`,
      );
    };
    const clock = new MicrosClock();
    this.ctx = new RecorderContext(service, instance, this.writer, clock, diagnostics, metrics, onFold, options.retention);

    this.ctx.gauge0(METRICS.processInfo, [service, instance, options.version ?? '', String(process.pid)]).get().value = 1;
    this.ctx.gauge0(METRICS.startTime).get().value = Math.round(Date.now() / 1000 - process.uptime());
    watchWriter(this.ctx, this.writer);

    this.healthCollector = new HealthCollector(this.ctx, host, options.version);
    this.health = new HealthRecorder(this.ctx);
    this.pipeline = new PipelineRecorder(this.ctx);
    this.exchange = new ExchangeRecorder(this.ctx);
    this.trading = new TradingRecorder(this.ctx);
    this.custom = new CustomRecorder(this.ctx);
    this.lifecycle = new Lifecycle(this.ctx, options.version);
    this.lifecycle.start();
    this.writerHealth = new WriterHealthRows(this.writer, service, instance, writerHealthIntervalMs, this.logger);

    if (sampleIntervalMs > 0) {
      // Unref'd: monitoring must never be what keeps a process alive.
      this.timer = setInterval(() => this.sample(), sampleIntervalMs);
      this.timer.unref();
    }
    const signals = options.handleSignals === true ? (['SIGTERM', 'SIGINT'] as const) : options.handleSignals || [];
    if (signals.length > 0) this.unhookSignals = hookSignals(signals, (reason) => this.shutdown({ reason }));
  }

  error(err: unknown, where: ErrorContext): void {
    this.health.error(err, where);
  }
  fetch(event: FetchEvent): void {
    this.pipeline.fetch(event);
  }
  dataGap(event: DataGapEvent): void {
    this.pipeline.dataGap(event);
  }
  liquidation(event: LiquidationEvent): void {
    this.pipeline.liquidation(event);
  }
  storageSize(event: StorageSizeEvent): void {
    this.pipeline.storageSize(event);
  }
  openInterest(event: OpenInterestEvent): void {
    this.pipeline.openInterest(event);
  }
  fundingRate(event: FundingRateEvent): void {
    this.pipeline.fundingRate(event);
  }
  connectionState(event: ConnectionStateEvent): void {
    this.exchange.connectionState(event);
  }
  message(exchange: string, channel: string, exchangeTime?: TimeInput): void {
    this.exchange.message(exchange, channel, exchangeTime);
  }
  rateLimit(event: RateLimitEvent): void {
    this.exchange.rateLimit(event);
  }
  strategy(ref: StrategyRef): StrategyMonitor {
    return this.trading.strategy(ref);
  }
  metric(metric: CustomMetric): void {
    this.custom.metric(metric);
  }

  sample(): void {
    try {
      this.healthCollector.sample();
      this.exchange.sample();
      this.readiness();
    } catch (err) {
      this.ctx.diagnostics.invalid('sample', err);
    }
  }

  /**
   * Ready unless: the monitor was shut down; the writer dropped rows within the last minute (a full spool, or the
   * memory bound of a writer without spool: data is being lost); or QuestDB has been unreachable with nothing
   * spooled for longer than readyMaxLagMs (rows pile up in memory). A writer spooling to disk is ready: its rows are
   * safe until the spool fills, which the drop rule then reports.
   */
  readiness(): Readiness {
    if (this.shutdownPromise) return { ready: false, reason: 'monitor is shut down' };
    try {
      const stats = this.writer.stats();
      const now = Date.now();
      if (stats.rowsDropped > this.lastDropped) {
        this.lastDropped = stats.rowsDropped;
        this.lastDropAt = now;
      }
      if (now - this.lastDropAt < DROP_WINDOW_MS) {
        return { ready: false, reason: `writer dropped rows within the last ${DROP_WINDOW_MS / 1000} s (${stats.rowsDropped} in total); last error: ${stats.lastError ?? 'none'}` };
      }
      if (!stats.connected && stats.spoolBytes === 0 && stats.lagMs > this.readyMaxLagMs) {
        return { ready: false, reason: `QuestDB unreachable and rows unacknowledged for ${Math.round(stats.lagMs / 1000)} s: ${stats.lastError ?? 'no error recorded'}` };
      }
      return { ready: true };
    } catch (err) {
      return { ready: false, reason: `writer stats unavailable: ${(err as Error).message}` };
    }
  }

  get needDrain(): boolean {
    return this.writer.needDrain === true;
  }

  async drained(): Promise<void> {
    try {
      await this.writer.drained?.();
    } catch {
      // drained never rejects (the writer's promise); guard against injected writers that do.
    }
  }

  async flush(): Promise<void> {
    try {
      await this.writer.flush();
    } catch {
      // flush never rejects (the writer's promise); guard against injected writers that do.
    }
  }

  close(options: ShutdownOptions = {}): Promise<void> {
    this.shutdownPromise ??= this.stop(options.reason);
    return this.shutdownPromise;
  }

  shutdown(options: ShutdownOptions = {}): Promise<void> {
    return this.close(options);
  }

  private async stop(reason: string | undefined): Promise<void> {
    try {
      if (this.timer) clearInterval(this.timer);
      this.unhookSignals?.();
      // Final samples, so the last interval's messages and health are not lost.
      this.healthCollector.sample();
      this.exchange.sample();
      this.healthCollector.stop();
      this.lifecycle.stop(reason);
      this.writerHealth.stop();
      if (this.ownsWriter) await this.writer.close();
      else await this.writer.flush();
    } catch (err) {
      try {
        this.logger.error({ service: this.service, err: (err as Error)?.message }, 'tradewatch: monitor shutdown failed');
      } catch {
        // ignore
      }
    }
  }
}

function config(reason: string): TradewatchError {
  return new TradewatchError(ErrorCodes.INVALID_CONFIG, `createMonitor: ${reason}`, {});
}
