/** Trading dashboard: how are the strategies doing right now — PnL, orders, fills, exposure, open orders. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import {
  barGaugePanel,
  customVariable,
  dashboardSkeleton,
  queryVariable,
  row,
  singleQueryVariable,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from './panels.js';
import { anyOf, measureOf, perUnit, seriesByResolution, tableRef, totalByResolution, viewOf, type Level } from './sql.js';

export const TRADING_UID = 'tradewatch-trading';

const pnl = tableRef(schema.strategyPnl);
const orders = tableRef(schema.orders);
const fills = tableRef(schema.fills);
const positions = tableRef(schema.positions);

const MINUTE_MS = 60_000;

export function tradingVariables() {
  const hourly = viewOf(pnl, '1h');
  const strategy = queryVariable({
    name: 'strategy',
    label: 'Strategy',
    description: 'Strategies that reported PnL.',
    sql: `SELECT DISTINCT ${pnl.col('strategy')} FROM ${hourly} ORDER BY 1`,
  });
  // Live by default: paper and backtest runs are chosen on purpose, never mixed into live exposure by accident.
  const mode = customVariable({
    name: 'mode',
    label: 'Mode',
    description: 'Live (default), paper or backtest runs; several can be selected.',
    options: pnl.def.columns.find((c) => c.name === 'mode')!.values!,
    multi: true,
  });
  const currency = singleQueryVariable({
    name: 'currency',
    label: 'Currency',
    description: 'Currency of PnL and notional: panels with amounts show the runs that report in it (`n/a`: runs that report none).',
    // Distinct currencies first (a group-by on the symbol's key), `n/a` for none after: coalesce() on every row
    // would compare strings row by row.
    sql:
      `SELECT DISTINCT ${CURRENCY} AS currency FROM (\n` +
      `  SELECT DISTINCT ${pnl.col('currency')} FROM ${pnl.name}\n` +
      `  WHERE $__timeFilter(${pnl.ts}) AND ${anyOf(pnl.col('strategy'), 'strategy')} AND ${pnl.col('mode')} IN ($mode)\n) ORDER BY 1`,
    perRange: true,
  });
  const run = queryVariable({
    name: 'run',
    label: 'Run',
    description: 'Runs of the selected strategies and modes active in the range (newest first).',
    // Hourly buckets start up to an hour before the range does.
    sql:
      `SELECT ${pnl.col('run_id')} FROM (\n` +
      `  SELECT ${pnl.col('run_id')}, max(${pnl.ts}) AS last_seen FROM ${hourly}\n` +
      `  WHERE ${pnl.ts} >= dateadd('h', -1, $__fromTime) AND ${pnl.ts} <= $__toTime AND ${anyOf(pnl.col('strategy'), 'strategy')} AND ${pnl.col('mode')} IN ($mode)\n` +
      `  GROUP BY ${pnl.col('run_id')}\n) ORDER BY last_seen DESC`,
    perRange: true,
  }).sort(dashboard.VariableSort.Disabled);
  const symbol = queryVariable({
    name: 'symbol',
    label: 'Symbol',
    description: 'Symbols with positions of the selected runs in the range.',
    sql:
      `SELECT DISTINCT ${positions.col('symbol')} FROM ${positions.name}\n` +
      `WHERE $__timeFilter(${positions.ts}) AND ${anyOf(positions.col('strategy'), 'strategy')} AND ${anyOf(positions.col('run_id'), 'run')}\nORDER BY 1`,
    perRange: true,
  });
  return [strategy, mode, run, currency, symbol];
}

/** The run's reporting currency as the `currency` variable lists it. */
const CURRENCY = `coalesce(${pnl.col('currency')}, 'n/a')`;
/**
 * A PnL row in `$currency` (`n/a`: no currency), written as comparisons of the symbol column itself: QuestDB
 * compiles them to key comparisons in its JIT filter, where `coalesce(...) = '$currency'` compares strings row by
 * row (the currency filter reads every PnL row of the range, so this is most of its cost).
 */
export const IS_CURRENCY = `(${pnl.col('currency')} = '$currency' OR ${pnl.col('currency')} IS NULL AND '$currency' = 'n/a')`;

