/**
 * Market dashboard: the market data the pipeline stores, charted for the quant (US6): open interest and its change,
 * funding (and annualised), liquidations by side and notional, for one symbol across the selected exchanges.
 * Short ranges read the raw table; from a 30-minute interval (30 days on a 1000-pixel panel) the hourly rollups
 * serve, since no 1-minute rollup keeps the symbol (sql.ts levels()).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import {
  barGaugePanel,
  dashboardSkeleton,
  queryVariable,
  row,
  singleQueryVariable,
  statPanel,
  tablePanel,
  timeseriesPanel,
} from './panels.js';
import { anyOf, distinctAcross, perUnit, seriesByResolution, tableRef, totalByResolution, viewOf, type Level } from './sql.js';

export const MARKET_UID = 'tradewatch-market';

const openInterest = tableRef(schema.openInterest);
const funding = tableRef(schema.fundingRates);
const liquidations = tableRef(schema.liquidations);

/**
 * Funding periods per year used to annualise a rate: 8-hourly funding (Binance, Bybit and OKX perpetuals by
 * default). The table does not store each market's interval; a 4-hourly market's true figure is twice this.
 */
export const FUNDING_PERIODS_PER_YEAR = (365 * 24) / 8;

const MINUTE_MS = 60_000;

export function marketVariables() {
  const exchange = queryVariable({
    name: 'exchange',
    label: 'Exchange',
    description: 'Exchanges with open interest, funding or liquidations.',
    sql: distinctAcross('exchange', [openInterest, funding, liquidations].map((t) => ({ from: viewOf(t, '1h'), column: t.col('exchange') }))),
  });
  const symbol = singleQueryVariable({
    name: 'symbol',
    label: 'Symbol',
    description: 'One market: every panel shows it on each selected exchange (the liquidation ranking shows all).',
    sql: distinctAcross(
      'symbol',
      [openInterest, funding, liquidations].map((t) => ({ from: viewOf(t, '1h'), column: t.col('symbol'), where: anyOf(t.col('exchange'), 'exchange') })),
    ),
  });
  return [exchange, symbol];
}

/** The selected market on the selected exchanges (the single-value `$symbol` goes into the SQL unquoted). */
const marketFilter = (l: { col(name: string): string }) => [anyOf(l.col('exchange'), 'exchange'), `${l.col('symbol')} = '$symbol'`];
const byExchange = (l: Level) => l.col('exchange');

