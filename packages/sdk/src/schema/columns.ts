import type { ColumnDef, ColumnType, Ttl } from './types.js';

/** Small constructors so table files read like a schema, not like object literals. */
export function col(name: string, type: ColumnType, description: string, extra: Partial<ColumnDef> = {}): ColumnDef {
  return { name, type, description, ...extra };
}

export const ts = (description = 'Event time (UTC, microseconds); unique per producing process instance.'): ColumnDef =>
  col('ts', 'TIMESTAMP', description, { required: true });

export const symbol = (name: string, description: string, symbolCapacity = 256, extra: Partial<ColumnDef> = {}) =>
  col(name, 'SYMBOL', description, { symbolCapacity, ...extra });

/** Every row names the process that produced it: the service, and the instance (host or replica). */
export const producer = (): ColumnDef[] => [
  symbol('service', 'Logical service name, e.g. `ccxt-daemon`.', 256, { required: true }),
  symbol('instance', 'Instance of the service (host name or replica id).', 256, { required: true }),
];

export const exchange = (required = true) =>
  symbol('exchange', 'Exchange id as ccxt names it, e.g. `binanceusdm`, `bybit`.', 128, { required });

export const marketSymbol = (required = true) =>
  symbol('symbol', 'Unified market symbol as ccxt names it, e.g. `BTC/USDT:USDT`.', 8192, { required });

/** Strategy identity: live, paper and backtest runs share every trading table and are told apart by these. */
export const strategyLabels = (): ColumnDef[] => [
  symbol('strategy', 'Strategy name.', 1024, { required: true }),
  symbol('run_id', 'One run of a strategy (a live deployment or one backtest).', 16384, { required: true }),
  symbol('mode', 'How the strategy trades.', 8, { required: true, values: ['live', 'paper', 'backtest'] }),
];

export const days = (value: number): Ttl => ({ value, unit: 'DAYS' });
export const months = (value: number): Ttl => ({ value, unit: 'MONTHS' });
export const years = (value: number): Ttl => ({ value, unit: 'YEARS' });

/** Retention tiers: raw detail for the 90 days the spec asks, 1-minute rollups for a year, hourly for five. */
export const RAW_TTL = days(90);
export const SHORT_RAW_TTL = days(30);
export const ROLLUP_1M_TTL = years(1);
export const ROLLUP_1H_TTL = years(5);
export const ROLLUP_TTLS = { '1m': ROLLUP_1M_TTL, '1h': ROLLUP_1H_TTL } as const;
/** For series sampled every 30 s or slower, where a 1-minute view would hold as many rows as the raw table. */
export const HOURLY_ONLY = { '1h': ROLLUP_1H_TTL } as const;
