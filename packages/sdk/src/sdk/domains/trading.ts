import { schema } from '../../schema/index.js';
import { opt, type RecorderContext } from '../context.js';
import { EVENT_KEYS } from './event-keys.js';
import { METRICS } from '../prometheus/catalog.js';
import type { Series } from '../prometheus/instruments.js';
import type { Cache0, Cache1, Cache2 } from '../prometheus/series-cache.js';
import type { FillEvent, OrderEvent, OrderStatus, PnlSnapshot, PositionSnapshot, StrategyMonitor, StrategyRef } from '../types.js';

/** Statuses after which an order is no longer open. */
const TERMINAL: ReadonlySet<OrderStatus> = new Set(['filled', 'canceled', 'rejected', 'expired']);

/** Orders tracked as open per run; beyond this, new ones are not tracked (a strategy that never closes orders). */
const MAX_TRACKED_ORDERS = 100_000;

/**
 * One strategy run (strategy, run_id, mode): live, paper and backtest runs share every trading table and metric and
 * are told apart by these labels. The handle binds them once, so each call carries only the event.
 */
export class StrategyRecorder implements StrategyMonitor {
  private readonly realized: Cache0<Series>;
  private readonly unrealized: Cache0<Series>;
  private readonly equity: Cache0<Series>;
  private readonly grossExposure: Cache0<Series>;
  private readonly openOrdersGauge: Cache0<Series>;
  private readonly orders: Cache2<Series>;
  private readonly fills: Cache1<Series>;
  private readonly fillNotional: Cache1<Series>;
  private readonly positionQuantity: Cache2<Series>;
  private readonly positionExposure: Cache2<Series>;
  /** Open orders by id, from order events. */
  private readonly open = new Set<string>();
  private orderEventsSeen = false;
  private trackingFull = false;

  constructor(
    private readonly ctx: RecorderContext,
    readonly ref: StrategyRef,
  ) {
    const prefix = [ctx.service, ref.strategy, ref.runId, ref.mode];
    this.realized = ctx.gauge0(METRICS.realized, prefix);
    this.unrealized = ctx.gauge0(METRICS.unrealized, prefix);
    this.equity = ctx.gauge0(METRICS.equity, prefix);
    this.grossExposure = ctx.gauge0(METRICS.grossExposure, prefix);
    this.openOrdersGauge = ctx.gauge0(METRICS.openOrders, prefix);
    this.orders = ctx.counter2(METRICS.orders, prefix);
    this.fills = ctx.counter1(METRICS.fills, prefix);
    this.fillNotional = ctx.counter1(METRICS.fillNotional, prefix);
    this.positionQuantity = ctx.gauge2(METRICS.positionQuantity, prefix);
    this.positionExposure = ctx.gauge2(METRICS.positionExposure, prefix);
  }

  openOrders(): number {
    return this.open.size;
  }

  pnl(s: PnlSnapshot): void {
    try {
      this.ctx.event('pnl', s, EVENT_KEYS.pnl);
      const openOrders = s.openOrders ?? (this.orderEventsSeen ? this.open.size : undefined);
      const ok = this.ctx.write('pnl', schema.strategyPnl, {
        ts: this.ctx.ts(s.at),
        strategy: this.ref.strategy,
        run_id: this.ref.runId,
        mode: this.ref.mode,
        service: this.ctx.service,
        instance: this.ctx.instance,
        currency: opt(s.currency),
        realized: s.realized,
        unrealized: s.unrealized,
        equity: opt(s.equity),
        gross_exposure: opt(s.grossExposure),
        open_orders: opt(openOrders),
      });
      if (!ok) return;
      this.realized.get().value = s.realized;
      this.unrealized.get().value = s.unrealized;
      if (s.equity !== undefined) this.equity.get().value = s.equity;
      if (s.grossExposure !== undefined) this.grossExposure.get().value = s.grossExposure;
      if (openOrders !== undefined) this.openOrdersGauge.get().value = openOrders;
    } catch (err) {
      this.ctx.diagnostics.invalid('pnl', err);
    }
  }

