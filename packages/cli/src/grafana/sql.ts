/**
 * SQL building blocks for dashboard queries. Every table, view, column, measure and vocabulary value is looked up
 * in src/schema, so a dashboard that names something the schema does not define fails at generation time (and
 * the generated files' staleness test) instead of in Grafana.
 */
import { views, type RollupInterval, type TableDef, type ViewDef } from '@tradewatch/sdk/schema';

export class DashboardSchemaError extends Error {
  override readonly name = 'DashboardSchemaError';
}

/** A table as dashboards see it: its name and checked accessors for its columns and closed vocabularies. */
export interface TableRef {
  readonly def: TableDef;
  readonly name: string;
  readonly ts: string;
  /** A column name; throws when the table has no such column. */
  col(name: string): string;
  /** A value of a closed-vocabulary column as a SQL literal; throws when the schema does not list it. */
  lit(column: string, value: string): string;
}

export function tableRef(def: TableDef): TableRef {
  const columns = new Map(def.columns.map((c) => [c.name, c]));
  const col = (name: string) => {
    if (!columns.has(name)) throw new DashboardSchemaError(`${def.name} has no column ${JSON.stringify(name)}`);
    return name;
  };
  return {
    def,
    name: def.name,
    ts: def.timestamp,
    col,
    lit(column, value) {
      const values = columns.get(col(column))!.values;
      if (!values) throw new DashboardSchemaError(`${def.name}.${column} has no closed vocabulary`);
      if (!values.includes(value)) {
        throw new DashboardSchemaError(`${JSON.stringify(value)} is not one of ${def.name}.${column}: ${values.join(', ')}`);
      }
      return `'${value}'`;
    },
  };
}

/** A filter that Grafana drops (1=1) when the variable is All: `column IN ('a','b')` otherwise. */
export function anyOf(column: string, variable: string): string {
  return `$__conditionalAll(${column} IN ($${variable}), $${variable})`;
}

export type Resolution = 'raw' | RollupInterval;

/** Bucket size of each resolution; a rollup is read only when the panel's interval is at least its bucket. */
export const RESOLUTION_MS: Readonly<Record<Resolution, number>> = { raw: 0, '1m': 60_000, '1h': 3_600_000 };

/** One source a resolution-aware query can read: the raw table or one of its rollup views. */
export interface Level {
  readonly resolution: Resolution;
  /** Table or view name. */
  readonly from: string;
  readonly ts: string;
  /** `$__interval_ms` bounds under which this source is the one read (constant-folded away otherwise). */
  readonly guard: string;
  /** The branch's `SAMPLE BY` unit: Grafana's interval, or the view's own bucket when that is coarser. */
  readonly sampleBy: string;
  /** The branch's bucket in ms as SQL (`$__interval_ms`, or the view's bucket): what per-unit rates divide by. */
  readonly bucketMs: string;
  /** A column: any column of the raw table; only a kept label (group-by column) of a rollup. */
  col(name: string): string;
  /** A rollup measure; throws on the raw level (write raw and rollup expressions separately). */
  m(name: string): string;
}

/** Grafana's interval as the bucket, or a fixed one (a view read at an interval finer than its own bucket). */
interface Bucket {
  readonly sampleBy: string;
  readonly bucketMs: string;
}
const GRAFANA_BUCKET: Bucket = { sampleBy: '$__sampleByInterval', bucketMs: '$__interval_ms' };

function levelFor(table: TableRef, view: ViewDef | undefined, guard: string, bucket: Bucket = GRAFANA_BUCKET): Level {
  if (!view) {
    return {
      resolution: 'raw',
      from: table.name,
      ts: table.ts,
      guard,
      ...bucket,
      col: table.col,
      m: (name) => {
        throw new DashboardSchemaError(`measure ${name} asked of raw table ${table.name}`);
      },
    };
  }
  const measures = new Set(table.def.rollup?.measures.map((m) => m.name));
  return {
    resolution: view.interval,
    from: view.name,
    ts: table.ts,
    guard,
    ...bucket,
    col: (name) => {
      if (!view.groupBy.includes(table.col(name))) {
        throw new DashboardSchemaError(`${view.name} does not keep ${name} (it keeps ${view.groupBy.join(', ')})`);
      }
      return name;
    },
    m: (name) => {
      if (!measures.has(name)) throw new DashboardSchemaError(`${view.name} has no measure ${JSON.stringify(name)}`);
      return name;
    },
  };
}

