import type { Monitor } from '@tradewatch/sdk/sdk';
import { backoffDelay } from './backoff.js';
import { stamp, systemClock, type Clock, type Timer } from './clock.js';
import type { Dataset, RestClient } from './rest.js';

interface OpenGap {
  /** Start of the first missed window. */
  readonly start: number;
  reason: string;
  windows: number;
}

export interface ScheduleStats {
  readonly windows: number;
  readonly missedWindows: number;
  readonly openGaps: number;
}

/**
 * One dataset of one exchange, fetched once per window for every symbol. Windows are aligned to the wall clock
 * (window k = [k·interval, (k+1)·interval)), so "a missed window" is well defined across restarts and instances.
 * Within its window a failed fetch is retried (exponential backoff with jitter, honouring a rate-limit pause)
 * until the window ends; a window that ends without data is missed. Missed windows of a symbol form a gap,
 * recorded when data flows again: start = first missed window's start, end = start of the first good window.
 */
export class WindowSchedule {
  private lastWindow = -1;
  private timer: Timer | undefined;
  private readonly gaps = new Map<string, OpenGap>();
  private readonly inFlight = new Set<Promise<void>>();
  private windows = 0;
  private missed = 0;
  private readonly retryBaseMs: number;

  constructor(
    private readonly rest: RestClient,
    private readonly monitor: Monitor,
    readonly dataset: Dataset,
    readonly intervalMs: number,
    private readonly symbols: readonly string[],
    private readonly signal: AbortSignal,
    private readonly clock: Clock = systemClock,
  ) {
    this.retryBaseMs = Math.max(10, Math.min(1000, intervalMs / 10));
  }

  /**
   * Fetches the current window right away (best effort: it is partial, and markets may still be loading, so its
   * failure opens no gap), then every window from the next boundary on.
   */
  start(): void {
    this.runWindow(Math.floor(this.clock.now() / this.intervalMs), true);
    this.scheduleNext();
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  /** Resolves when the fetches of the current window have settled (after stop(), promptly). */
  async idle(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }

  stats(): ScheduleStats {
    return { windows: this.windows, missedWindows: this.missed, openGaps: this.gaps.size };
  }

  private scheduleNext(): void {
    if (this.signal.aborted) return;
    const next = (this.lastWindow + 1) * this.intervalMs;
    // +1 ms: Node timers may fire up to a millisecond early by the wall clock.
    this.timer = this.clock.setTimeout(() => this.tick(), Math.max(0, next - this.clock.now()) + 1);
  }

  private tick(): void {
    this.timer = undefined;
    if (this.signal.aborted) return;
    const k = Math.floor(this.clock.now() / this.intervalMs);
    if (k > this.lastWindow) {
      // Windows the event loop slept through (a blocked process, a suspended machine) are missed too.
      for (let skipped = this.lastWindow + 1; skipped < k; skipped++) {
        for (const symbol of this.symbols) this.windowMissed(symbol, skipped * this.intervalMs, 'scheduler late: window skipped');
      }
      this.runWindow(k);
    }
    this.scheduleNext();
  }

  private runWindow(k: number, startup = false): void {
    this.lastWindow = k;
    this.windows++;
    const start = k * this.intervalMs;
    for (const symbol of this.symbols) {
      const run = this.fetchWindow(symbol, start, start + this.intervalMs, startup).finally(() => this.inFlight.delete(run));
      this.inFlight.add(run);
    }
  }

  private async fetchWindow(symbol: string, windowStart: number, deadline: number, startup: boolean): Promise<void> {
    const slack = Math.min(100, this.intervalMs / 10);
    let attempt = 0;
    let reason = 'no fetch attempted';
    while (!this.signal.aborted) {
      const now = this.clock.now();
      if (deadline - now < slack) break;
      const pause = this.rest.pause;
      if (pause && pause.until > now) {
        if (pause.until >= deadline - slack) {
          reason = attempt === 0 ? pause.reason : reason;
          break;
        }
        await this.clock.sleep(pause.until - now, this.signal);
        continue;
      }
      const outcome = await this.rest.fetch(this.dataset, symbol, deadline, startup);
      if (this.signal.aborted && !outcome.ok) return;
      if (outcome.ok) {
        this.windowOk(symbol, windowStart);
        return;
      }
      attempt++;
      reason = `${outcome.error.status} (${outcome.error.kind}): ${outcome.message}`;
      const wait = backoffDelay(attempt, this.retryBaseMs, this.intervalMs);
      if (this.clock.now() + wait >= deadline - slack) break;
      await this.clock.sleep(wait, this.signal);
    }
    if (this.signal.aborted) return; // stopping: the window is cut short, not missed
    if (startup) return; // the partial window at start-up: nothing was being collected before it
    this.windowMissed(symbol, windowStart, reason);
  }

  private windowMissed(symbol: string, windowStart: number, reason: string): void {
    this.missed++;
    const gap = this.gaps.get(symbol);
    if (gap) {
      gap.reason = reason;
      gap.windows++;
    } else {
      this.gaps.set(symbol, { start: windowStart, reason, windows: 1 });
    }
  }

  private windowOk(symbol: string, windowStart: number): void {
    const gap = this.gaps.get(symbol);
    if (!gap) return;
    this.gaps.delete(symbol);
    this.monitor.dataGap({
      exchange: this.rest.id,
      dataset: this.dataset,
      symbol,
      start: gap.start,
      end: windowStart,
      reason: `${gap.windows} missed window(s); last: ${gap.reason}`.slice(0, 1000),
      ...stamp(this.clock),
    });
  }
}
