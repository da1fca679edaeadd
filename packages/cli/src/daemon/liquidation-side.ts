/**
 * One meaning of a liquidation's side in storage: the side of the liquidation order. A liquidated long position is
 * closed by a sell order (side `sell`), a short one by a buy. ccxt lower-cases each exchange's field as it comes:
 *
 * - Binance USD-M `forceOrder`: `o.S` is the liquidation order's side. Kept.
 * - Bybit v5 `allLiquidation` (and the older `liquidation` topic): `S` is the position's side ("When you receive a
 *   Buy update, this means that a long position has been liquidated"). Inverted.
 *
 * An exchange not listed here is taken to send the order's side, as ccxt's liquidation structure documents.
 */
const POSITION_SIDE_EXCHANGES: ReadonlySet<string> = new Set(['bybit']);

export type OrderSide = 'buy' | 'sell';

/** The liquidation order's side for a side as ccxt parsed it from `exchangeId`'s stream; undefined when unusable. */
export function orderSide(exchangeId: string, side: unknown): OrderSide | undefined {
  const s = String(side ?? '').toLowerCase();
  if (s !== 'buy' && s !== 'sell') return undefined;
  if (!POSITION_SIDE_EXCHANGES.has(exchangeId)) return s;
  return s === 'buy' ? 'sell' : 'buy';
}

/** The liquidated position's side from the stored order side: the opposite. */
export function positionSide(side: OrderSide): 'long' | 'short' {
  return side === 'sell' ? 'long' : 'short';
}
