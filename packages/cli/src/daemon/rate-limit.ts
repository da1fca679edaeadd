import { header } from './errors.js';

/** What the exchange's response headers (and its published limits) say about the request budget. */
export interface RateLimitReading {
  readonly used?: number;
  readonly quota?: number;
}

const num = (raw: string | undefined): number | undefined => {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
};

/**
 * Reads the rate-limit budget from response headers: Binance `X-MBX-USED-WEIGHT-1M` (the IP's weight used in the
 * current minute; the quota comes from exchangeInfo, see captureQuota), Bybit `X-Bapi-Limit-Status` (remaining)
 * with `X-Bapi-Limit` (quota; Bybit sends them on private endpoints only), else the common `X-RateLimit-Limit` /
 * `-Remaining` / `-Used`. Empty when the headers say nothing.
 */
export function readRateLimit(headers: Record<string, unknown> | undefined): RateLimitReading {
  if (!headers) return {};
  const binanceUsed = num(header(headers, 'X-MBX-USED-WEIGHT-1M')) ?? num(header(headers, 'X-MBX-USED-WEIGHT'));
  if (binanceUsed !== undefined) return { used: binanceUsed };
  const bybitRemaining = num(header(headers, 'X-Bapi-Limit-Status'));
  const bybitQuota = num(header(headers, 'X-Bapi-Limit'));
  if (bybitRemaining !== undefined) {
    return bybitQuota !== undefined ? { used: Math.max(0, bybitQuota - bybitRemaining), quota: bybitQuota } : {};
  }
  const quota = num(header(headers, 'X-RateLimit-Limit'));
  const used = num(header(headers, 'X-RateLimit-Used'));
  const remaining = num(header(headers, 'X-RateLimit-Remaining'));
  if (used !== undefined) return { used, quota };
  if (quota !== undefined && remaining !== undefined) return { used: Math.max(0, quota - remaining), quota };
  return {};
}

/**
 * The per-minute REQUEST_WEIGHT limit in an exchangeInfo answer (Binance: `rateLimits: [{ rateLimitType:
 * 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: 2400 }, ...]`), the quota X-MBX-USED-WEIGHT-1M counts against.
 */
export function weightQuotaOf(exchangeInfo: unknown): number | undefined {
  const limits = (exchangeInfo as { rateLimits?: unknown } | undefined)?.rateLimits;
  if (!Array.isArray(limits)) return undefined;
  for (const l of limits as { rateLimitType?: unknown; interval?: unknown; intervalNum?: unknown; limit?: unknown }[]) {
    if (l?.rateLimitType === 'REQUEST_WEIGHT' && l.interval === 'MINUTE' && Number(l.intervalNum ?? 1) === 1) {
      const n = Number(l.limit);
      if (Number.isFinite(n) && n > 0) return n;
    }
  }
  return undefined;
}

/** ccxt's implicit exchangeInfo methods of the Binance family (USD-M, COIN-M, spot): what loadMarkets calls. */
const EXCHANGE_INFO_METHODS = ['fapiPublicGetExchangeInfo', 'dapiPublicGetExchangeInfo', 'publicGetExchangeInfo'];

/**
 * Wraps the instance's exchangeInfo methods so that the quota the exchange publishes lands in `into.value` when
 * ccxt loads the markets: no extra request, and no hard-coded figure that drifts from the exchange's.
 */
export function captureQuota(exchange: object, into: { value?: number }): void {
  const methods = exchange as Record<string, unknown>;
  for (const name of EXCHANGE_INFO_METHODS) {
    const original = methods[name];
    if (typeof original !== 'function') continue;
    methods[name] = async (...args: unknown[]) => {
      const answer: unknown = await (original as (...a: unknown[]) => Promise<unknown>).apply(exchange, args);
      into.value = weightQuotaOf(answer) ?? into.value;
      return answer;
    };
  }
}
