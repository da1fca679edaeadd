import { col, exchange, marketSymbol, producer, strategyLabels, symbol, ts, years } from '../columns.js';
import type { TableDef } from '../types.js';

/*
 * Trading tables serve live, paper and backtest runs alike. Backtests post simulated time, where several orders
 * or fills can share one timestamp, so each dedup key includes the entity's own id.
 * QuestDB's TTL drops partitions older than min(now, newest row) − TTL, so a 90-day TTL would delete a backtest
 * over last year's data the moment it lands. Trading volume is small next to pipeline metrics, so these tables
 * keep ten years: every backtest over crypto's history stays queryable.
 */
const TRADING_TTL = years(10);
const TRADING_ROLLUP_TTLS = { '1m': TRADING_TTL, '1h': TRADING_TTL } as const;

export const ORDER_STATUSES = ['new', 'open', 'partially_filled', 'filled', 'canceled', 'rejected', 'expired'] as const;
export const SIDES = ['buy', 'sell'] as const;

const trader = () => [...strategyLabels(), ...producer().map((c) => ({ ...c, required: false }))];

export const strategyPnl: TableDef = {
  name: 'tw_strategy_pnl',
  group: 'trading',
  description: 'PnL snapshots per strategy run: realized, unrealized, equity, exposure and open orders.',
  timestamp: 'ts',
  columns: [
    ts('Snapshot time (UTC, microseconds); simulated time for backtests.'),
    ...trader(),
    symbol('currency', 'Currency of the amounts, e.g. `USDT`.', 64),
    col('realized', 'DOUBLE', 'Realized PnL since the run started.', { required: true }),
    col('unrealized', 'DOUBLE', 'Unrealized PnL of open positions.', { required: true }),
    col('equity', 'DOUBLE', 'Account equity.'),
    col('gross_exposure', 'DOUBLE', 'Sum of absolute position notionals.'),
    col('open_orders', 'INT', 'Orders open at snapshot time.'),
  ],
  partitionBy: 'DAY',
  ttl: TRADING_TTL,
  dedupKeys: ['ts', 'strategy', 'run_id'],
  rollup: {
    groupBy: ['strategy', 'run_id', 'mode'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Snapshots in the bucket.' },
      { name: 'realized', fn: 'last', column: 'realized', description: 'Realized PnL at the end of the bucket.' },
      { name: 'unrealized', fn: 'last', column: 'unrealized', description: 'Unrealized PnL at the end of the bucket.' },
      { name: 'equity', fn: 'last', column: 'equity', description: 'Equity at the end of the bucket.' },
      { name: 'equity_min', fn: 'min', column: 'equity', description: 'Lowest equity (drawdown).' },
      { name: 'equity_max', fn: 'max', column: 'equity', description: 'Highest equity.' },
      { name: 'gross_exposure', fn: 'last', column: 'gross_exposure', description: 'Exposure at the end.' },
      { name: 'open_orders', fn: 'last', column: 'open_orders', description: 'Open orders at the end.' },
    ],
    ttl: TRADING_ROLLUP_TTLS,
  },
};

export const orders: TableDef = {
  name: 'tw_orders',
  group: 'trading',
  description: 'Order lifecycle: one row per state change of an order (new, open, filled, canceled, rejected, ...).',
  timestamp: 'ts',
  columns: [
    ts('Time of the state change (UTC, microseconds).'),
    ...trader(),
    exchange(),
    marketSymbol(),
    col('order_id', 'VARCHAR', 'Exchange order id (or client id before the exchange assigns one).', { required: true }),
    symbol('side', 'Order side.', 4, { required: true, values: [...SIDES] }),
    symbol('type', 'Order type, e.g. `limit`, `market`.', 32),
    symbol('status', 'State the order entered.', 16, { required: true, values: [...ORDER_STATUSES] }),
    col('price', 'DOUBLE', 'Limit price (empty for market orders).'),
    col('amount', 'DOUBLE', 'Ordered quantity.'),
    col('filled', 'DOUBLE', 'Quantity filled so far.'),
    col('reason', 'VARCHAR', 'Reject or cancel reason, when known.'),
  ],
  partitionBy: 'DAY',
  ttl: TRADING_TTL,
  dedupKeys: ['ts', 'strategy', 'run_id', 'order_id', 'status'],
  rollup: {
    groupBy: ['strategy', 'run_id', 'mode', 'exchange', 'status'],
    measures: [{ name: 'orders', fn: 'count', description: 'Order state changes in the bucket.' }],
    ttl: TRADING_ROLLUP_TTLS,
  },
};

