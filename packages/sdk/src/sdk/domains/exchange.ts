import { schema } from '../../schema/index.js';
import { toMicros, type MicrosClock } from '../clock.js';
import { opt, type RecorderContext, type TimeInput } from '../context.js';
import { EVENT_KEYS } from './event-keys.js';
import { SdkInputError } from '../diagnostics.js';
import { describeValue } from '../../common/errors.js';
import { checkLabel } from '../diagnostics.js';
import { METRICS } from '../prometheus/catalog.js';
import type { HistogramSeries, Series } from '../prometheus/instruments.js';
import type { Cache1, Cache2, Cache3 } from '../prometheus/series-cache.js';
import type { ConnectionStateEvent, RateLimitEvent } from '../types.js';

/**
 * What the SDK knows about one exchange channel: its connection state (for downtime on reconnect) and the message
 * statistics of the current sampling interval (for tw_connection_samples).
 */
class Channel {
  connected = false;
  everConnected = false;
  /** µs when the connection was lost; undefined while connected (or before anything was reported). */
  lostAt: number | undefined;
  attempts = 0;
  reconnects = 0;

  /** Interval statistics, reset by each sample. */
  messages = 0;
  latencySumMs = 0;
  latencyCount = 0;
  latencyMaxMs = -Infinity;
  /** ms since epoch of the last message; 0 = none yet. */
  lastMessageMs = 0;
  readonly folded: boolean;

  constructor(
    readonly exchange: string,
    readonly name: string,
    readonly messagesTotal: Series,
    readonly latency: HistogramSeries,
    readonly lastMessage: Series,
    readonly up: Series,
  ) {
    this.folded = messagesTotal.folded;
  }
}

/**
 * Exchange connectivity: connection state changes (downtime is computed on reconnect), messages (aggregated in
 * memory; one sample row per channel per interval instead of a row per message) and rate-limit budget.
 */
export class ExchangeRecorder {
  private readonly channels = new Map<string, Map<string, Channel>>();
  private readonly messagesTotal: Cache2<Series>;
  private readonly latency: Cache2<HistogramSeries>;
  private readonly lastMessage: Cache2<Series>;
  private readonly up: Cache2<Series>;
  private readonly stateChanges: Cache3<Series>;
  private readonly reconnects: Cache2<Series>;
  private readonly downtime: Cache2<Series>;
  private readonly used: Cache1<Series>;
  private readonly quota: Cache1<Series>;
  private readonly throttled: Cache1<Series>;
  private readonly throttledTotal: Cache1<Series>;
  private readonly clock: MicrosClock;

  constructor(private readonly ctx: RecorderContext) {
    this.clock = ctx.clock;
    this.messagesTotal = ctx.counter2(METRICS.messages);
    this.latency = ctx.histogram2(METRICS.messageLatency);
    this.lastMessage = ctx.gauge2(METRICS.lastMessage);
    this.up = ctx.gauge2(METRICS.connectionUp);
    this.stateChanges = ctx.counter3(METRICS.connectionChanges);
    this.reconnects = ctx.counter2(METRICS.reconnects);
    this.downtime = ctx.counter2(METRICS.downtime);
    this.used = ctx.gauge1(METRICS.rateLimitUsed);
    this.quota = ctx.gauge1(METRICS.rateLimitQuota);
    this.throttled = ctx.gauge1(METRICS.rateLimitThrottled);
    this.throttledTotal = ctx.counter1(METRICS.rateLimitThrottledTotal);
  }

  /** The hot path: two Map look-ups and a few additions. */
  message(exchange: string, channel: string, exchangeTime?: TimeInput): void {
    try {
      const ch = this.channels.get(exchange)?.get(channel) ?? this.channel(exchange, channel);
      const now = Date.now();
      // A channel whose series were folded (overflow policy) goes through the cache so the fold is counted.
      if (ch.folded) this.messagesTotal.get(exchange, channel);
      ch.messages++;
      ch.lastMessageMs = now;
      ch.messagesTotal.value++;
      ch.lastMessage.value = now / 1000;
      if (exchangeTime !== undefined) {
        const latencyMs = now - (typeof exchangeTime === 'number' ? exchangeTime : exchangeTime.getTime());
        if (latencyMs === latencyMs) {
          // NaN fails the comparison above: an unusable exchange time is ignored, the message still counts.
          ch.latencySumMs += latencyMs;
          ch.latencyCount++;
          if (latencyMs > ch.latencyMaxMs) ch.latencyMaxMs = latencyMs;
          ch.latency.observe(latencyMs > 0 ? latencyMs / 1000 : 0);
        }
      }
    } catch (err) {
      this.ctx.diagnostics.invalid('message', err);
    }
  }

