import { seededRandom } from '@tradewatch/sdk/common';
import type { ExchangeId } from './faults.js';

/**
 * Deterministic market data: every value is a pure function of (seed, exchange, symbol, time), smooth in time
 * (slow sines plus interpolated seeded noise), so two simulators with the same seed answer the same numbers for
 * the same clock reading, and a client polling every few seconds sees plausible, continuous series.
 */

export const DEFAULT_BASES = ['BTC', 'ETH', 'SOL', 'XRP', 'DOGE'] as const;

/** Funding intervals other than 8 h, as both exchanges run some perpetuals (Binance fundingIntervalHours, Bybit fundingInterval). */
const FUNDING_HOURS: Record<string, number> = { XRP: 4, DOGE: 1, ADA: 4 };

const KNOWN: Record<string, { price: number; oiUsd: number }> = {
  BTC: { price: 65_000, oiUsd: 7e9 },
  ETH: { price: 3_200, oiUsd: 4e9 },
  SOL: { price: 150, oiUsd: 1.5e9 },
  XRP: { price: 0.55, oiUsd: 8e8 },
  DOGE: { price: 0.12, oiUsd: 6e8 },
  BNB: { price: 580, oiUsd: 6e8 },
  ADA: { price: 0.45, oiUsd: 3e8 },
};

export interface SimSymbol {
  base: string;
  quote: 'USDT';
  /** Exchange market id, e.g. BTCUSDT. */
  id: string;
  /** ccxt unified symbol, e.g. BTC/USDT:USDT. */
  symbol: string;
  price0: number;
  oiUsd: number;
  priceDecimals: number;
  qtyDecimals: number;
}

export interface LiquidationEvent {
  exchange: ExchangeId;
  symbolId: string;
  /** The liquidation order's side: `sell` closes a liquidated long position, `buy` a short one. */
  side: 'buy' | 'sell';
  /** Decimal strings, already rounded to the market's steps. */
  qty: string;
  price: string;
  ts: number;
}

/** FNV-1a over the parts: a 32-bit seed for mulberry32. */
export function hashSeed(...parts: (string | number)[]): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join('\u0001')) {
    h ^= ch.codePointAt(0) ?? 0;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

const unit = (...parts: (string | number)[]) => seededRandom(hashSeed(...parts))();

/** Value noise in [-1, 1]: seeded values at multiples of periodMs, smoothstep-interpolated between them. */
function smoothNoise(key: string, t: number, periodMs: number): number {
  const x = t / periodMs;
  const i = Math.floor(x);
  const f = x - i;
  const a = unit(key, i) * 2 - 1;
  const b = unit(key, i + 1) * 2 - 1;
  const s = f * f * (3 - 2 * f);
  return a + (b - a) * s;
}

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));
const TAU = Math.PI * 2;
const HOUR = 3_600_000;

export function normalizeBase(value: string): string {
  const upper = value.toUpperCase();
  return upper.endsWith('USDT') && upper.length > 4 ? upper.slice(0, -4) : upper;
}

export function makeSymbols(seed: number, bases: readonly string[]): SimSymbol[] {
  const seen = new Set<string>();
  const out: SimSymbol[] = [];
  for (const raw of bases) {
    const base = normalizeBase(raw);
    if (seen.has(base)) continue;
    seen.add(base);
    const known = KNOWN[base];
    const price0 = known?.price ?? Number((10 ** (unit(seed, base, 'p0') * 4 - 1)).toPrecision(4));
    const oiUsd = known?.oiUsd ?? 5e7 + unit(seed, base, 'oi0') * 2e8;
    const magnitude = Math.floor(Math.log10(price0));
    out.push({
      base,
      quote: 'USDT',
      id: `${base}USDT`,
      symbol: `${base}/USDT:USDT`,
      price0,
      oiUsd,
      priceDecimals: clamp(5 - magnitude, 1, 7),
      qtyDecimals: clamp(magnitude - 1, 0, 3),
    });
  }
  return out;
}

export class MarketModel {
  readonly symbols: SimSymbol[];
  private readonly byId = new Map<string, SimSymbol>();

  constructor(
    readonly seed: number,
    readonly exchange: ExchangeId,
    bases: readonly string[],
  ) {
    this.symbols = makeSymbols(seed, bases);
    for (const s of this.symbols) this.byId.set(s.id, s);
  }

  find(idOrBase: string): SimSymbol | undefined {
    const upper = idOrBase.toUpperCase();
    return this.byId.get(upper) ?? this.byId.get(`${normalizeBase(upper)}USDT`);
  }