export const fills: TableDef = {
  name: 'tw_fills',
  group: 'trading',
  description: 'Executions (trades) of orders.',
  timestamp: 'ts',
  columns: [
    ts('Execution time (UTC, microseconds).'),
    ...trader(),
    exchange(),
    marketSymbol(),
    col('order_id', 'VARCHAR', 'Order the fill belongs to.', { required: true }),
    col('fill_id', 'VARCHAR', 'Exchange trade id.', { required: true }),
    symbol('side', 'Side.', 4, { required: true, values: [...SIDES] }),
    col('price', 'DOUBLE', 'Execution price.', { required: true }),
    col('amount', 'DOUBLE', 'Executed quantity.', { required: true }),
    col('fee', 'DOUBLE', 'Fee paid (negative for rebates).'),
    symbol('fee_currency', 'Currency of the fee.', 64),
    symbol('liquidity', 'Maker or taker.', 8, { values: ['maker', 'taker'] }),
  ],
  partitionBy: 'DAY',
  ttl: TRADING_TTL,
  dedupKeys: ['ts', 'strategy', 'run_id', 'fill_id'],
  rollup: {
    groupBy: ['strategy', 'run_id', 'mode', 'exchange'],
    measures: [
      { name: 'fills', fn: 'count', description: 'Fills in the bucket.' },
      { name: 'amount', fn: 'sum', column: 'amount', description: 'Quantity executed.' },
      { name: 'fee', fn: 'sum', column: 'fee', description: 'Fees paid.' },
    ],
    ttl: TRADING_ROLLUP_TTLS,
  },
};

export const positions: TableDef = {
  name: 'tw_positions',
  group: 'trading',
  description: 'Position snapshots per strategy run and symbol: size, prices and exposure.',
  timestamp: 'ts',
  columns: [
    ts('Snapshot time (UTC, microseconds).'),
    ...trader(),
    exchange(),
    marketSymbol(),
    col('quantity', 'DOUBLE', 'Signed position size (negative = short).', { required: true }),
    col('entry_price', 'DOUBLE', 'Average entry price.'),
    col('mark_price', 'DOUBLE', 'Mark price at snapshot time.'),
    col('exposure', 'DOUBLE', 'Signed notional exposure (quantity × mark price).', { unit: 'USD' }),
    col('unrealized', 'DOUBLE', 'Unrealized PnL of the position.'),
  ],
  partitionBy: 'DAY',
  ttl: TRADING_TTL,
  dedupKeys: ['ts', 'strategy', 'run_id', 'exchange', 'symbol'],
  // Hourly only: the Trading dashboard carries each position forward from its latest snapshot, however old, and the
  // hourly view answers that from one row per position and hour instead of a scan of every snapshot ever written.
  rollup: {
    groupBy: ['strategy', 'run_id', 'mode', 'exchange', 'symbol'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Snapshots in the bucket.' },
      { name: 'updated', fn: 'max', column: 'ts', description: 'Time of the last snapshot in the bucket.' },
      { name: 'quantity', fn: 'last', column: 'quantity', description: 'Position size at the last snapshot.' },
      { name: 'entry_price', fn: 'last', column: 'entry_price', description: 'Entry price at the last snapshot.' },
      { name: 'mark_price', fn: 'last', column: 'mark_price', description: 'Mark price at the last snapshot.' },
      { name: 'exposure', fn: 'last', column: 'exposure', description: 'Exposure at the last snapshot.' },
      { name: 'unrealized', fn: 'last', column: 'unrealized', description: 'Unrealized PnL at the last snapshot.' },
    ],
    ttl: { '1h': TRADING_TTL },
  },
};