  order(e: OrderEvent): void {
    try {
      this.ctx.event('order', e, EVENT_KEYS.order);
      const ok = this.ctx.write('order', schema.orders, {
        ts: this.ctx.ts(e.at),
        strategy: this.ref.strategy,
        run_id: this.ref.runId,
        mode: this.ref.mode,
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        symbol: e.symbol,
        order_id: e.orderId,
        side: e.side,
        type: opt(e.type),
        status: e.status,
        price: opt(e.price),
        amount: opt(e.amount),
        filled: opt(e.filled),
        reason: opt(e.reason),
      });
      if (!ok) return;
      this.orders.get(e.exchange, e.status).value++;
      this.orderEventsSeen = true;
      if (TERMINAL.has(e.status)) {
        this.open.delete(e.orderId);
      } else if (this.open.size < MAX_TRACKED_ORDERS) {
        this.open.add(e.orderId);
      } else if (!this.open.has(e.orderId) && !this.trackingFull) {
        this.trackingFull = true;
        this.ctx.diagnostics.warn(
          { strategy: this.ref.strategy, run_id: this.ref.runId },
          `tradewatch: more than ${MAX_TRACKED_ORDERS} open orders tracked for one run; further orders are not tracked as open (are terminal statuses reported?)`,
        );
      }
      this.openOrdersGauge.get().value = this.open.size;
    } catch (err) {
      this.ctx.diagnostics.invalid('order', err);
    }
  }

  fill(e: FillEvent): void {
    try {
      this.ctx.event('fill', e, EVENT_KEYS.fill);
      const ok = this.ctx.write('fill', schema.fills, {
        ts: this.ctx.ts(e.at),
        strategy: this.ref.strategy,
        run_id: this.ref.runId,
        mode: this.ref.mode,
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        symbol: e.symbol,
        order_id: e.orderId,
        fill_id: e.fillId,
        side: e.side,
        price: e.price,
        amount: e.amount,
        fee: opt(e.fee),
        fee_currency: opt(e.feeCurrency),
        liquidity: opt(e.liquidity),
      });
      if (!ok) return;
      this.fills.get(e.exchange).value++;
      this.fillNotional.get(e.exchange).value += Math.abs(e.price * e.amount);
    } catch (err) {
      this.ctx.diagnostics.invalid('fill', err);
    }
  }

  position(s: PositionSnapshot): void {
    try {
      this.ctx.event('position', s, EVENT_KEYS.position);
      const exposure = s.exposure ?? (s.markPrice !== undefined ? s.quantity * s.markPrice : undefined);
      const ok = this.ctx.write('position', schema.positions, {
        ts: this.ctx.ts(s.at),
        strategy: this.ref.strategy,
        run_id: this.ref.runId,
        mode: this.ref.mode,
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: s.exchange,
        symbol: s.symbol,
        quantity: s.quantity,
        entry_price: opt(s.entryPrice),
        mark_price: opt(s.markPrice),
        exposure: opt(exposure),
        unrealized: opt(s.unrealized),
      });
      if (!ok) return;
      this.positionQuantity.get(s.exchange, s.symbol).value = s.quantity;
      if (exposure !== undefined) this.positionExposure.get(s.exchange, s.symbol).value = exposure;
    } catch (err) {
      this.ctx.diagnostics.invalid('position', err);
    }
  }
}

/** Strategy handles by (strategy, run_id, mode): asking twice returns the same handle and its caches. */
export class TradingRecorder {
  private readonly handles = new Map<string, StrategyRecorder>();

  constructor(private readonly ctx: RecorderContext) {}

  strategy(ref: StrategyRef): StrategyRecorder {
    // Not a hot path (callers keep the handle), so a joined key is fine here.
    const key = `${String(ref?.strategy)}\u0000${String(ref?.runId)}\u0000${String(ref?.mode)}`;
    let handle = this.handles.get(key);
    if (handle === undefined) {
      handle = new StrategyRecorder(this.ctx, { strategy: ref?.strategy, runId: ref?.runId, mode: ref?.mode });
      this.handles.set(key, handle);
    }
    return handle;
  }
}
