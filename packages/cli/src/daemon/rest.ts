import type { Monitor } from '@tradewatch/sdk/sdk';
import type { ProExchange } from './ccxt-exchange.js';
import { classify, messageOf, retryAfterSeconds, WindowDeadline, type ErrorClass } from './errors.js';
import { readRateLimit, type RateLimitReading } from './rate-limit.js';

export type Dataset = 'open_interest' | 'funding_rate';

/** A usable answer that carries no value (e.g. an empty list): a failed fetch for gap purposes. */
export class EmptyResponse extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'EmptyResponse';
  }
}

export type FetchOutcome = { readonly ok: true } | { readonly ok: false; readonly error: ErrorClass; readonly message: string };

/**
 * REST side of one exchange: performs fetches with a deadline, records each (tw_fetches, values, errors), keeps
 * the rate-limit state (pause until Retry-After) and the `rest` connection state.
 */
export class RestClient {
  /** No request starts before this time (ms epoch): the exchange asked us to back off. */
  pausedUntil = 0;
  lastRetryAfterSeconds: number | undefined;
  reading: RateLimitReading = {};
  private consecutiveRateLimits = 0;
  private restState: 'unknown' | 'connected' | 'disconnected' = 'unknown';
  readonly counts = { ok: 0, error: 0, rate_limited: 0, timeout: 0 };

  constructor(
    readonly exchange: ProExchange,
    private readonly monitor: Monitor,
    private readonly requestTimeoutMs: number,
  ) {}

  get id(): string {
    return this.exchange.id;
  }

  /** loadMarkets, forgetting a failed attempt (ccxt would otherwise return the same rejected promise forever). */
  async ensureMarkets(): Promise<void> {
    if (this.exchange.markets) return;
    try {
      await this.exchange.loadMarkets();
    } catch (err) {
      this.exchange.marketsLoading = undefined;
      throw err;
    }
  }

  /**
   * One fetch of one dataset and symbol, to finish before `deadline` (ms epoch). Never throws. `startup`: the window
   * began before the daemon did, so its deadline may leave a request far less than requestTimeoutMs (on a loaded
   * host, while markets load); running out of it says nothing about the exchange and marks no outage.
   */
  async fetch(dataset: Dataset, symbol: string, deadline: number, startup = false): Promise<FetchOutcome> {
    const started = performance.now();
    const budget = Math.max(1, Math.min(this.requestTimeoutMs, deadline - Date.now()));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new WindowDeadline(budget)), budget);
    });
    const work = (async () => {
      await this.ensureMarkets();
      return dataset === 'open_interest' ? this.exchange.fetchOpenInterest(symbol) : this.exchange.fetchFundingRate(symbol);
    })();
    work.catch(() => undefined); // a late rejection after the deadline is not unhandled
    try {
      const result = await Promise.race([work, timeout]);
      const latencyMs = performance.now() - started;
      this.recordValue(dataset, symbol, result);
      this.monitor.fetch({ exchange: this.id, dataset, symbol, status: 'ok', latencyMs, records: 1 });
      this.counts.ok++;
      this.onSuccess();
      return { ok: true };
    } catch (err) {
      const latencyMs = performance.now() - started;
      const error = classify(err);
      this.monitor.fetch({ exchange: this.id, dataset, symbol, status: error.status, latencyMs, records: 0 });
      this.monitor.error(err, { component: 'fetcher', exchange: this.id, kind: error.kind });
      this.counts[error.status]++;
      if (error.status === 'rate_limited') this.onRateLimited(err);
      else this.consecutiveRateLimits = 0;
      const cutShortByStartup = startup && err instanceof WindowDeadline && budget < this.requestTimeoutMs;
      if (error.connectivity && !cutShortByStartup) this.setRestState('disconnected', messageOf(err));
      return { ok: false, error, message: messageOf(err) };
    } finally {
      clearTimeout(timer);
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
        at: finite(oi?.timestamp) ?? Date.now(),
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
        at: finite(fr?.timestamp) ?? Date.now(),
      });
    }
  }

  private onSuccess(): void {
    this.consecutiveRateLimits = 0;
    const reading = readRateLimit(this.id, this.exchange.last_response_headers);
    if (reading.used !== undefined || reading.quota !== undefined) this.reading = reading;
    this.setRestState('connected');
  }

  /** HTTP 429/418: pause every request to this exchange until Retry-After (or an escalating guess without one). */
  private onRateLimited(err: unknown): void {
    this.consecutiveRateLimits++;
    const headers = this.exchange.last_response_headers;
    const reading = readRateLimit(this.id, headers);
    if (reading.used !== undefined) this.reading = reading;
    const retryAfter = retryAfterSeconds(headers, err);
    const pauseMs = retryAfter !== undefined ? retryAfter * 1000 : Math.min(60_000, 1000 * 2 ** (this.consecutiveRateLimits - 1));
    this.pausedUntil = Math.max(this.pausedUntil, Date.now() + pauseMs);
    this.lastRetryAfterSeconds = retryAfter;
    this.monitor.rateLimit({ exchange: this.id, ...this.reading, throttled: true, retryAfterSeconds: retryAfter ?? pauseMs / 1000 });
  }

  /** Periodic rate-limit status: what the headers said last, and whether requests are held back now. */
  sampleRateLimit(): void {
    const now = Date.now();
    const throttled = this.pausedUntil > now;
    this.monitor.rateLimit({
      exchange: this.id,
      ...this.reading,
      throttled,
      ...(throttled ? { retryAfterSeconds: (this.pausedUntil - now) / 1000 } : {}),
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
