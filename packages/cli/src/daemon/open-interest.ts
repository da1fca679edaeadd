import type { OpenInterestLike, ProExchange } from './ccxt-exchange.js';
import { EmptyResponse } from './errors.js';

interface BybitTickerAnswer {
  time?: number | string;
  result?: { list?: { symbol?: string; openInterest?: string; openInterestValue?: string }[] };
}

/**
 * Open interest at the fetch's own time. ccxt's Bybit fetchOpenInterest reads /v5/market/open-interest with
 * intervalTime=1h: the current hourly bucket, stamped at the hour's start, so every fetch of an hour would store the
 * same stale row (tw_open_interest dedups on ts). The live figure is in /v5/market/tickers (what the funding fetch
 * reads too), stamped with the answer's `time`: each window stores its own observation. Others: ccxt's fetchOpenInterest.
 */
export async function fetchOpenInterest(exchange: ProExchange, symbol: string): Promise<OpenInterestLike> {
  const tickers = (exchange as unknown as { publicGetV5MarketTickers?: (p: Record<string, string>) => Promise<BybitTickerAnswer> })
    .publicGetV5MarketTickers;
  if (exchange.id !== 'bybit' || typeof tickers !== 'function') return exchange.fetchOpenInterest(symbol);
  const market = (exchange.markets?.[symbol] ?? {}) as { id?: string; linear?: boolean; inverse?: boolean };
  if (!market.id || !(market.linear || market.inverse)) return exchange.fetchOpenInterest(symbol);
  const answer = await tickers.call(exchange, { category: market.linear ? 'linear' : 'inverse', symbol: market.id });
  const row = answer.result?.list?.find((r) => r.symbol === market.id);
  const amount = Number(row?.openInterest);
  if (!row || row.openInterest === undefined || row.openInterest === '' || !Number.isFinite(amount)) {
    throw new EmptyResponse(`bybit ${symbol}: no open interest in the ticker`);
  }
  const value = Number(row.openInterestValue);
  const time = Number(answer.time);
  return {
    symbol,
    openInterestAmount: amount,
    ...(Number.isFinite(value) && row.openInterestValue !== '' ? { openInterestValue: value } : {}),
    ...(Number.isFinite(time) ? { timestamp: time } : {}),
  };
}
