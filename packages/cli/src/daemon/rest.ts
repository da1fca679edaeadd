import type { Monitor } from '@tradewatch/sdk/sdk';
import type { ProExchange } from './ccxt-exchange.js';
import { stamp, systemClock, type Clock, type Timer } from './clock.js';
import { classify, EmptyResponse, messageOf, retryAfterSeconds, WindowDeadline, type ErrorClass } from './errors.js';
import { captureQuota, readRateLimit, type RateLimitReading } from './rate-limit.js';
import { fetchOpenInterest } from './open-interest.js';

export type Dataset = 'open_interest' | 'funding_rate';

export type FetchOutcome = { readonly ok: true } | { readonly ok: false; readonly error: ErrorClass; readonly message: string };

/** How long requests pause when the exchange blocks us without saying for how long. */
export interface BlockPauses {
  /** IP ban without Retry-After (Bybit's 403 lasts at least 10 minutes; Binance's WAF 403). */
  readonly banPauseMs: number;
  /** Restricted region (HTTP 451): it will not lift by itself, so probe rarely. */
  readonly regionBlockPauseMs: number;
}

/** Why requests are held back right now. */
export interface Pause {
  readonly until: number;
  readonly kind: 'rate_limited' | 'blocked';
  readonly reason: string;
}

/**
 * REST side of one exchange: performs fetches with a deadline, records each (tw_fetches, values, errors), keeps
 * the rate-limit state (pause until Retry-After, or for a ban's length) and the `rest` connection state.
 */
export class RestClient {
  /** No request starts before pause.until (ms epoch): the exchange asked us to back off, or blocks us. */
  pause: Pause | undefined;
  lastRetryAfterSeconds: number | undefined;
  reading: RateLimitReading = {};
  /** REST calls (fetches, market loading) in progress: what a virtual-time test waits for between steps. */
  inFlight = 0;
  private consecutiveRateLimits = 0;
  private restState: 'unknown' | 'connected' | 'disconnected' = 'unknown';
  /** The request-weight quota the exchange published (Binance exchangeInfo.rateLimits), once markets are loaded. */
  private readonly quota: { value?: number } = {};
  readonly counts = { ok: 0, error: 0, rate_limited: 0, timeout: 0, blocked: 0 };

  constructor(
    readonly exchange: ProExchange,
    private readonly monitor: Monitor,
    private readonly requestTimeoutMs: number,
    private readonly clock: Clock = systemClock,
    private readonly pauses: BlockPauses = { banPauseMs: 600_000, regionBlockPauseMs: 3_600_000 },
  ) {
    captureQuota(exchange, this.quota);
  }

  get id(): string {
    return this.exchange.id;
  }

  /** ms epoch before which no request starts (0: none pending). */
  get pausedUntil(): number {
    return this.pause?.until ?? 0;
  }

  /** The active block, if requests are paused because the exchange refuses us (not a rate limit). */
  blocked(): Pause | undefined {
    return this.pause && this.pause.kind === 'blocked' && this.pause.until > this.clock.now() ? this.pause : undefined;
  }

  /** loadMarkets, forgetting a failed attempt (ccxt would otherwise return the same rejected promise forever). */
  async ensureMarkets(): Promise<void> {
    if (this.exchange.markets) return;
    this.inFlight++;
    try {
      await this.exchange.loadMarkets();
    } catch (err) {
      this.exchange.marketsLoading = undefined;
      throw err;
    } finally {
      this.inFlight--;
    }
  }

