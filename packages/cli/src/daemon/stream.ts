import type { Monitor, Side } from '@tradewatch/sdk/sdk';
import { backoffDelay } from './backoff.js';
import type { LiquidationLike, ProExchange, WsClientLike } from './ccxt-exchange.js';
import { stamp, systemClock, type Clock, type Timer } from './clock.js';
import { orderSide } from './liquidation-side.js';
import { classify, messageOf } from './errors.js';
import type { RestClient } from './rest.js';

export const LIQUIDATIONS_CHANNEL = 'liquidations';

/** A connection up at least this long before it dropped is redialled at once (see run()). */
const HEALTHY_CONNECTION_MS = 1000;

export interface StreamOptions {
  readonly symbols: readonly string[];
  readonly staleStreamMs: number;
  readonly reconnectBaseMs: number;
  readonly reconnectMaxMs: number;
  /**
   * A stream back within this long after it dropped opens no data gap (its disconnect and reconnect are still
   * recorded): exchanges close connections on schedule (Binance after 24 h) and such a reconnect takes well under a
   * second. 0: every drop is a gap.
   */
  readonly plannedReconnectMs?: number;
}

export interface StreamStats {
  readonly state: 'starting' | 'connected' | 'down' | 'stopped';
  readonly liquidations: number;
  readonly reconnects: number;
  readonly lastActivity?: number;
}

/**
 * The liquidation stream of one exchange over ccxt's watch API, supervised: connection state changes are recorded
 * (connected / disconnected with the reason / reconnecting with the attempt), the stream is re-established with
 * exponential backoff and jitter, and the time it was down (or silent) is recorded as a data gap per symbol once
 * it is back.
 *
 * Liquidations are sparse, so silence is judged by the websocket's own activity: any message (subscription acks,
 * application pongs) and protocol-level pongs to ccxt's keepalive pings, which the daemon sends at least three
 * times per staleStreamMs. A stream without either for staleStreamMs is stalled: it is torn down and reconnected.
 */
export class LiquidationStream {
  private state: StreamStats['state'] = 'starting';
  private everConnected = false;
  private attempt = 0;
  private liquidations = 0;
  private reconnects = 0;
  private lastActivity = 0;
  /** When the data stopped (disconnect time, or the last activity of a stalled stream). */
  private downSince: number | undefined;
  private downReason = '';
  private staleTimer: Timer | undefined;
  private connectedAt = 0;
  private loop: Promise<void> | undefined;
  private finishWatch: (() => void) | undefined;
  private readonly symbols: Set<string>;

  constructor(
    private readonly rest: RestClient,
    private readonly monitor: Monitor,
    private readonly options: StreamOptions,
    private readonly signal: AbortSignal,
    private readonly clock: Clock = systemClock,
  ) {
    this.symbols = new Set(options.symbols);
    this.installHooks(rest.exchange);
  }

  private get id(): string {
    return this.rest.id;
  }

  start(): void {
    this.loop = this.run();
    const checkEvery = Math.max(25, Math.min(1000, Math.floor(this.options.staleStreamMs / 4)));
    this.staleTimer = this.clock.setInterval(() => this.checkStale(), checkEvery);
  }

  /** Records the shutdown as a disconnect and ends the watch loop; the caller closes the ccxt instance. */
  async stop(): Promise<void> {
    this.staleTimer?.cancel();
    if (this.state === 'connected') {
      this.monitor.connectionState({ exchange: this.id, channel: LIQUIDATIONS_CHANNEL, state: 'disconnected', reason: 'daemon stopped' });
    }
    this.state = 'stopped';
    this.finishWatch?.();
    await this.loop;
  }

  stats(): StreamStats {
    return {
      state: this.state,
      liquidations: this.liquidations,
      reconnects: this.reconnects,
      ...(this.lastActivity ? { lastActivity: this.lastActivity } : {}),
    };
  }

