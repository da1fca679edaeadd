/**
 * The keys each recording method reads from its event, as in types.ts: anything else is a caller's typo
 * (`latency_ms` for `latencyMs`) and is reported once per method and key (RecorderContext.event).
 */
const keys = (...names: string[]): ReadonlySet<string> => new Set(names);

export const EVENT_KEYS = {
  fetch: keys('exchange', 'dataset', 'symbol', 'status', 'latencyMs', 'records', 'at'),
  dataGap: keys('exchange', 'dataset', 'symbol', 'start', 'end', 'reason', 'at'),
  liquidation: keys('exchange', 'symbol', 'side', 'price', 'amount', 'valueUsd', 'exchangeTime', 'at'),
  storageSize: keys('store', 'bytes', 'files', 'at'),
  openInterest: keys('exchange', 'symbol', 'openInterest', 'openInterestValue', 'at'),
  fundingRate: keys('exchange', 'symbol', 'fundingRate', 'markPrice', 'indexPrice', 'nextFundingTime', 'at'),
  connectionState: keys('exchange', 'channel', 'state', 'reason', 'attempt', 'at'),
  rateLimit: keys('exchange', 'used', 'quota', 'throttled', 'retryAfterSeconds', 'at'),
  pnl: keys('realized', 'unrealized', 'equity', 'grossExposure', 'openOrders', 'currency', 'at'),
  order: keys('exchange', 'symbol', 'orderId', 'side', 'status', 'type', 'price', 'amount', 'filled', 'reason', 'at'),
  fill: keys('exchange', 'symbol', 'orderId', 'fillId', 'side', 'price', 'amount', 'fee', 'feeCurrency', 'liquidity', 'at'),
  position: keys('exchange', 'symbol', 'quantity', 'entryPrice', 'markPrice', 'exposure', 'unrealized', 'at'),
  metric: keys('name', 'value', 'kind', 'labels', 'at'),
} as const;
