import { header } from './errors.js';

/** What the exchange's response headers say about the request budget. */
export interface RateLimitReading {
  readonly used?: number;
  readonly quota?: number;
}

/** Published request-weight quotas per minute where the headers only give usage. */
const KNOWN_QUOTAS: Readonly<Record<string, number>> = {
  binanceusdm: 2400,
  binancecoinm: 2400,
  binance: 6000,
};

const num = (raw: string | undefined): number | undefined => {
  if (raw === undefined || raw.trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
};

/**
 * Reads the rate-limit budget from response headers: Binance `X-MBX-USED-WEIGHT-1M` (quota from the exchange's
 * published limit), Bybit `X-Bapi-Limit-Status` (remaining) with `X-Bapi-Limit` (quota), else the common
 * `X-RateLimit-Limit` / `-Remaining` / `-Used`. Empty when the headers say nothing.
 */
export function readRateLimit(exchangeId: string, headers: Record<string, unknown> | undefined): RateLimitReading {
  if (!headers) return {};
  const binanceUsed = num(header(headers, 'X-MBX-USED-WEIGHT-1M')) ?? num(header(headers, 'X-MBX-USED-WEIGHT'));
  if (binanceUsed !== undefined) return { used: binanceUsed, quota: KNOWN_QUOTAS[exchangeId] };
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