  private installHooks(exchange: ProExchange): void {
    // ccxt binds these when it creates a websocket client, so instance-level wrappers see every connection.
    const handleMessage = exchange.handleMessage.bind(exchange);
    exchange.handleMessage = (client, message) => {
      this.lastActivity = this.clock.now();
      handleMessage(client, message);
    };
    // Every liquidation a message carries passes through parseWsLiquidation exactly once, whether or not a
    // watch call is waiting at that moment, so counting here loses nothing in a burst.
    const parse = exchange.parseWsLiquidation.bind(exchange);
    exchange.parseWsLiquidation = (raw, market) => {
      const liquidation = parse(raw, market);
      try {
        this.onLiquidation(liquidation);
      } catch (err) {
        this.monitor.error(err, { component: 'websocket', exchange: this.id, kind: 'LiquidationParse' });
      }
      return liquidation;
    };
    const onConnected = exchange.onConnected.bind(exchange);
    exchange.onConnected = (client, message) => {
      onConnected(client, message);
      this.onOpen();
    };
    const onClose = exchange.onClose.bind(exchange);
    exchange.onClose = (client, event) => {
      onClose(client, event);
      const code = event?.code;
      const reason = event?.reason ? String(event.reason) : '';
      this.onLost(`websocket closed${code !== undefined ? ` (code ${code})` : ''}${reason ? `: ${reason}` : ''}`, this.clock.now());
    };
    const onError = exchange.onError.bind(exchange);
    exchange.onError = (client, error) => {
      onError(client, error);
      // A keepalive timeout means the stream went quiet earlier: the data stopped at its last sign of life.
      const now = this.clock.now();
      const since = classify(error).status === 'timeout' ? Math.max(this.lastActivity, this.pongTime(client.lastPong)) || now : now;
      this.onLost(`websocket error: ${messageOf(error)}`, since, now);
    };
  }

  private onLiquidation(l: LiquidationLike): void {
    const symbol = l.symbol;
    if (!symbol || !this.symbols.has(symbol)) return;
    const side = orderSide(this.id, l.side);
    const amount = l.contracts ?? l.baseValue;
    if (side === undefined || typeof l.price !== 'number' || typeof amount !== 'number') {
      this.monitor.error(new Error(`unusable liquidation on ${symbol}: ${JSON.stringify({ side: l.side, price: l.price, amount })}`), {
        component: 'websocket',
        exchange: this.id,
        kind: 'BadLiquidation',
      });
      return;
    }
    this.liquidations++;
    const exchangeTime = typeof l.timestamp === 'number' && Number.isFinite(l.timestamp) ? l.timestamp : undefined;
    this.monitor.message(this.id, LIQUIDATIONS_CHANNEL, exchangeTime);
    this.monitor.liquidation({
      exchange: this.id,
      symbol,
      side: side satisfies Side,
      price: l.price,
      amount,
      ...notional(l, amount),
      ...(exchangeTime !== undefined ? { exchangeTime } : {}),
    });
  }

  private onOpen(): void {
    if (this.state === 'stopped' || this.signal.aborted) return;
    const now = this.clock.now();
    this.lastActivity = now;
    this.connectedAt = now;
    if (this.everConnected) this.reconnects++;
    this.everConnected = true;
    this.state = 'connected';
    this.attempt = 0;
    // At the instant the gap below ends: two clock reads can be milliseconds apart on a busy machine.
    this.monitor.connectionState({ exchange: this.id, channel: LIQUIDATIONS_CHANNEL, state: 'connected', at: now });
    const planned = this.downSince !== undefined && now - this.downSince < (this.options.plannedReconnectMs ?? 0);
    if (this.downSince !== undefined && !planned) {
      for (const symbol of this.symbols) {
        this.monitor.dataGap({
          exchange: this.id,
          dataset: LIQUIDATIONS_CHANNEL,
          symbol,
          start: this.downSince,
          end: now,
          reason: this.downReason.slice(0, 1000),
          ...stamp(this.clock),
        });
      }
    }
    this.downSince = undefined;
  }

  /**
   * The stream stopped delivering at `since`, noticed at `noticedAt` (later for a stream found silent); recorded once
   * per outage. The disconnected row is stamped when it was noticed, with the same clock read as the gap's start when
   * the two are one instant (a close).
   */
  private onLost(reason: string, since: number, noticedAt = since): void {
    if (this.state === 'stopped' || this.signal.aborted || this.state === 'down') return;
    const wasUp = this.state === 'connected';
    this.state = 'down';
    this.downSince ??= wasUp ? since : undefined;
    this.downReason = reason;
    this.monitor.connectionState({ exchange: this.id, channel: LIQUIDATIONS_CHANNEL, state: 'disconnected', reason: reason.slice(0, 500), at: noticedAt });
  }

  /** ccxt stamps pongs with the wall clock: the same age on this stream's clock (identical with the system clock). */
  private pongTime(lastPong: number | undefined): number {
    if (!lastPong) return 0;
    return this.clock === systemClock ? lastPong : this.clock.now() - Math.max(0, Date.now() - lastPong);
  }