  /**
   * One fetch of one dataset and symbol, to finish before `deadline` (ms epoch). Never throws. `startup`: the window
   * began before the daemon did, so its deadline may leave a request far less than requestTimeoutMs (on a loaded
   * host, while markets load); running out of it says nothing about the exchange and marks no outage.
   */
  async fetch(dataset: Dataset, symbol: string, deadline: number, startup = false): Promise<FetchOutcome> {
    this.inFlight++;
    const started = performance.now();
    const budget = Math.max(1, Math.min(this.requestTimeoutMs, deadline - this.clock.now()));
    let timer: Timer | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => reject(new WindowDeadline(budget)), budget);
    });
    const work = (async () => {
      await this.ensureMarkets();
      return dataset === 'open_interest' ? fetchOpenInterest(this.exchange, symbol) : this.exchange.fetchFundingRate(symbol);
    })();
    work.catch(() => undefined); // a late rejection after the deadline is not unhandled
    try {
      const result = await Promise.race([work, timeout]);
      const latencyMs = performance.now() - started;
      this.recordValue(dataset, symbol, result);
      this.monitor.fetch({ exchange: this.id, dataset, symbol, status: 'ok', latencyMs, records: 1, ...stamp(this.clock) });
      this.counts.ok++;
      this.onSuccess();
      return { ok: true };
    } catch (err) {
      const latencyMs = performance.now() - started;
      const error = classify(err);
      this.monitor.fetch({ exchange: this.id, dataset, symbol, status: error.status, latencyMs, records: 0, ...stamp(this.clock) });
      this.monitor.error(err, { component: 'fetcher', exchange: this.id, kind: error.kind, ...stamp(this.clock) });
      this.counts[error.status]++;
      if (error.block) this.onBlocked(err, error);
      else if (error.status === 'rate_limited') this.onRateLimited(err);
      else this.consecutiveRateLimits = 0;
      const cutShortByStartup = startup && err instanceof WindowDeadline && budget < this.requestTimeoutMs;
      if (error.connectivity && !cutShortByStartup) this.setRestState('disconnected', messageOf(err));
      return { ok: false, error, message: messageOf(err) };
    } finally {
      timer?.cancel();
      this.inFlight--;
    }
  }

  private recordValue(dataset: Dataset, symbol: string, result: unknown): void {
    if (dataset === 'open_interest') {
      const oi = result as { openInterestAmount?: number; openInterestValue?: number; timestamp?: number } | undefined;
      const amount = finite(oi?.openInterestAmount);
      if (amount === undefined) throw new EmptyResponse(`${this.id} ${symbol}: no open interest in the answer`);
      this.monitor.openInterest({
        exchange: this.id,
        symbol,
        openInterest: amount,
        openInterestValue: finite(oi?.openInterestValue),
        at: finite(oi?.timestamp) ?? this.clock.now(),
      });
    } else {
      const fr = result as
        | { fundingRate?: number; markPrice?: number; indexPrice?: number; timestamp?: number; fundingTimestamp?: number; nextFundingTimestamp?: number }
        | undefined;
      const rate = finite(fr?.fundingRate);
      if (rate === undefined) throw new EmptyResponse(`${this.id} ${symbol}: no funding rate in the answer`);
      this.monitor.fundingRate({
        exchange: this.id,
        symbol,
        fundingRate: rate,
        markPrice: finite(fr?.markPrice),
        indexPrice: finite(fr?.indexPrice),
        nextFundingTime: finite(fr?.nextFundingTimestamp) ?? finite(fr?.fundingTimestamp),
        at: finite(fr?.timestamp) ?? this.clock.now(),
      });
    }
  }

  private currentReading(): RateLimitReading {
    const reading = readRateLimit(this.exchange.last_response_headers);
    return { ...reading, ...(this.quota.value !== undefined ? { quota: this.quota.value } : {}) };
  }

  private onSuccess(): void {
    this.consecutiveRateLimits = 0;
    const reading = this.currentReading();
    if (reading.used !== undefined || reading.quota !== undefined) this.reading = reading;
    this.setRestState('connected');
  }

  /** HTTP 429 (or Bybit's retCode 10006): pause every request to this exchange until Retry-After (or an escalating guess). */
  private onRateLimited(err: unknown): void {
    this.consecutiveRateLimits++;
    const headers = this.exchange.last_response_headers;
    const reading = this.currentReading();
    if (reading.used !== undefined) this.reading = reading;
    const retryAfter = retryAfterSeconds(headers, err, this.clock.now());
    const pauseMs = retryAfter !== undefined ? retryAfter * 1000 : Math.min(60_000, 1000 * 2 ** (this.consecutiveRateLimits - 1));
    this.holdBack(pauseMs, 'rate_limited', `rate limited: paused ${Math.round(pauseMs / 1000)} s${retryAfter !== undefined ? ' for Retry-After' : ''}`);
    this.lastRetryAfterSeconds = retryAfter;
    this.monitor.rateLimit({ exchange: this.id, ...this.reading, throttled: true, retryAfterSeconds: retryAfter ?? pauseMs / 1000, ...stamp(this.clock) });
  }

  /**
   * Banned or region-blocked: probing again before the ban lifts would only extend it (Binance escalates 418 bans
   * from 2 minutes to 3 days), so every request waits for Retry-After, or the configured pause when none is given.
   * Reported as `blocked` (fetch rows, the `rest` connection's reason, the daemon's status), not as a rate limit.
   */
  private onBlocked(err: unknown, error: ErrorClass): void {
    this.consecutiveRateLimits = 0;
    const retryAfter = retryAfterSeconds(this.exchange.last_response_headers, err, this.clock.now());
    const configured = error.block === 'region' ? this.pauses.regionBlockPauseMs : this.pauses.banPauseMs;
    const pauseMs = retryAfter !== undefined ? retryAfter * 1000 : configured;
    const what = error.block === 'region' ? 'restricted region' : 'IP ban';
    const reason = `blocked (${what}, HTTP ${error.httpStatus ?? '?'}): requests paused ${Math.round(pauseMs / 1000)} s`;
    this.holdBack(pauseMs, 'blocked', reason);
    this.setRestState('disconnected', `${reason}: ${messageOf(err)}`);
  }

  private holdBack(pauseMs: number, kind: Pause['kind'], reason: string): void {
    const until = this.clock.now() + pauseMs;
    if (this.pause && this.pause.until > until && this.pause.kind === 'blocked') return; // a ban outranks a shorter pause
    this.pause = { until: Math.max(until, this.pause?.until ?? 0), kind, reason };
  }

  /** Periodic rate-limit status: what the headers said last, and whether requests are held back for a rate limit now. */
  sampleRateLimit(): void {
    const now = this.clock.now();
    const throttled = this.pause !== undefined && this.pause.kind === 'rate_limited' && this.pause.until > now;
    this.monitor.rateLimit({
      exchange: this.id,
      ...this.reading,
      throttled,
      ...(throttled ? { retryAfterSeconds: (this.pausedUntil - now) / 1000 } : {}),
      ...stamp(this.clock),
    });
  }

  setRestState(state: 'connected' | 'disconnected', reason?: string): void {
    if (this.restState === state) return;
    if (state === 'connected' && this.restState === 'unknown') {
      this.restState = state;
      this.monitor.connectionState({ exchange: this.id, channel: 'rest', state });
      return;
    }
    this.restState = state;
    this.monitor.connectionState({ exchange: this.id, channel: 'rest', state, ...(reason ? { reason: reason.slice(0, 500) } : {}) });
  }

  get connected(): boolean {
    return this.restState === 'connected';
  }
}

function finite(value: unknown): number | undefined {
  const n = typeof value === 'string' ? Number(value) : value;
  return typeof n === 'number' && Number.isFinite(n) ? n : undefined;
}
