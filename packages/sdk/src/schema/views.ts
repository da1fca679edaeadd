import type { RollupInterval, RollupMeasure, TableDef, ViewDef } from './types.js';

export function viewName(table: string, interval: RollupInterval): string {
  return `${table}_${interval}`;
}

/** Aggregates over raw rows; chosen so that a coarser view can re-aggregate them exactly. */
function rawSelect(measure: RollupMeasure): string {
  return measure.fn === 'count' ? `count() ${measure.name}` : `${measure.fn}(${measure.column}) ${measure.name}`;
}

/** Re-aggregation of a finer view's measure: counts and sums add up, extremes and ends carry over. */
function rollupSelect(measure: RollupMeasure): string {
  const fn = measure.fn === 'count' ? 'sum' : measure.fn;
  return `${fn}(${measure.name}) ${measure.name}`;
}

function selectSql(
  table: TableDef,
  groupBy: readonly string[],
  from: string,
  fromRaw: boolean,
  interval: RollupInterval,
): string {
  const measures = table.rollup!.measures.map(fromRaw ? rawSelect : rollupSelect);
  return `SELECT ${[table.timestamp, ...groupBy, ...measures].join(', ')} FROM ${from} SAMPLE BY ${interval}`;
}

export function buildViews(table: TableDef): ViewDef[] {
  const rollup = table.rollup;
  if (!rollup) return [];
  const out: ViewDef[] = [];
  const minuteTtl = rollup.ttl['1m'];
  const hourTtl = rollup.ttl['1h'];
  const minuteGroupBy = rollup.minuteGroupBy ?? rollup.groupBy;
  if (minuteTtl) {
    out.push({
      name: viewName(table.name, '1m'),
      base: table.name,
      interval: '1m',
      table,
      groupBy: minuteGroupBy,
      partitionBy: 'DAY',
      ttl: minuteTtl,
      sql: selectSql(table, minuteGroupBy, table.name, true, '1m'),
    });
  }
  if (hourTtl) {
    // Cheaper to refresh from the minute view, but only when that view still has every label the hour keeps.
    const fromMinute = minuteTtl !== undefined && rollup.groupBy.every((g) => minuteGroupBy.includes(g));
    const base = fromMinute ? viewName(table.name, '1m') : table.name;
    out.push({
      name: viewName(table.name, '1h'),
      base,
      interval: '1h',
      table,
      groupBy: rollup.groupBy,
      partitionBy: 'MONTH',
      ttl: hourTtl,
      sql: selectSql(table, rollup.groupBy, base, !fromMinute, '1h'),
    });
  }
  return out;
}