  private stopped(): boolean {
    return this.signal.aborted || this.state === 'stopped';
  }

  private checkStale(): void {
    if (this.state !== 'connected') return;
    const clients = Object.values(this.rest.exchange.clients ?? {});
    const lastPong = Math.max(0, ...clients.map((c) => this.pongTime(c.lastPong)));
    const activity = Math.max(this.lastActivity, lastPong);
    const now = this.clock.now();
    if (now - activity <= this.options.staleStreamMs) return;
    this.onLost(`stream silent: no message or pong for ${now - activity} ms`, activity, now);
    for (const client of clients) terminate(client);
  }

  private async run(): Promise<void> {
    while (!this.stopped()) {
      try {
        await this.rest.ensureMarkets();
        const symbols = [...this.symbols].filter((s) => this.rest.exchange.markets?.[s] !== undefined);
        const unknown = [...this.symbols].filter((s) => this.rest.exchange.markets?.[s] === undefined);
        for (const symbol of unknown) {
          this.symbols.delete(symbol);
          this.monitor.error(new Error(`${this.id} has no market ${symbol}; not streaming its liquidations`), {
            component: 'websocket',
            exchange: this.id,
            kind: 'BadSymbol',
          });
        }
        if (symbols.length === 0) return;
        await this.watch(symbols);
      } catch (err) {
        if (this.stopped()) return;
        const { kind } = classify(err);
        this.monitor.error(err, { component: 'websocket', exchange: this.id, kind });
        const now = this.clock.now();
        // A connection that was up for a while and is closed by the exchange (its scheduled close, a deploy) is
        // dialled again at once: the planned reconnect stays under a second. Repeated failures back off.
        const wasHealthy = this.attempt === 0 && this.connectedAt > 0 && now - this.connectedAt >= HEALTHY_CONNECTION_MS;
        this.onLost(messageOf(err), now);
        this.attempt++;
        this.monitor.connectionState({ exchange: this.id, channel: LIQUIDATIONS_CHANNEL, state: 'reconnecting', attempt: this.attempt });
        const delay = wasHealthy ? 0 : backoffDelay(this.attempt, this.options.reconnectBaseMs, this.options.reconnectMaxMs);
        await this.clock.sleep(delay, this.signal);
      }
    }
  }

  /** Keeps a watch call pending for every symbol; rejects on the first failure, resolves on stop. */
  private watch(symbols: string[]): Promise<void> {
    const exchange = this.rest.exchange;
    const calls: (() => Promise<unknown>)[] = exchange.has.watchLiquidationsForSymbols
      ? [() => exchange.watchLiquidationsForSymbols(symbols)]
      : symbols.map((symbol) => () => exchange.watchLiquidations(symbol));
    return new Promise<void>((resolve, reject) => {
      let done = false;
      const finish = (err?: unknown) => {
        if (done) return;
        done = true;
        this.finishWatch = undefined;
        if (err === undefined) resolve();
        else reject(err);
      };
      this.finishWatch = () => finish();
      const arm = (call: () => Promise<unknown>) => {
        let pending: Promise<unknown>;
        try {
          pending = call();
        } catch (err) {
          finish(err ?? new Error('watch failed'));
          return;
        }
        pending.then(
          () => {
            if (!done && !this.signal.aborted) arm(call);
          },
          (err: unknown) => finish(err ?? new Error('watch failed')),
        );
      };
      for (const call of calls) arm(call);
    });
  }
}

function terminate(client: WsClientLike): void {
  try {
    if (client.connection?.terminate) client.connection.terminate();
    else client.close();
  } catch {
    // already gone
  }
}

/**
 * The liquidation's notional in the quote currency: the exchange's own figure when ccxt gives one, else
 * price × base quantity (contracts × contract size). For the USDT/USDC-margined perpetuals this daemon watches,
 * that is the USD value the dashboards and the liquidation-burst alert sum.
 */
function notional(l: LiquidationLike, amount: number): { valueUsd?: number } {
  if (typeof l.quoteValue === 'number' && Number.isFinite(l.quoteValue)) return { valueUsd: l.quoteValue };
  const base = typeof l.baseValue === 'number' && Number.isFinite(l.baseValue) ? l.baseValue : amount * (l.contractSize ?? 1);
  const value = base * l.price!;
  return Number.isFinite(value) ? { valueUsd: value } : {};
}