/**
 * Runs of the selected strategies and modes that reported PnL in `$currency` within the range: amounts of
 * different currencies are never summed or drawn on one axis, and runs that stopped before the range are left out
 * (their last positions would otherwise be carried forward for ever).
 */
const runsInCurrencySql = () =>
  `SELECT DISTINCT ${pnl.col('run_id')} FROM ${pnl.name} WHERE $__timeFilter(${pnl.ts}) AND ${IS_CURRENCY}` +
  ` AND ${anyOf(pnl.col('strategy'), 'strategy')} AND ${pnl.col('mode')} IN ($mode)`;
const inCurrency = (l: { col(name: string): string }) => `${l.col('run_id')} IN (${runsInCurrencySql()})`;

const runFilters = (l: { col(name: string): string }) => [
  anyOf(l.col('strategy'), 'strategy'),
  `${l.col('mode')} IN ($mode)`,
  anyOf(l.col('run_id'), 'run'),
];
/** The run filters plus the currency: for panels that show amounts. */
const amountFilters = (l: { col(name: string): string }) => [...runFilters(l), inCurrency(l)];
const runLabels = (t: { col(name: string): string }) => [t.col('strategy'), t.col('run_id'), t.col('mode')];
const runSeries = (l: Level) => `${l.col('strategy')} || ' ' || ${l.col('run_id')}`;

