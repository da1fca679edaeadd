/** Trading dashboard: how are the strategies doing right now — PnL, orders, fills, exposure, open orders. */
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import { barGaugePanel, dashboardSkeleton, queryVariable, row, statPanel, tablePanel, timeseriesPanel } from './panels.js';
import { anyOf, perUnit, seriesByResolution, tableRef, totalByResolution, viewOf, type Level } from './sql.js';

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
  const mode = queryVariable({
    name: 'mode',
    label: 'Mode',
    description: 'Live, paper or backtest runs.',
    sql: `SELECT DISTINCT ${pnl.col('mode')} FROM ${hourly} WHERE ${anyOf(pnl.col('strategy'), 'strategy')} ORDER BY 1`,
  });
  const run = queryVariable({
    name: 'run',
    label: 'Run',
    description: 'Runs of the selected strategies and modes active in the range (newest first).',
    // Hourly buckets start up to an hour before the range does.
    sql:
      `SELECT ${pnl.col('run_id')} FROM (\n` +
      `  SELECT ${pnl.col('run_id')}, max(${pnl.ts}) AS last_seen FROM ${hourly}\n` +
      `  WHERE ${pnl.ts} >= dateadd('h', -1, $__fromTime) AND ${pnl.ts} <= $__toTime AND ${anyOf(pnl.col('strategy'), 'strategy')} AND ${anyOf(pnl.col('mode'), 'mode')}\n` +
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
  return [strategy, mode, run, symbol];
}

const runFilters = (l: { col(name: string): string }) => [
  anyOf(l.col('strategy'), 'strategy'),
  anyOf(l.col('mode'), 'mode'),
  anyOf(l.col('run_id'), 'run'),
];
const runLabels = (t: { col(name: string): string }) => [t.col('strategy'), t.col('run_id'), t.col('mode')];
const runSeries = (l: Level) => `${l.col('strategy')} || ' ' || ${l.col('run_id')}`;

export function tradingDashboard(): dashboard.Dashboard {
  const latestPnl = `WHERE $__timeFilter(${pnl.ts}) AND ${runFilters(pnl).join(' AND ')}\nLATEST ON ${pnl.ts} PARTITION BY ${pnl.col('strategy')}, ${pnl.col('run_id')}`;
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
        title: 'PnL now',
        description: 'Realized + unrealized PnL of each run at its latest snapshot.',
        sql: `SELECT ${pnl.col('strategy')} || ' ' || ${pnl.col('run_id')} AS run, ${pnl.col('realized')} + ${pnl.col('unrealized')} AS pnl\nFROM ${pnl.name}\n${latestPnl}`,
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
        sql: `SELECT sum(${pnl.col('open_orders')}) AS open_orders FROM (\nSELECT ${pnl.col('open_orders')}\nFROM ${pnl.name}\n${latestPnl}\n)`,
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
        title: 'PnL',
        description: 'Realized + unrealized PnL per run, and its realized part.',
        span: 24,
        sql: seriesByResolution(pnl, {
          labels: runLabels(pnl),
          series: runSeries,
          where: runFilters,
          raw: (l) => [`last(${l.col('realized')}) + last(${l.col('unrealized')}) AS pnl`, `last(${l.col('realized')}) AS realized`],
          rollup: (l) => [`last(${l.m('realized')}) + last(${l.m('unrealized')}) AS pnl`, `last(${l.m('realized')}) AS realized`],
        }),
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
          raw: () => [`${perUnit('count()', MINUTE_MS)} AS orders_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('orders')})`, MINUTE_MS)} AS orders_per_min`],
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
          raw: () => [`${perUnit('count()', MINUTE_MS)} AS fills_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('fills')})`, MINUTE_MS)} AS fills_per_min`],
        }),
      }),
    )
    .withRow(row('Positions'))
    .withPanel(
      barGaugePanel({
        title: 'Position exposure',
        description: 'Signed notional exposure per symbol (summed over the selected runs) at the latest snapshots.',
        unit: 'currencyUSD',
        sql:
          `SELECT ${positions.col('symbol')}, sum(${positions.col('exposure')}) AS exposure FROM (\n` +
          `  SELECT ${positions.col('symbol')}, ${positions.col('exposure')}, ${positions.col('quantity')}\n  FROM ${positions.name}\n` +
          `  WHERE $__timeFilter(${positions.ts}) AND ${[...runFilters(positions), anyOf(positions.col('symbol'), 'symbol')].join(' AND ')}\n` +
          `  LATEST ON ${positions.ts} PARTITION BY ${positions.col('strategy')}, ${positions.col('run_id')}, ${positions.col('exchange')}, ${positions.col('symbol')}\n` +
          `) WHERE ${positions.col('quantity')} != 0 GROUP BY ${positions.col('symbol')} ORDER BY ${positions.col('symbol')}`,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Open positions',
        description: 'Every non-flat position of the selected runs at its latest snapshot.',
        span: 12,
        sql:
          `SELECT * FROM (\n` +
          `  SELECT ${positions.col('strategy')}, ${positions.col('run_id')}, ${positions.col('exchange')}, ${positions.col('symbol')}, ${positions.col('quantity')},\n` +
          `    ${positions.col('entry_price')}, ${positions.col('mark_price')}, ${positions.col('exposure')}, ${positions.col('unrealized')}, ${positions.ts} AS updated\n` +
          `  FROM ${positions.name}\n` +
          `  WHERE $__timeFilter(${positions.ts}) AND ${[...runFilters(positions), anyOf(positions.col('symbol'), 'symbol')].join(' AND ')}\n` +
          `  LATEST ON ${positions.ts} PARTITION BY ${positions.col('strategy')}, ${positions.col('run_id')}, ${positions.col('exchange')}, ${positions.col('symbol')}\n` +
          `) WHERE ${positions.col('quantity')} != 0`,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Exposure',
        description: 'Gross exposure (sum of absolute position notionals) per run.',
        unit: 'currencyUSD',
        span: 24,
        sql: seriesByResolution(pnl, {
          labels: runLabels(pnl),
          series: runSeries,
          where: runFilters,
          raw: (l) => [`last(${l.col('gross_exposure')}) AS gross_exposure`],
          rollup: (l) => [`last(${l.m('gross_exposure')}) AS gross_exposure`],
        }),
      }),
    )
    .build();
}
