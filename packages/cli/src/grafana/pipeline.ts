/** Pipeline dashboard: is the data pipeline fetching what it should, where are the gaps, how much does it store? */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema, tables, views } from '@tradewatch/sdk/schema';
import {
  barGaugePanel,
  collapsedRow,
  dashboardSkeleton,
  queryVariable,
  row,
  stateTimelinePanel,
  statPanel,
  tablePanel,
  thresholdsUpTo,
  timeseriesPanel,
  valueMappings,
} from './panels.js';
import { anyOf, distinctAcross, perUnit, seriesByResolution, tableRef, totalByResolution, viewOf } from './sql.js';

export const PIPELINE_UID = 'tradewatch-pipeline';

const fetches = tableRef(schema.fetches);
const gaps = tableRef(schema.dataGaps);
const liquidations = tableRef(schema.liquidations);
const openInterest = tableRef(schema.openInterest);
const fundingRates = tableRef(schema.fundingRates);
const storage = tableRef(schema.storageSize);

/**
 * `tw_fetches.dataset` is an open vocabulary; these are the names the SDK's market-data counters, the reference
 * daemon and the demo producer use for the two fetch loops the spec asks about.
 */
export const DATASETS = { openInterest: 'open_interest', fundingRate: 'funding_rate' } as const;

const HOUR_MS = 3_600_000;
const MINUTE_MS = 60_000;

export function pipelineVariables() {
  const service = queryVariable({
    name: 'service',
    label: 'Service',
    description: 'Services that reported fetches.',
    sql: `SELECT DISTINCT ${fetches.col('service')} FROM ${viewOf(fetches, '1h')} ORDER BY 1`,
  });
  const exchange = queryVariable({
    name: 'exchange',
    label: 'Exchange',
    description: 'Exchanges seen in fetches or liquidations.',
    sql: distinctAcross('exchange', [
      { from: viewOf(fetches, '1h'), column: fetches.col('exchange'), where: anyOf(fetches.col('service'), 'service') },
      { from: viewOf(liquidations, '1h'), column: liquidations.col('exchange') },
    ]),
  });
  const symbol = queryVariable({
    name: 'symbol',
    label: 'Symbol',
    description: 'Symbols with market data or liquidations on the selected exchanges.',
    sql: distinctAcross(
      'symbol',
      [openInterest, fundingRates, liquidations].map((t) => ({ from: viewOf(t, '1h'), column: t.col('symbol'), where: anyOf(t.col('exchange'), 'exchange') })),
    ),
  });
  return [service, exchange, symbol];
}

/** Fetches per hour of one dataset, per exchange, from the raw table or a rollup depending on the interval. */
function fetchesPerHour(dataset: string): string {
  return seriesByResolution(fetches, {
    labels: [fetches.col('service'), fetches.col('exchange'), fetches.col('dataset')],
    series: (l) => l.col('exchange'),
    where: (l) => [`${l.col('dataset')} = '${dataset}'`, anyOf(l.col('service'), 'service'), anyOf(l.col('exchange'), 'exchange')],
    raw: (l) => [`${perUnit('count()', HOUR_MS, l)} AS fetches_per_hour`],
    rollup: (l) => [`${perUnit(`sum(${l.m('fetches')})`, HOUR_MS, l)} AS fetches_per_hour`],
  });
}

/**
 * Bytes on disk of every tradewatch table and rollup view now, split into native and Parquet partitions
 * (table_partitions()), with what lies outside partitions (symbol maps, metadata, WAL) from table_storage().
 * Read from QuestDB's own metadata, so it is current whatever the range.
 */
export function objectSizesSql(): string {
  const objects = [...tables.map((t) => ({ name: t.name, kind: 'table' })), ...views.map((v) => ({ name: v.name, kind: 'view' }))];
  const perObject = objects.map(
    (o) =>
      `  SELECT '${o.name}' AS object, '${o.kind}' AS kind, count() AS partitions,\n` +
      `    coalesce(sum(CASE WHEN isParquet THEN 0 ELSE diskSize END), 0) AS native_bytes,\n` +
      `    coalesce(sum(CASE WHEN isParquet THEN diskSize ELSE 0 END), 0) AS parquet_bytes\n` +
      `  FROM table_partitions('${o.name}')`,
  );
  return (
    `SELECT o.object, o.kind, o.partitions, o.native_bytes, o.parquet_bytes,\n` +
    `  t.diskSize - o.native_bytes - o.parquet_bytes AS other_bytes, t.diskSize AS total_bytes\n` +
    `FROM (\n${perObject.join('\n  UNION ALL\n')}\n) o\nJOIN table_storage() t ON o.object = t.tableName\nORDER BY total_bytes DESC`
  );
}