export function tradingDashboard(): dashboard.Dashboard {
  // The currency filter (a run_id IN subquery) is applied outside LATEST ON, never beside it: QuestDB 9.3.4 fails
  // every second run of a cached query that has both ("Cannot invoke Function.init"), and Grafana re-runs the same
  // SQL on every refresh. It is a per-run filter, so filtering the latest rows gives the same answer.
  const latestPnl = `(\n${latestRunSnapshotsSql()}\n) s\nJOIN (${runsInCurrencySql()}) c ON s.${pnl.col('run_id')} = c.${pnl.col('run_id')}`;
  // Each position's latest snapshot up to the range end (not only inside the range): a position not re-reported
  // in a short range is still held. Only runs alive in the range (they reported PnL in it) are carried forward.
  const heldPositions = `(\n${latestPositionsSql()}\n) p\nJOIN (${runsInCurrencySql()}) c ON p.${positions.col('run_id')} = c.${pnl.col('run_id')}\nWHERE p.${positions.col('quantity')} != 0`;
  const newOrder = orders.lit('status', 'new');
  const filledOrder = orders.lit('status', 'filled');

  return dashboardSkeleton({
    uid: TRADING_UID,
    title: 'tradewatch / Trading',
    description: 'Live strategy performance: PnL, orders, fills, exposure and open orders per run.',
    refresh: '5s',
    from: 'now-1h',
    variables: tradingVariables(),
  })
    .withRow(row('PnL'))
    .withPanel(
      statPanel({
        title: 'PnL now ($currency)',
        description: 'Realized + unrealized PnL of each run at its latest snapshot in the range, in $currency.',
        sql: `SELECT s.${pnl.col('strategy')} || ' ' || s.${pnl.col('run_id')} AS run, s.${pnl.col('realized')} + s.${pnl.col('unrealized')} AS pnl\nFROM ${latestPnl}`,
        perRow: true,
        thresholds: [
          { value: null, color: 'red' },
          { value: 0, color: 'green' },
        ],
        span: 12,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Open orders',
        description: 'Orders open across the selected runs at their latest snapshots.',
        sql: `SELECT sum(s.${pnl.col('open_orders')}) AS open_orders FROM ${latestPnl}`,
        span: 6,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Fill rate',
        description: 'Orders filled / orders placed in the range.',
        unit: 'percent',
        sql: totalByResolution(orders, {
          labels: [...runLabels(orders), orders.col('status')],
          where: (l) => [...runFilters(l), `${l.col('status')} IN (${newOrder}, ${filledOrder})`],
          raw: (l) => [
            `sum(CASE WHEN ${l.col('status')} = ${filledOrder} THEN 1 ELSE 0 END) AS filled`,
            `sum(CASE WHEN ${l.col('status')} = ${newOrder} THEN 1 ELSE 0 END) AS placed`,
          ],
          rollup: (l) => [
            `sum(CASE WHEN ${l.col('status')} = ${filledOrder} THEN ${l.m('orders')} ELSE 0 END) AS filled`,
            `sum(CASE WHEN ${l.col('status')} = ${newOrder} THEN ${l.m('orders')} ELSE 0 END) AS placed`,
          ],
          outer: ['CASE WHEN sum(placed) > 0 THEN sum(filled) * 100.0 / sum(placed) END AS fill_rate'],
        }),
        noValue: 'no orders',
        span: 6,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'PnL ($currency)',
        description: 'Realized + unrealized PnL per run, and its realized part, in $currency: the PnL curves of the selected runs side by side.',
        unit: 'short',
        span: 12,
        sql: seriesByResolution(pnl, {
          labels: runLabels(pnl),
          series: runSeries,
          where: amountFilters,
          raw: (l) => [`last(${l.col('realized')}) + last(${l.col('unrealized')}) AS pnl`, `last(${l.col('realized')}) AS realized`],
          rollup: (l) => [`last(${l.m('realized')}) + last(${l.m('unrealized')}) AS pnl`, `last(${l.m('realized')}) AS realized`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Drawdown ($currency)',
        description: 'Equity below its running peak within the range, per run, in $currency (0 at a new high).',
        unit: 'short',
        span: 12,
        sql: drawdownSql(),
      }),
    )
    .withRow(row('Orders'))
    .withPanel(
      timeseriesPanel({
        title: 'Orders / minute',
        description: 'Orders placed per minute per run.',
        unit: 'short',
        bars: true,
        sql: seriesByResolution(orders, {
          labels: [...runLabels(orders), orders.col('status')],
          series: runSeries,
          where: (l) => [...runFilters(l), `${l.col('status')} = ${newOrder}`],
          raw: (l) => [`${perUnit('count()', MINUTE_MS, l)} AS orders_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('orders')})`, MINUTE_MS, l)} AS orders_per_min`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Fills / minute',
        description: 'Executions per minute per run.',
        unit: 'short',
        bars: true,
        sql: seriesByResolution(fills, {
          labels: runLabels(fills),
          series: runSeries,
          where: runFilters,
          raw: (l) => [`${perUnit('count()', MINUTE_MS, l)} AS fills_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('fills')})`, MINUTE_MS, l)} AS fills_per_min`],
        }),
      }),
    )
    .withRow(row('Positions'))
    .withPanel(
      barGaugePanel({
        title: 'Position exposure ($currency)',
        description: 'Signed notional exposure per symbol (summed over the selected runs) at each position\'s latest snapshot up to the range end, in $currency.',
        unit: 'short',
        sql: `SELECT p.${positions.col('symbol')} AS symbol, sum(p.${positions.col('exposure')}) AS exposure FROM ${heldPositions}\nGROUP BY p.${positions.col('symbol')} ORDER BY symbol`,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Open positions',
        description: 'Every non-flat position of the selected runs at its latest snapshot up to the range end; amounts in $currency.',
        span: 12,
        sql:
          `SELECT ${[...OPEN_POSITION_COLUMNS.map((c) => `p.${positions.col(c)}`), `p.updated`].join(', ')}\n` +
          `FROM ${heldPositions}\nORDER BY p.${positions.col('strategy')}, p.${positions.col('run_id')}, p.${positions.col('exchange')}, p.${positions.col('symbol')}`,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Gross exposure ($currency)',
        description: 'Gross exposure (sum of absolute position notionals) per run, in $currency.',
        unit: 'short',
        span: 24,
        sql: seriesByResolution(pnl, {
          labels: runLabels(pnl),
          series: runSeries,
          where: amountFilters,
          raw: (l) => [`last(${l.col('gross_exposure')}) AS gross_exposure`],
          rollup: (l) => [`last(${l.m('gross_exposure')}) AS gross_exposure`],
        }),
      }),
    )
    .withRow(row('Run comparison'))
    .withPanel(
      tablePanel({
        title: 'Runs side by side',
        description:
          'Each selected run in the range (choose mode `backtest` to compare backtests): PnL at its last snapshot, worst drawdown, fills, traded quantity and fees, at 1-minute resolution; amounts in $currency.',
        sql: runComparisonSql(),
      }),
    )
    .build();
}

