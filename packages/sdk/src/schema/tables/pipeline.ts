import { col, exchange, marketSymbol, producer, RAW_TTL, ROLLUP_TTLS, symbol, ts, years } from '../columns.js';
import type { TableDef } from '../types.js';

export const FETCH_STATUSES = ['ok', 'error', 'rate_limited', 'timeout', 'blocked'] as const;

export const fetches: TableDef = {
  name: 'tw_fetches',
  group: 'pipeline',
  description: 'One row per data fetch of the pipeline (open interest, funding, ...) with its outcome and latency.',
  timestamp: 'ts',
  columns: [
    ts('When the fetch completed (UTC, microseconds).'),
    ...producer(),
    exchange(),
    symbol('dataset', 'What was fetched, e.g. `open_interest`, `funding_rate`, `liquidations`.', 64, { required: true }),
    marketSymbol(),
    symbol('status', 'Outcome of the fetch.', 8, { required: true, values: [...FETCH_STATUSES] }),
    col('latency_ms', 'FLOAT', 'Request duration.', { unit: 'ms' }),
    col('records', 'INT', 'Records the fetch returned.'),
  ],
  partitionBy: 'DAY',
  // Per-symbol detail, a million rows a day at the reference workload: 90 days raw (cheap once in Parquet, about
  // 4 MB a day), the rollups keep per-exchange counts for years.
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance', 'exchange', 'dataset', 'symbol'],
  rollup: {
    groupBy: ['service', 'exchange', 'dataset', 'status'],
    measures: [
      { name: 'fetches', fn: 'count', description: 'Fetches in the bucket.' },
      { name: 'latency_ms_sum', fn: 'sum', column: 'latency_ms', description: 'Sum of latency (divide by fetches).' },
      { name: 'latency_ms_max', fn: 'max', column: 'latency_ms', description: 'Slowest fetch.' },
      { name: 'records', fn: 'sum', column: 'records', description: 'Records fetched.' },
    ],
    ttl: ROLLUP_TTLS,
  },
};

export const dataGaps: TableDef = {
  name: 'tw_data_gaps',
  group: 'pipeline',
  description: 'Data gaps the pipeline detected: a missed fetch window or a silent stream, with its extent.',
  timestamp: 'ts',
  columns: [
    ts('When the gap was detected (UTC, microseconds).'),
    ...producer(),
    exchange(),
    symbol('dataset', 'Dataset with the gap.', 64, { required: true }),
    marketSymbol(),
    col('gap_start', 'TIMESTAMP', 'First instant without data (UTC).', { required: true }),
    col('gap_end', 'TIMESTAMP', 'First instant with data again (UTC).', { required: true }),
    col('duration_s', 'DOUBLE', 'gap_end − gap_start.', { unit: 's' }),
    col('reason', 'VARCHAR', 'Why the gap happened, when known.'),
  ],
  partitionBy: 'DAY',
  ttl: years(2),
  dedupKeys: ['ts', 'service', 'instance', 'exchange', 'dataset', 'symbol'],
};

export const liquidations: TableDef = {
  name: 'tw_liquidations',
  group: 'pipeline',
  description: 'Liquidation events as received from exchange streams.',
  timestamp: 'ts',
  columns: [
    ts('When the event was received (UTC, microseconds).'),
    ...producer(),
    exchange(),
    marketSymbol(),
    symbol(
      'side',
      'Side of the liquidation order, the same meaning on every exchange: `sell` = a long position was liquidated, `buy` = a short one (the position side is the opposite). Binance `forceOrder` sends this side; Bybit `allLiquidation` sends the position side, which the daemon inverts.',
      4,
      { required: true, values: ['buy', 'sell'] },
    ),
    col('price', 'DOUBLE', "Price as the exchange reports it: Binance the order's price, Bybit the bankruptcy price.", { required: true }),
    col('amount', 'DOUBLE', 'Quantity in contracts or base currency.', { required: true }),
    col('value_usd', 'DOUBLE', 'Notional value (quote currency).', { unit: 'USD' }),
    col('exchange_ts', 'TIMESTAMP', "Event time by the exchange's clock (UTC)."),
  ],
  partitionBy: 'DAY',
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance', 'exchange', 'symbol'],
  rollup: {
    // Per-symbol minutes would rival the raw table in size; per-symbol history lives in the hourly view.
    groupBy: ['exchange', 'symbol', 'side'],
    minuteGroupBy: ['exchange', 'side'],
    measures: [
      { name: 'events', fn: 'count', description: 'Liquidations in the bucket.' },
      { name: 'amount', fn: 'sum', column: 'amount', description: 'Quantity liquidated.' },
      { name: 'value_usd', fn: 'sum', column: 'value_usd', description: 'Notional liquidated.' },
      { name: 'value_usd_max', fn: 'max', column: 'value_usd', description: 'Largest single liquidation.' },
    ],
    ttl: ROLLUP_TTLS,
  },
};