/**
 * The interval from which the hourly view serves a series that has no usable 1-minute view (market tables, or
 * liquidations per symbol): half an hour, where the raw table would otherwise be scanned for about a month (a
 * 1000-pixel 30-day panel) to draw at most two points per hour. Below it the raw table serves, as before.
 */
export const HOURLY_WITHOUT_MINUTE_FROM_MS = 1_800_000;

function guardOf(lower: number, upper: number | undefined): string {
  const bounds = [lower > 0 ? `$__interval_ms >= ${lower}` : undefined, upper ? `$__interval_ms < ${upper}` : undefined];
  return bounds.filter(Boolean).join(' AND ') || '1=1';
}

/**
 * The sources a query reads, finest first: the raw table, then each rollup view that keeps every label the query
 * uses. Each gets a guard on Grafana's `$__interval_ms`: the raw table below 1 minute, the 1-minute view from
 * 1 minute, the hourly view from 1 hour. Exactly one guard holds for any interval; QuestDB folds the others to
 * constant false and plans those branches as empty tables, so a UNION ALL of all levels reads one source only.
 * Without a usable 1-minute view, the hourly view also serves intervals from 30 minutes to 1 hour, bucketed by its
 * own hour (`sampleBy`/`bucketMs` say so; rates divide by the hour, not by Grafana's interval).
 */
export function levels(table: TableRef, labels: readonly string[], totals = false): Level[] {
  for (const label of labels) table.col(label);
  const usable = views
    .filter((v) => v.table.name === table.name)
    .filter((v) => labels.every((l) => v.groupBy.includes(l)))
    .sort((a, b) => RESOLUTION_MS[a.interval] - RESOLUTION_MS[b.interval]);
  const chain: (ViewDef | undefined)[] = [undefined, ...usable];
  // Totals have no buckets to fill: the first usable rollup takes over from 1 minute even when it is coarser
  // (a 1-minute view without the labels a total needs), rounding the range's edges to its bucket.
  const lowers = chain.map((view, i) => (totals && i === 1 ? RESOLUTION_MS['1m'] : RESOLUTION_MS[view?.interval ?? 'raw']));
  const hourlyOnly = !totals && usable[0]?.interval === '1h';
  if (hourlyOnly) lowers[1] = HOURLY_WITHOUT_MINUTE_FROM_MS;
  const out = chain.map((view, i) => levelFor(table, view, guardOf(lowers[i]!, lowers[i + 1])));
  if (hourlyOnly) {
    // Split the hourly level: from 30 minutes to 1 hour it samples by its own hour, from 1 hour by Grafana's interval.
    const hour = RESOLUTION_MS['1h'];
    out.splice(1, 1,
      levelFor(table, usable[0], guardOf(HOURLY_WITHOUT_MINUTE_FROM_MS, hour), { sampleBy: '1h', bucketMs: String(hour) }),
      levelFor(table, usable[0], guardOf(hour, lowers[2])),
    );
  }
  return out;
}

export interface SeriesQuery {
  /** Every label column the query groups or filters by: decides which rollups can serve it. */
  readonly labels: readonly string[];
  /** Series name expression (a string), or undefined for a single series. */
  readonly series?: (l: Level) => string;
  /** Extra WHERE conditions (filters); the time filter and guard are added. */
  readonly where?: (l: Level) => string[];
  /** Value expressions with aliases, per source kind. */
  readonly raw: (l: Level) => string[];
  readonly rollup: (l: Level) => string[];
}

/** `WHERE` list shared by every branch: the dashboard time range, the caller's filters, the level guard. */
function whereOf(l: Level, q: { where?: (l: Level) => string[] }): string {
  return [`$__timeFilter(${l.ts})`, ...(q.where?.(l) ?? []), l.guard].join(' AND ');
}

/**
 * A time series (long format: time, series, values...) bucketed by `$__sampleByInterval`, read from the raw table
 * for short intervals and from rollups for long ones, sorted by time as the plugin's long-to-wide step needs.
 */