/**
 * Each selected run's latest PnL snapshot in the range (strategy, run_id, realized, unrealized, open_orders),
 * without scanning the range: LATEST ON over two columns cannot stop early, so over 30 days it read every snapshot.
 * The range is cut in three, each part at most an hour of raw rows or the hourly rollup:
 * - the first partial hour, raw: [from, the next hour);
 * - the complete hours after it, up to two hours before the range end's hour, from `tw_strategy_pnl_1h`, whose
 *   `last` measures are the bucket's last snapshot (its ts is the bucket start, after every head row and before
 *   every tail row, so the latest row per run is the one with the largest ts);
 * - the last one to two hours, raw: [the range end's hour − 1 h, to] (the hour before the current one too, so a
 *   rollup refresh that lags the raw table never hides a snapshot).
 * Together they cover the range exactly once per row, so the result is the same as LATEST ON over the range.
 */
function latestRunSnapshotsSql(): string {
  const hourly = viewOf(pnl, '1h');
  const keys = `${pnl.col('strategy')}, ${pnl.col('run_id')}`;
  const values = `${pnl.ts}, ${keys}, ${pnl.col('realized')}, ${pnl.col('unrealized')}, ${pnl.col('open_orders')}`;
  const filters = runFilters(pnl).join(' AND ');
  const headEnd = `dateadd('h', 1, timestamp_floor('h', $__fromTime))`;
  const endHour = `timestamp_floor('h', $__toTime)`;
  const part = (from: string, where: string) => `      SELECT ${values} FROM ${from}\n      WHERE ${where} AND ${filters}\n      LATEST ON ${pnl.ts} PARTITION BY ${keys}`;
  const parts = [
    part(pnl.name, `$__timeFilter(${pnl.ts}) AND ${pnl.ts} < ${headEnd}`),
    part(hourly, `${pnl.ts} >= ${headEnd} AND ${pnl.ts} <= dateadd('h', -2, ${endHour})`),
    part(pnl.name, `$__timeFilter(${pnl.ts}) AND ${pnl.ts} >= dateadd('h', -1, ${endHour})`),
  ];
  return (
    `  SELECT ${keys}, ${pnl.col('realized')}, ${pnl.col('unrealized')}, ${pnl.col('open_orders')} FROM (\n` +
    `    SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY ${pnl.ts} DESC) AS newest FROM (\n` +
    `${parts.map((p) => `    SELECT * FROM (\n${p}\n    )`).join('\n    UNION ALL\n')}\n` +
    `    )\n  ) WHERE newest = 1`
  );
}

const OPEN_POSITION_COLUMNS = ['strategy', 'run_id', 'exchange', 'symbol', 'quantity', 'entry_price', 'mark_price', 'exposure', 'unrealized'] as const;

/**
 * Each position's latest snapshot up to the range end, however old (strategy, run_id, exchange, symbol, sizes and
 * prices, `updated` = its time), without scanning every snapshot ever written (LATEST ON over four columns cannot
 * stop early, and positions are kept ten years): complete hours up to two hours before the range end's hour from
 * `tw_positions_1h` (its `last` measures are the bucket's last snapshot, `updated` its time), the last one to two
 * hours raw (a lagging rollup refresh never hides a snapshot). The bucket's ts (its start) is before every raw row
 * of the tail, so the latest row per position is the one with the largest ts: the same as LATEST ON up to the end.
 */
function latestPositionsSql(): string {
  const hourly = viewOf(positions, '1h');
  const keyColumns: readonly string[] = ['strategy', 'run_id', 'exchange', 'symbol'];
  const keys = keyColumns.map((c) => positions.col(c)).join(', ');
  const values = OPEN_POSITION_COLUMNS.filter((c) => !keyColumns.includes(c)).map((c) => positions.col(c));
  const filters = [...runFilters(positions), anyOf(positions.col('symbol'), 'symbol')].join(' AND ');
  const endHour = `timestamp_floor('h', $__toTime)`;
  const part = (from: string, updated: string, where: string) =>
    `      SELECT ${positions.ts}, ${keys}, ${values.join(', ')}, ${updated} AS updated FROM ${from}\n      WHERE ${where} AND ${filters}\n      LATEST ON ${positions.ts} PARTITION BY ${keys}`;
  const parts = [
    part(hourly, measureOf(positions, 'updated'), `${positions.ts} <= dateadd('h', -2, ${endHour})`),
    part(positions.name, positions.ts, `${positions.ts} >= dateadd('h', -1, ${endHour}) AND ${positions.ts} <= $__toTime`),
  ];
  return (
    `  SELECT ${keys}, ${values.join(', ')}, updated FROM (\n` +
    `    SELECT *, row_number() OVER (PARTITION BY ${keys} ORDER BY ${positions.ts} DESC) AS newest FROM (\n` +
    `${parts.map((p) => `    SELECT * FROM (\n${p}\n    )`).join('\n    UNION ALL\n')}\n` +
    `    )\n  ) WHERE newest = 1`
  );
}

