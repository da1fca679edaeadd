import { col, exchange, HOURLY_ONLY, marketSymbol, RAW_TTL, symbol, ts } from '../columns.js';
import type { TableDef } from '../types.js';

/*
 * Market data the pipeline stores: the series that historical analysis (spec US6) reads. Keyed by the exchange's
 * own timestamp, so fetching the same observation twice stores it once.
 */

const source = () => symbol('service', 'Service that fetched it.', 256);

export const openInterest: TableDef = {
  name: 'tw_open_interest',
  group: 'market',
  description: 'Open interest per exchange and symbol, as fetched.',
  timestamp: 'ts',
  columns: [
    ts("Observation time by the exchange's clock (UTC, microseconds)."),
    exchange(),
    marketSymbol(),
    source(),
    col('open_interest', 'DOUBLE', 'Open interest in contracts or base currency.', { required: true }),
    col('open_interest_value', 'DOUBLE', 'Open interest notional (quote currency).', { unit: 'USD' }),
  ],
  partitionBy: 'DAY',
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'exchange', 'symbol'],
  rollup: {
    groupBy: ['exchange', 'symbol'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Observations in the bucket.' },
      { name: 'open_interest', fn: 'last', column: 'open_interest', description: 'Last open interest.' },
      { name: 'open_interest_min', fn: 'min', column: 'open_interest', description: 'Lowest open interest.' },
      { name: 'open_interest_max', fn: 'max', column: 'open_interest', description: 'Highest open interest.' },
      { name: 'open_interest_value', fn: 'last', column: 'open_interest_value', description: 'Last notional.' },
    ],
    ttl: HOURLY_ONLY,
  },
};

export const fundingRates: TableDef = {
  name: 'tw_funding_rates',
  group: 'market',
  description: 'Funding rates per exchange and symbol, as fetched.',
  timestamp: 'ts',
  columns: [
    ts("Observation time by the exchange's clock (UTC, microseconds)."),
    exchange(),
    marketSymbol(),
    source(),
    col('funding_rate', 'DOUBLE', 'Current (predicted) funding rate per interval.', { required: true }),
    col('mark_price', 'DOUBLE', 'Mark price.'),
    col('index_price', 'DOUBLE', 'Index price.'),
    col('next_funding_ts', 'TIMESTAMP', 'Next funding time (UTC).'),
  ],
  partitionBy: 'DAY',
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'exchange', 'symbol'],
  rollup: {
    groupBy: ['exchange', 'symbol'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Observations in the bucket.' },
      { name: 'funding_rate', fn: 'last', column: 'funding_rate', description: 'Last funding rate.' },
      { name: 'funding_rate_sum', fn: 'sum', column: 'funding_rate', description: 'Sum (divide by samples).' },
      { name: 'mark_price', fn: 'last', column: 'mark_price', description: 'Last mark price.' },
    ],
    ttl: HOURLY_ONLY,
  },
};