export function marketDashboard(): dashboard.Dashboard {
  const labels = (t: typeof openInterest) => [t.col('exchange'), t.col('symbol')];
  const oiSeries = (value: 'open_interest' | 'open_interest_value') =>
    seriesByResolution(openInterest, {
      labels: labels(openInterest),
      series: byExchange,
      where: marketFilter,
      raw: (l) => [`last(${l.col(value)}) AS ${value}`],
      rollup: (l) => [`last(${l.m(value)}) AS ${value}`],
    });
  // Change since the range start, per exchange: each bucket's last value minus the first bucket's.
  const oiChange =
    `SELECT time, series, open_interest - first_value(open_interest) OVER (PARTITION BY series ORDER BY time) AS change\n` +
    `FROM (\n${oiSeries('open_interest')}\n) ORDER BY time`;
  const liquidationLabels = [liquidations.col('exchange'), liquidations.col('symbol'), liquidations.col('side')];

  return dashboardSkeleton({
    uid: MARKET_UID,
    title: 'tradewatch / Market',
    description: 'Market data for one symbol across exchanges: open interest and its change, funding (annualised), liquidations.',
    refresh: '1m',
    from: 'now-30d',
    variables: marketVariables(),
  })
    .withRow(row('Open interest'))
    .withPanel(
      timeseriesPanel({
        title: 'Open interest',
        description: 'Open interest of $symbol per exchange (contracts or base currency, as the exchange reports it): the last value of each interval.',
        unit: 'short',
        sql: oiSeries('open_interest'),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Open interest change',
        description: 'Open interest of $symbol minus its value at the start of the range, per exchange: positions opened (up) or closed (down).',
        unit: 'short',
        sql: oiChange,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Open interest notional',
        description: 'Open interest of $symbol in quote currency (USD for USDT/USDC-margined markets), per exchange.',
        unit: 'currencyUSD',
        span: 16,
        sql: oiSeries('open_interest_value'),
      }),
    )
    .withPanel(
      statPanel({
        title: 'Open interest change in range',
        description: 'Last open interest of $symbol in the range against the first, per exchange, in percent.',
        unit: 'percent',
        perRow: true,
        span: 8,
        height: 8,
        thresholds: [
          { value: null, color: 'red' },
          { value: 0, color: 'green' },
        ],
        sql:
          `SELECT ${openInterest.col('exchange')}, (last(${openInterest.col('open_interest')}) - first(${openInterest.col('open_interest')})) * 100.0 / first(${openInterest.col('open_interest')}) AS change_percent\n` +
          `FROM ${openInterest.name}\nWHERE $__timeFilter(${openInterest.ts}) AND ${marketFilter(openInterest).join(' AND ')}\nGROUP BY ${openInterest.col('exchange')} ORDER BY 1`,
      }),
    )
    .withRow(row('Funding'))
    .withPanel(
      timeseriesPanel({
        title: 'Funding rate',
        description: 'Funding rate per funding interval of $symbol per exchange, in percent (the mean of the interval\'s observations).',
        unit: 'percent',
        sql: seriesByResolution(funding, {
          labels: labels(funding),
          series: byExchange,
          where: marketFilter,
          raw: (l) => [`avg(${l.col('funding_rate')}) * 100 AS funding_percent`],
          rollup: (l) => [`sum(${l.m('funding_rate_sum')}) / sum(${l.m('samples')}) * 100 AS funding_percent`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Funding rate, annualised',
        description: `Funding rate of $symbol × ${FUNDING_PERIODS_PER_YEAR} periods a year (8-hourly funding), in percent: what holding the position a year would pay (long pays when positive).`,
        unit: 'percent',
        sql: seriesByResolution(funding, {
          labels: labels(funding),
          series: byExchange,
          where: marketFilter,
          raw: (l) => [`avg(${l.col('funding_rate')}) * ${FUNDING_PERIODS_PER_YEAR * 100} AS funding_apr_percent`],
          rollup: (l) => [`sum(${l.m('funding_rate_sum')}) / sum(${l.m('samples')}) * ${FUNDING_PERIODS_PER_YEAR * 100} AS funding_apr_percent`],
        }),
      }),
    )
    .withRow(row('Liquidations'))
    .withPanel(
      timeseriesPanel({
        title: 'Liquidated notional',
        description: 'Notional of $symbol liquidated per interval, by exchange and side (a `sell` liquidation closes a long).',
        unit: 'currencyUSD',
        stacked: true,
        bars: true,
        span: 16,
        sql: seriesByResolution(liquidations, {
          labels: liquidationLabels,
          series: (l) => `${l.col('exchange')} || ' ' || ${l.col('side')}`,
          where: marketFilter,
          raw: (l) => [`sum(${l.col('value_usd')}) AS value_usd`],
          rollup: (l) => [`sum(${l.m('value_usd')}) AS value_usd`],
        }),
      }),
    )
    .withPanel(
      statPanel({
        title: 'Liquidated in range',
        description: 'Notional of $symbol liquidated in the range, by side (all selected exchanges).',
        unit: 'currencyUSD',
        perRow: true,
        span: 8,
        height: 8,
        sql: totalByResolution(liquidations, {
          labels: liquidationLabels,
          groupBy: [liquidations.col('side')],
          where: marketFilter,
          raw: (l) => [`sum(${l.col('value_usd')}) AS value_usd`],
          rollup: (l) => [`sum(${l.m('value_usd')}) AS value_usd`],
          outer: ['sum(value_usd) AS value_usd'],
          tail: 'ORDER BY side',
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Liquidations / minute',
        description: 'Liquidation events of $symbol per minute, by exchange and side.',
        unit: 'short',
        stacked: true,
        sql: seriesByResolution(liquidations, {
          labels: liquidationLabels,
          series: (l) => `${l.col('exchange')} || ' ' || ${l.col('side')}`,
          where: marketFilter,
          raw: (l) => [`${perUnit('count()', MINUTE_MS, l)} AS events_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('events')})`, MINUTE_MS, l)} AS events_per_min`],
        }),
      }),
    )
    .withPanel(
      barGaugePanel({
        title: 'Most liquidated symbols',
        description: 'Notional liquidated in the range per symbol on the selected exchanges (top 15, every symbol): where to look next.',
        unit: 'currencyUSD',
        sql: totalByResolution(liquidations, {
          labels: [liquidations.col('exchange'), liquidations.col('symbol')],
          groupBy: [liquidations.col('symbol')],
          where: (l) => [anyOf(l.col('exchange'), 'exchange')],
          raw: (l) => [`sum(${l.col('value_usd')}) AS value_usd`],
          rollup: (l) => [`sum(${l.m('value_usd')}) AS value_usd`],
          outer: ['sum(value_usd) AS value_usd'],
          tail: 'ORDER BY value_usd DESC LIMIT 15',
        }),
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Largest liquidations',
        description: 'The 50 largest single liquidations of $symbol in the range.',
        sql:
          `SELECT ${liquidations.ts} AS received, ${liquidations.col('exchange')}, ${liquidations.col('side')}, ${liquidations.col('price')}, ${liquidations.col('amount')}, ${liquidations.col('value_usd')}\n` +
          `FROM ${liquidations.name}\nWHERE $__timeFilter(${liquidations.ts}) AND ${marketFilter(liquidations).join(' AND ')}\n` +
          `ORDER BY ${liquidations.col('value_usd')} DESC LIMIT 50`,
        span: 24,
      }),
    )
    .build();
}