/** Per run: equity's lowest point below the running peak of its highest, bucket by bucket (long format). */
function drawdownSql(): string {
  const series = seriesByResolution(pnl, {
    labels: runLabels(pnl),
    series: runSeries,
    where: amountFilters,
    raw: (l) => [`min(${l.col('equity')}) AS low`, `max(${l.col('equity')}) AS high`],
    rollup: (l) => [`min(${l.m('equity_min')}) AS low`, `max(${l.m('equity_max')}) AS high`],
  });
  return (
    `SELECT time, series, low - max(high) OVER (PARTITION BY series ORDER BY time ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS drawdown\n` +
    `FROM (\n${series}\n) ORDER BY time`
  );
}

/**
 * One row per run: PnL, drawdown, fills and fees over the range, from the 1-minute rollups. The currency filter is
 * one join on the runs (it reads the raw PnL rows of the range): the drawdown and fills parts join those runs only.
 */
function runComparisonSql(): string {
  const pnlMinute = viewOf(pnl, '1m');
  const fillsMinute = viewOf(fills, '1m');
  const where = (t: { col(name: string): string; ts: string }) => `$__timeFilter(${t.ts}) AND ${runFilters(t).join(' AND ')}`;
  return (
    `SELECT p.strategy, p.run_id, p.mode, '$currency' AS currency, p.first_seen, p.last_seen, p.pnl, d.max_drawdown,\n` +
    `  coalesce(f.fills, 0) AS fills, coalesce(f.amount, 0) AS traded, coalesce(f.fees, 0) AS fees\n` +
    `FROM (\n` +
    `  SELECT ${pnl.col('strategy')} AS strategy, ${pnl.col('run_id')} AS run_id, ${pnl.col('mode')} AS mode, min(${pnl.ts}) AS first_seen, max(${pnl.ts}) AS last_seen,\n` +
    `    last(${measureOf(pnl, 'realized')}) + last(${measureOf(pnl, 'unrealized')}) AS pnl\n` +
    `  FROM ${pnlMinute} WHERE ${where(pnl)}\n` +
    `  GROUP BY ${pnl.col('strategy')}, ${pnl.col('run_id')}, ${pnl.col('mode')}\n` +
    `) p\n` +
    `JOIN (${runsInCurrencySql()}) c ON p.run_id = c.${pnl.col('run_id')}\n` +
    `LEFT JOIN (\n` +
    `  SELECT run_id, max(peak - low) AS max_drawdown FROM (\n` +
    `    SELECT ${pnl.col('run_id')} AS run_id, ${measureOf(pnl, 'equity_min')} AS low,\n` +
    `      max(${measureOf(pnl, 'equity_max')}) OVER (PARTITION BY ${pnl.col('run_id')} ORDER BY ${pnl.ts} ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS peak\n` +
    `    FROM ${pnlMinute} WHERE ${where(pnl)}\n` +
    `  ) GROUP BY run_id\n` +
    `) d ON p.run_id = d.run_id\n` +
    `LEFT JOIN (\n` +
    `  SELECT ${fills.col('run_id')} AS run_id, sum(${measureOf(fills, 'fills')}) AS fills, sum(${measureOf(fills, 'amount')}) AS amount, sum(${measureOf(fills, 'fee')}) AS fees\n` +
    `  FROM ${fillsMinute} WHERE ${where(fills)}\n` +
    `  GROUP BY ${fills.col('run_id')}\n` +
    `) f ON p.run_id = f.run_id\n` +
    `ORDER BY p.pnl DESC`
  );
}