export function pipelineDashboard(): dashboard.Dashboard {
  const gapSeries = `${gaps.col('exchange')} || ' ' || ${gaps.col('dataset')} || ' ' || ${gaps.col('symbol')}`;
  // Gaps overlapping the range: detected (ts) after the range start, started before its end.
  const gapWhere =
    `${gaps.ts} >= $__fromTime AND ${gaps.col('gap_start')} <= $__toTime AND ${anyOf(gaps.col('service'), 'service')}` +
    ` AND ${anyOf(gaps.col('exchange'), 'exchange')} AND ${anyOf(gaps.col('symbol'), 'symbol')}`;

  return dashboardSkeleton({
    uid: PIPELINE_UID,
    title: 'tradewatch / Pipeline',
    description: 'The data pipeline: fetch rates per exchange, liquidations, data gaps, storage.',
    refresh: '1m',
    from: 'now-24h',
    variables: pipelineVariables(),
  })
    .withRow(row('Fetches'))
    .withPanel(
      timeseriesPanel({
        title: 'Open-interest fetches / hour',
        description: 'Open-interest fetches per hour and exchange (all outcomes): a drop means the fetch loop stalled.',
        unit: 'short',
        sql: fetchesPerHour(DATASETS.openInterest),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Funding fetches / hour',
        description: 'Funding-rate fetches per hour and exchange (all outcomes).',
        unit: 'short',
        sql: fetchesPerHour(DATASETS.fundingRate),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Failed fetches / hour',
        description: 'Fetches that did not succeed, per hour, by exchange and outcome (error, rate limited, timeout).',
        unit: 'short',
        stacked: true,
        sql: seriesByResolution(fetches, {
          labels: [fetches.col('service'), fetches.col('exchange'), fetches.col('status')],
          series: (l) => `${l.col('exchange')} || ' ' || ${l.col('status')}`,
          where: (l) => [`${l.col('status')} != ${fetches.lit('status', 'ok')}`, anyOf(l.col('service'), 'service'), anyOf(l.col('exchange'), 'exchange')],
          raw: (l) => [`${perUnit('count()', HOUR_MS, l)} AS failed_per_hour`],
          rollup: (l) => [`${perUnit(`sum(${l.m('fetches')})`, HOUR_MS, l)} AS failed_per_hour`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Fetch latency',
        description: 'Mean and slowest fetch per exchange.',
        unit: 'ms',
        sql: seriesByResolution(fetches, {
          labels: [fetches.col('service'), fetches.col('exchange')],
          series: (l) => l.col('exchange'),
          where: (l) => [anyOf(l.col('service'), 'service'), anyOf(l.col('exchange'), 'exchange')],
          raw: (l) => [`avg(${l.col('latency_ms')}) AS latency_avg`, `max(${l.col('latency_ms')}) AS latency_max`],
          rollup: (l) => [`sum(${l.m('latency_ms_sum')}) / sum(${l.m('fetches')}) AS latency_avg`, `max(${l.m('latency_ms_max')}) AS latency_max`],
        }),
      }),
    )
    .withRow(row('Liquidations'))
    .withPanel(
      timeseriesPanel({
        title: 'Liquidations / minute',
        description: 'Liquidation events received per minute, by exchange and side: bursts show as spikes.',
        unit: 'short',
        stacked: true,
        bars: true,
        span: 16,
        sql: seriesByResolution(liquidations, {
          labels: [liquidations.col('exchange'), liquidations.col('side')],
          series: (l) => `${l.col('exchange')} || ' ' || ${l.col('side')}`,
          where: (l) => [anyOf(l.col('exchange'), 'exchange')],
          raw: (l) => [`${perUnit('count()', MINUTE_MS, l)} AS events_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('events')})`, MINUTE_MS, l)} AS events_per_min`],
        }),
      }),
    )
    .withPanel(
      barGaugePanel({
        title: 'Liquidated notional by symbol',
        description: 'Notional liquidated in the range per exchange and symbol (top 20).',
        unit: 'currencyUSD',
        span: 8,
        sql: totalByResolution(liquidations, {
          labels: [liquidations.col('exchange'), liquidations.col('symbol')],
          groupBy: [liquidations.col('exchange'), liquidations.col('symbol')],
          where: (l) => [anyOf(l.col('exchange'), 'exchange'), anyOf(l.col('symbol'), 'symbol')],
          raw: (l) => [`sum(${l.col('value_usd')}) AS value_usd`],
          rollup: (l) => [`sum(${l.m('value_usd')}) AS value_usd`],
          outer: ['sum(value_usd) AS value_usd'],
          tail: 'ORDER BY value_usd DESC LIMIT 20',
        }),
      }),
    )
    .withRow(row('Data gaps'))
    .withPanel(
      stateTimelinePanel({
        title: 'Data gaps timeline',
        description: 'Per exchange, dataset and symbol: red while data was missing, green once it flowed again.',
        mappings: valueMappings({ '1': { text: 'gap', color: 'red' }, '0': { text: 'ok', color: 'green' } }),
        sql:
          `SELECT * FROM (\n` +
          `  SELECT ${gaps.col('gap_start')} AS time, ${gapSeries} AS series, 1 AS gap FROM ${gaps.name} WHERE ${gapWhere}\n` +
          `  UNION ALL\n` +
          `  SELECT ${gaps.col('gap_end')} AS time, ${gapSeries} AS series, 0 AS gap FROM ${gaps.name} WHERE ${gapWhere}\n` +
          `) ORDER BY time`,
        span: 16,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Gaps in range',
        description: 'Number of gaps, distinct symbols affected and total seconds without data.',
        sql: `SELECT count() AS gaps, count_distinct(${gaps.col('symbol')}) AS symbols, sum(${gaps.col('duration_s')}) AS seconds_missing\nFROM ${gaps.name}\nWHERE ${gapWhere}`,
        thresholds: thresholdsUpTo(1, 10),
        span: 8,
        height: 8,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Data gaps',
        description: 'Each gap: when it started and ended, how long it lasted, which symbol, and why when known.',
        sql:
          `SELECT ${gaps.ts} AS detected, ${gaps.col('exchange')}, ${gaps.col('dataset')}, ${gaps.col('symbol')}, ${gaps.col('gap_start')}, ${gaps.col('gap_end')},\n` +
          `  ${gaps.col('duration_s')}, ${gaps.col('reason')}, ${gaps.col('service')}, ${gaps.col('instance')}\n` +
          `FROM ${gaps.name}\nWHERE ${gapWhere}\nORDER BY ${gaps.ts} DESC LIMIT 500`,
      }),
    )
    // Storage costs the same at any range (QuestDB's metadata of every table and partition: about a third of the
    // dashboard's queries at 24 h) and is looked at now and then, not on every refresh: closed until opened.
    .withRow(
      collapsedRow('Storage', [
        statPanel({
          title: 'QuestDB disk used',
          description:
            'Bytes on disk of every table and view in QuestDB now (table_storage(): tradewatch\'s and any other), and tradewatch\'s share. Free space is not visible through SQL: watch the volume itself.',
          unit: 'bytes',
          span: 8,
          height: 6,
          sql:
            `SELECT sum(diskSize) AS questdb_total, sum(CASE WHEN tableName IN (${[...tables, ...views].map((o) => `'${o.name}'`).join(', ')}) THEN diskSize ELSE 0 END) AS tradewatch\n` +
            `FROM table_storage()`,
        }),
        tablePanel({
          title: 'Tables and views on disk',
          description: 'Every tradewatch table and rollup view now: partitions, bytes native and in Parquet, bytes outside partitions (symbol maps, metadata, WAL), total.',
          unit: 'bytes',
          span: 16,
          height: 10,
          sql: objectSizesSql(),
        }),
        timeseriesPanel({
          title: 'Storage size',
          description: 'Bytes on disk per store (Parquet dataset directories, tables, volumes) as the services report them.',
          unit: 'bytes',
          span: 16,
          sql:
            `SELECT ${storage.ts} AS time, ${storage.col('service')} || ' ' || ${storage.col('store')} AS series, max(${storage.col('bytes')}) AS bytes\n` +
            `FROM ${storage.name}\nWHERE $__timeFilter(${storage.ts}) AND ${anyOf(storage.col('service'), 'service')}\n` +
            `SAMPLE BY $__sampleByInterval ORDER BY time`,
        }),
        barGaugePanel({
          title: 'Storage size now',
          description: 'Latest size of each store.',
          unit: 'bytes',
          span: 8,
          sql:
            `SELECT ${storage.col('service')} || ' ' || ${storage.col('store')} AS store, ${storage.col('bytes')}\n` +
            `FROM ${storage.name}\nWHERE $__timeFilter(${storage.ts}) AND ${anyOf(storage.col('service'), 'service')}\n` +
            `LATEST ON ${storage.ts} PARTITION BY ${storage.col('service')}, ${storage.col('instance')}, ${storage.col('store')}`,
        }),
      ]),
    )
    .build();
}
