import { col, days, producer, RAW_TTL, symbol, ts, years } from '../columns.js';
import type { TableDef } from '../types.js';

export const metrics: TableDef = {
  name: 'tw_metrics',
  group: 'generic',
  description:
    'Generic metric samples: custom metrics from the SDK and samples scraped from Prometheus endpoints (QuestDB itself, daemons in other languages). One row per series per sample.',
  timestamp: 'ts',
  columns: [
    ts('Sample time (UTC, microseconds).'),
    symbol('name', 'Metric name, Prometheus style, e.g. `questdb_memory_mem_used`.', 16384, { required: true }),
    ...producer(),
    col('labels', 'VARCHAR', 'The remaining labels, canonical Prometheus form sorted by name: `a="1",b="x"`; empty when none.'),
    symbol('kind', 'Metric type.', 8, { values: ['counter', 'gauge', 'histogram', 'summary', 'untyped'] }),
    symbol('source', 'Where the sample came from: `sdk` or the scraped target.', 256),
    col('value', 'DOUBLE', 'Sample value.', { required: true }),
  ],
  partitionBy: 'DAY',
  // The exporter's scrapes are the largest stream at scale (hundreds of series every 15 s). 90 days raw: in
  // Parquet (after a day) the raw rows cost less than the native-only 1-minute view, so that view is kept a week
  // for fast recent ranges and the hourly one two years.
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'name', 'service', 'instance', 'labels'],
  rollup: {
    groupBy: ['service', 'instance', 'name', 'labels'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Samples in the bucket.' },
      { name: 'value', fn: 'last', column: 'value', description: 'Last value (counters: the counter at bucket end).' },
      { name: 'value_sum', fn: 'sum', column: 'value', description: 'Sum (divide by samples for the mean of a gauge).' },
      { name: 'value_min', fn: 'min', column: 'value', description: 'Lowest value.' },
      { name: 'value_max', fn: 'max', column: 'value', description: 'Highest value.' },
    ],
    ttl: { '1m': days(7), '1h': years(2) },
  },
};

export const schemaChanges: TableDef = {
  name: 'tw_schema_changes',
  group: 'internal',
  description: 'What each `tradewatch schema apply` changed, so an upgrade can be audited.',
  timestamp: 'ts',
  columns: [
    ts('When the change was applied (UTC, microseconds).'),
    col('schema_version', 'INT', 'Schema version that was applied.', { required: true }),
    symbol('object', 'Table or view that changed.', 1024, { required: true }),
    col('change', 'VARCHAR', 'The statement that was run.', { required: true }),
  ],
  partitionBy: 'MONTH',
  ttl: years(10),
  dedupKeys: ['ts', 'object'],
};