  private phase(sym: SimSymbol, what: string, perExchange = false): number {
    return unit(this.seed, perExchange ? this.exchange : '', sym.base, what) * TAU;
  }

  /** The index price is shared by every exchange (same seed): exchanges only differ by a small basis. */
  indexPrice(sym: SimSymbol, t: number): number {
    const drift =
      0.03 * Math.sin((TAU * t) / (24 * HOUR) + this.phase(sym, 'day')) +
      0.01 * Math.sin((TAU * t) / (47 * 60_000) + this.phase(sym, 'swing')) +
      0.004 * smoothNoise(`${this.seed}|${sym.base}|px`, t, 60_000);
    return sym.price0 * Math.exp(drift);
  }

  markPrice(sym: SimSymbol, t: number): number {
    const basis = 0.0004 * smoothNoise(`${this.seed}|${this.exchange}|${sym.base}|basis`, t, 30_000);
    return this.indexPrice(sym, t) * (1 + basis);
  }

  /** Open interest in contracts (= base units for these linear perpetuals). */
  openInterest(sym: SimSymbol, t: number): number {
    const scale = this.exchange === 'bybit' ? 0.62 : 1;
    const factor =
      1 +
      0.06 * Math.sin((TAU * t) / (9 * HOUR) + this.phase(sym, 'oi', true)) +
      0.02 * smoothNoise(`${this.seed}|${this.exchange}|${sym.base}|oi`, t, 300_000) +
      0.003 * smoothNoise(`${this.seed}|${this.exchange}|${sym.base}|oi-fast`, t, 20_000);
    return ((sym.oiUsd * scale) / sym.price0) * factor;
  }

  /** Hours between funding settlements: 8 for most, 4 or 1 for some (XRP 4 h, DOGE 1 h). */
  fundingIntervalHours(sym: SimSymbol): number {
    return FUNDING_HOURS[sym.base] ?? 8;
  }

  /** The current (predicted) funding rate, per funding interval. */
  fundingRate(sym: SimSymbol, t: number): number {
    const rate =
      0.0001 +
      0.00025 * Math.sin((TAU * t) / (48 * HOUR) + this.phase(sym, 'funding', true)) +
      0.00005 * smoothNoise(`${this.seed}|${this.exchange}|${sym.base}|funding`, t, 600_000);
    return clamp((rate * this.fundingIntervalHours(sym)) / 8, -0.003, 0.003);
  }

  /** Funding settles every interval from 00:00 UTC (8 h: 00:00, 08:00, 16:00). */
  nextFundingTime(sym: SimSymbol, t: number): number {
    const every = this.fundingIntervalHours(sym) * HOUR;
    return (Math.floor(t / every) + 1) * every;
  }

  /** The liquidated position's bankruptcy price: where its margin is gone (Bybit's `p`), a little beyond the order's price. */
  bankruptcyPrice(event: LiquidationEvent): string {
    const sym = this.find(event.symbolId);
    const decimals = sym?.priceDecimals ?? 2;
    // a long (liquidated by a sell order) goes bankrupt below the order's price, a short above
    return (Number(event.price) * (event.side === 'sell' ? 0.995 : 1.005)).toFixed(decimals);
  }

  /** Liquidations: symbols weighted by open interest, notional log-uniform between ~$100 and ~$200k. */
  liquidation(rng: () => number, t: number, only?: SimSymbol[], side: 'buy' | 'sell' | 'mixed' = 'mixed'): LiquidationEvent {
    const pool = only && only.length > 0 ? only : this.symbols;
    const total = pool.reduce((sum, s) => sum + s.oiUsd, 0);
    let pick = rng() * total;
    let sym = pool[pool.length - 1] as SimSymbol;
    for (const s of pool) {
      pick -= s.oiUsd;
      if (pick <= 0) {
        sym = s;
        break;
      }
    }
    const chosenSide = side === 'mixed' ? (rng() < 0.5 ? 'buy' : 'sell') : side;
    const notional = 100 * Math.exp(rng() * Math.log(2000));
    const price = this.markPrice(sym, t) * (1 + (chosenSide === 'buy' ? 1 : -1) * 0.002 * rng());
    const step = 10 ** -sym.qtyDecimals;
    const qty = Math.max(step, Math.round(notional / price / step) * step);
    return {
      exchange: this.exchange,
      symbolId: sym.id,
      side: chosenSide,
      qty: qty.toFixed(sym.qtyDecimals),
      price: price.toFixed(sym.priceDecimals),
      ts: t,
    };
  }
}

export function fixed(value: number, decimals: number): string {
  return value.toFixed(decimals);
}
