import type { RollupDef, RollupInterval, RollupMeasure, TableDef, ViewDef } from './types.js';

export function viewName(table: string, interval: RollupInterval): string {
  return `${table}_${interval}`;
}

/** The 1-minute view aggregates raw rows; its aggregates are chosen so the hourly view can re-aggregate them. */
function minuteSelect(measure: RollupMeasure): string {
  return measure.fn === 'count' ? `count() ${measure.name}` : `${measure.fn}(${measure.column}) ${measure.name}`;
}

/** Re-aggregation of a 1-minute measure into an hour: counts and sums add up, extremes and ends carry over. */
function hourSelect(measure: RollupMeasure): string {
  const fn = measure.fn === 'count' ? 'sum' : measure.fn;
  return `${fn}(${measure.name}) ${measure.name}`;
}

function selectSql(rollup: RollupDef, timestamp: string, from: string, interval: RollupInterval): string {
  const select = interval === '1m' ? minuteSelect : hourSelect;
  const columns = [timestamp, ...rollup.groupBy, ...rollup.measures.map(select)].join(', ');
  return `SELECT ${columns} FROM ${from} SAMPLE BY ${interval}`;
}

export function buildViews(table: TableDef): ViewDef[] {
  const rollup = table.rollup;
  if (!rollup) return [];
  const minute = viewName(table.name, '1m');
  return [
    {
      name: minute,
      base: table.name,
      interval: '1m',
      table,
      partitionBy: 'DAY',
      ttl: rollup.ttl['1m'],
      sql: selectSql(rollup, table.timestamp, table.name, '1m'),
    },
    {
      name: viewName(table.name, '1h'),
      base: minute,
      interval: '1h',
      table,
      partitionBy: 'MONTH',
      ttl: rollup.ttl['1h'],
      sql: selectSql(rollup, table.timestamp, minute, '1h'),
    },
  ];
}