  connectionState(e: ConnectionStateEvent): void {
    try {
      this.ctx.event('connectionState', e, EVENT_KEYS.connectionState);
      // Checked whatever the state, so that one value is accepted or refused alike in every state.
      if (e.attempt !== undefined && e.attempt !== null && !(Number.isInteger(e.attempt) && e.attempt >= 0)) {
        throw new SdkInputError('attempt', `attempt must be an integer ≥ 0, got ${describeValue(e.attempt)}`);
      }
      const ch = this.channels.get(e.exchange)?.get(e.channel) ?? this.channel(e.exchange, e.channel);
      const ts = this.ctx.ts(e.at);
      const state = e.state;
      let downtime: number | null = null;
      let attempt: number | null = null;
      if (state === 'connected') {
        if (ch.lostAt !== undefined) downtime = Math.max(0, (ts - ch.lostAt) / 1e6);
      } else if (state === 'reconnecting') {
        attempt = e.attempt ?? ch.attempts + 1;
      }
      const ok = this.ctx.write('connectionState', schema.connectionEvents, {
        ts,
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        channel: e.channel,
        state,
        reason: opt(e.reason),
        downtime_s: downtime,
        attempt,
      });
      if (!ok) return;

      this.stateChanges.get(e.exchange, e.channel, state).value++;
      if (state === 'connected') {
        if (ch.lostAt !== undefined && ch.everConnected) {
          ch.reconnects++;
          this.reconnects.get(e.exchange, e.channel).value++;
        }
        if (downtime !== null) this.downtime.get(e.exchange, e.channel).value += downtime;
        ch.connected = true;
        ch.everConnected = true;
        ch.lostAt = undefined;
        ch.attempts = 0;
      } else {
        // The outage starts at the first loss; further disconnected/reconnecting reports do not move it.
        if (ch.lostAt === undefined) ch.lostAt = ts;
        ch.connected = false;
        if (attempt !== null) ch.attempts = attempt;
      }
      ch.up.value = ch.connected ? 1 : 0;
    } catch (err) {
      this.ctx.diagnostics.invalid('connectionState', err);
    }
  }

  rateLimit(e: RateLimitEvent): void {
    try {
      this.ctx.event('rateLimit', e, EVENT_KEYS.rateLimit);
      const ok = this.ctx.write('rateLimit', schema.rateLimits, {
        ts: this.ctx.ts(e.at),
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        used: opt(e.used),
        quota: opt(e.quota),
        throttled: opt(e.throttled),
        retry_after_s: opt(e.retryAfterSeconds),
      });
      if (!ok) return;
      if (e.used !== undefined) this.used.get(e.exchange).value = e.used;
      if (e.quota !== undefined) this.quota.get(e.exchange).value = e.quota;
      if (e.throttled !== undefined) {
        this.throttled.get(e.exchange).value = e.throttled ? 1 : 0;
        if (e.throttled) this.throttledTotal.get(e.exchange).value++;
      }
    } catch (err) {
      this.ctx.diagnostics.invalid('rateLimit', err);
    }
  }

  /**
   * One tw_connection_samples row per known channel: state now, messages and latency over the interval since the
   * previous sample, last message time, reconnects so far. Interval statistics restart after each row.
   */
  sample(): void {
    for (const byChannel of this.channels.values()) {
      for (const ch of byChannel.values()) {
        const ok = this.ctx.write('sample', schema.connectionSamples, {
          ts: this.clock.now(),
          service: this.ctx.service,
          instance: this.ctx.instance,
          exchange: ch.exchange,
          channel: ch.name,
          connected: ch.connected,
          messages: ch.messages,
          latency_ms_avg: ch.latencyCount > 0 ? ch.latencySumMs / ch.latencyCount : null,
          latency_ms_max: ch.latencyCount > 0 ? ch.latencyMaxMs : null,
          last_message_ts: ch.lastMessageMs > 0 ? toMicros(ch.lastMessageMs) : null,
          reconnects: ch.reconnects,
        });
        if (!ok) continue;
        ch.messages = 0;
        ch.latencySumMs = 0;
        ch.latencyCount = 0;
        ch.latencyMaxMs = -Infinity;
      }
    }
  }

  /** First sight of a channel (slow path): validate its names once, since messages never pass the writer. */
  private channel(exchange: string, channel: string): Channel {
    checkLabel('exchange', exchange);
    checkLabel('channel', channel);
    let byChannel = this.channels.get(exchange);
    if (byChannel === undefined) this.channels.set(exchange, (byChannel = new Map()));
    const ch = new Channel(
      exchange,
      channel,
      this.messagesTotal.get(exchange, channel),
      this.latency.get(exchange, channel),
      this.lastMessage.get(exchange, channel),
      this.up.get(exchange, channel),
    );
    byChannel.set(channel, ch);
    return ch;
  }
}