export function seriesByResolution(table: TableRef, q: SeriesQuery): string {
  const branches = levels(table, q.labels).map((l) => {
    const values = l.resolution === 'raw' ? q.raw(l) : q.rollup(l);
    const select = [`${l.ts} AS time`, ...(q.series ? [`${q.series(l)} AS series`] : []), ...values].join(', ');
    return `  SELECT ${select}\n  FROM ${l.from}\n  WHERE ${whereOf(l, q)}\n  SAMPLE BY ${l.sampleBy}`;
  });
  return `SELECT * FROM (\n${branches.join('\n  UNION ALL\n')}\n) ORDER BY time`;
}

export interface TotalQuery {
  readonly labels: readonly string[];
  readonly where?: (l: Level) => string[];
  /** Partial aggregates per source, with aliases; every branch must produce the same aliases. */
  readonly raw: (l: Level) => string[];
  readonly rollup: (l: Level) => string[];
  /** The final SELECT list over the branches' rows (e.g. `sum(errors) AS errors`). */
  readonly outer: string[];
  /** Label columns to keep per row (selected by every branch, grouped by outside); none = one row of totals. */
  readonly groupBy?: readonly string[];
  /** Appended after the outer query, e.g. `ORDER BY value DESC LIMIT 20`. */
  readonly tail?: string;
}

/** One row of totals over the dashboard range, from the same source a time series of that interval would read. */
export function totalByResolution(table: TableRef, q: TotalQuery): string {
  const keys = q.groupBy ?? [];
  const branches = levels(table, [...q.labels, ...keys], true).map((l) => {
    const values = [...keys.map((k) => l.col(k)), ...(l.resolution === 'raw' ? q.raw(l) : q.rollup(l))];
    const group = keys.length ? `\n  GROUP BY ${keys.join(', ')}` : '';
    return `  SELECT ${values.join(', ')}\n  FROM ${l.from}\n  WHERE ${whereOf(l, q)}${group}`;
  });
  const outerGroup = keys.length ? ` GROUP BY ${keys.join(', ')}` : '';
  const tail = q.tail ? ` ${q.tail}` : '';
  return `SELECT ${[...keys, ...q.outer].join(', ')} FROM (\n${branches.join('\n  UNION ALL\n')}\n)${outerGroup}${tail}`;
}

/** `count * unit / bucket`: a per-unit rate from a count over one bucket of the level (usually `$__interval_ms`). */
export function perUnit(countExpr: string, unitMs: number, l: Pick<Level, 'bucketMs'>): string {
  return `${countExpr} * ${unitMs}.0 / ${l.bucketMs}`;
}

/** A rollup view of a table, by interval; throws when the schema defines no such view. */
export function viewOf(table: TableRef, interval: RollupInterval): string {
  const view = views.find((v) => v.table.name === table.name && v.interval === interval);
  if (!view) throw new DashboardSchemaError(`${table.name} has no ${interval} rollup view`);
  return view.name;
}

/** A rollup measure of a table (as its views name it); throws when the table's rollup has no such measure. */
export function measureOf(table: TableRef, name: string): string {
  if (!table.def.rollup?.measures.some((m) => m.name === name)) throw new DashboardSchemaError(`${table.name}'s rollup has no measure ${JSON.stringify(name)}`);
  return name;
}

/** One source of a variable's values: a (rollup) table, the label column and an optional filter. */
export interface ValueSource {
  readonly from: string;
  readonly column: string;
  readonly where?: string;
}

/**
 * The distinct values of a label across several tables, sorted. Each table is reduced to its distinct values first
 * (a vectorised group-by on the symbol's key), so only those few rows are merged: a UNION of the raw columns would
 * hash every row of every view (tens of milliseconds per variable over a month of hourly buckets).
 */
export function distinctAcross(alias: string, sources: readonly ValueSource[]): string {
  const parts = sources.map((s) => `  SELECT DISTINCT ${s.column} AS ${alias} FROM ${s.from}${s.where ? ` WHERE ${s.where}` : ''}`);
  return `SELECT DISTINCT ${alias} FROM (\n${parts.join('\n  UNION ALL\n')}\n) ORDER BY 1`;
}
