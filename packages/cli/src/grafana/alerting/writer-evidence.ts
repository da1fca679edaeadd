/**
 * Evidence of a tradewatch writer's backlog that is not itself stuck in that backlog.
 *
 * A writer reports its health in tw_writer_stats through itself: while it cannot reach QuestDB those rows wait in
 * its memory queue and spool with everything else, and land only with the replay, when the backlog is gone. The
 * same numbers are on the process's /metrics, read live from `writer.stats()` at every scrape; the exporter
 * (`tradewatch exporter`, its own process and writer) stores them in tw_metrics under the scrape target's
 * service and instance. The SDK's own service and instance of that process are on `tradewatch_process_info`
 * (labels `instance`, `service`) of the same target, which maps the scraped samples back to the writer's own labels.
 *
 * Both sources are merged per writer (service, instance as the SDK names them), so one writer is one alert
 * instance whichever source saw the backlog.
 */
import { schema } from '@tradewatch/sdk/schema';
import { tableRef } from '../sql.js';

/** The SDK metrics read here, as its catalog names them (a test checks them against the SDK's metric catalog). */
export const SDK_SCRAPED_METRICS = {
  processInfo: 'tradewatch_process_info',
  writerLag: 'tradewatch_writer_lag_seconds',
  writerSpoolBytes: 'tradewatch_writer_spool_bytes',
} as const;

/** The exporter's own series per target and scrape, as Prometheus adds it: 1 when the scrape answered, else 0. */
export const SCRAPE_UP_METRIC = 'up';

const writer = tableRef(schema.writerStats);
const times = (scale: number) => (scale === 1 ? '' : ` * ${scale.toFixed(1)}`);
const metrics = tableRef(schema.metrics);

/**
 * A label's value in tw_metrics' canonical `a="1",b="x"` form (names sorted, values escaped). Only applied to
 * `tradewatch_process_info`, which always has both labels; SDK service and instance names hold no `"`. Everything
 * up to `<label>="` and from the next `"` on is cut (no `$1` group reference: `$` is left to Grafana's macros).
 */
const labelValue = (column: string, label: string) => `regexp_replace(${column}, '^(?:.*,)?${label}="|".*', '')`;

/**
 * Scraped samples of one writer metric in the range, as (ts, service, instance, value × scale) with the writer's
 * own service and instance: joined with the target's latest `tradewatch_process_info`.
 */
function scraped(metric: string, scale: number, valueName: string, latestOnly: boolean): string {
  const m = (c: string) => `m.${metrics.col(c)}`;
  const info =
    `(SELECT ${metrics.col('service')}, ${metrics.col('instance')}, ${labelValue(metrics.col('labels'), 'service')} AS writer_service, ` +
    `${labelValue(metrics.col('labels'), 'instance')} AS writer_instance\n` +
    `      FROM ${metrics.name} WHERE $__timeFilter(${metrics.ts}) AND ${metrics.col('name')} = '${SDK_SCRAPED_METRICS.processInfo}'\n` +
    `      LATEST ON ${metrics.ts} PARTITION BY ${metrics.col('service')}, ${metrics.col('instance')}) p`;
  const samples = latestOnly
    ? `(SELECT ${metrics.ts}, ${metrics.col('service')}, ${metrics.col('instance')}, ${metrics.col('value')} FROM ${metrics.name}\n` +
      `      WHERE $__timeFilter(${metrics.ts}) AND ${metrics.col('name')} = '${metric}' LATEST ON ${metrics.ts} PARTITION BY ${metrics.col('service')}, ${metrics.col('instance')}) m`
    : `${metrics.name} m`;
  const where = latestOnly ? '' : `\n    WHERE $__timeFilter(m.${metrics.ts}) AND ${m('name')} = '${metric}'`;
  return (
    `SELECT m.${metrics.ts} AS ts, p.writer_service AS service, p.writer_instance AS instance, ${m('value')}${times(scale)} AS ${valueName}\n` +
    `    FROM ${samples}\n` +
    `    JOIN ${info} ON ${m('service')} = p.${metrics.col('service')} AND ${m('instance')} = p.${metrics.col('instance')}${where}`
  );
}

/** Health rows of the range as (ts, service, instance, value); LATEST ON per writer when `latestOnly`. */
function healthRows(column: string, scale: number, valueName: string, latestOnly: boolean): string {
  return (
    `SELECT ${writer.ts} AS ts, ${writer.col('service')} AS service, ${writer.col('instance')} AS instance, coalesce(${writer.col(column)}, 0)${times(scale)} AS ${valueName}\n` +
    `    FROM ${writer.name} WHERE $__timeFilter(${writer.ts})` +
    (latestOnly ? ` LATEST ON ${writer.ts} PARTITION BY ${writer.col('service')}, ${writer.col('instance')}` : '')
  );
}

/** Both sources in time order with `ts` as the designated timestamp, so LATEST ON, first() and last() apply. */
const merged = (health: string, scrape: string) => `((\n  ${health}\n  UNION ALL\n  ${scrape}\n  ) ORDER BY ts) timestamp(ts)`;

/**
 * Per writer, its lag (ms: age of the oldest row QuestDB has not acknowledged) from the freshest evidence in the
 * range: its latest health row or its latest scrape, whichever is newer. During a cut to QuestDB the scrapes are
 * the newer (the health rows are held back); once both flow they agree; a stale source (an exporter that stopped)
 * is outdated by the other instead of holding an old value.
 */
export function writerLagSql(): string {
  return (
    `SELECT service, instance, lag_ms FROM ${merged(healthRows('lag_ms', 1, 'lag_ms', true), scraped(SDK_SCRAPED_METRICS.writerLag, 1000, 'lag_ms', true))}\n` +
    `LATEST ON ts PARTITION BY service, instance`
  );
}

/**
 * Per writer, how much its spool grew in the range (MiB): its newest sample minus its oldest, both sources in
 * time order (they report the same spool). `yieldAboveLagMs`: 0 while the writer's freshest lag is above it, so a
 * writer cut off from QuestDB is one alert (writerLag's) and this rule reports a spool growing while rows are
 * still acknowledged in time (a QuestDB too slow for the write rate).
 */
export function spoolGrowthSql(yieldAboveLagMs: number | undefined): string {
  const MIB = 1_048_576;
  const growth =
    `SELECT service, instance, (last(spool_bytes) - first(spool_bytes)) / ${MIB}.0 AS growth_mib FROM ` +
    `${merged(healthRows('spool_bytes', 1, 'spool_bytes', false), scraped(SDK_SCRAPED_METRICS.writerSpoolBytes, 1, 'spool_bytes', false))}\n` +
    `GROUP BY service, instance`;
  if (yieldAboveLagMs === undefined) return `SELECT service, instance, growth_mib AS spool_growth_mib FROM (${growth})`;
  return (
    `SELECT g.service, g.instance, CASE WHEN l.lag_ms > ${yieldAboveLagMs} THEN 0.0 ELSE g.growth_mib END AS spool_growth_mib\n` +
    `FROM (${growth}) g\n` +
    `LEFT JOIN (${writerLagSql()}) l ON g.service = l.service AND g.instance = l.instance`
  );
}

/**
 * Per SDK process (its own service and instance), the time of the exporter's latest scrape that found it alive:
 * its latest `tradewatch_process_info` sample of the last `windowS` seconds, kept only while the target's latest
 * `up` sample says the scrape answered (a crashed or hung process fails its next scrape: `up` 0 drops it at once).
 * A process no exporter scrapes has no row. Both subqueries read only the last `windowS` seconds of tw_metrics
 * (interval scan on the designated timestamp), so the rule that joins this stays cheap at every evaluation.
 */
export function scrapedAliveSql(windowS: number): string {
  const recent = `${metrics.ts} > dateadd('s', -${Math.ceil(windowS)}, $__toTime) AND ${metrics.ts} <= $__toTime`;
  const target = `${metrics.col('service')}, ${metrics.col('instance')}`;
  const latest = (name: string, cols: string) =>
    `(SELECT ${metrics.ts}, ${target}, ${cols} FROM ${metrics.name} WHERE ${recent} AND ${metrics.col('name')} = '${name}'\n` +
    `      LATEST ON ${metrics.ts} PARTITION BY ${target})`;
  return (
    `SELECT ${labelValue(`p.${metrics.col('labels')}`, 'service')} AS service, ${labelValue(`p.${metrics.col('labels')}`, 'instance')} AS instance, max(p.${metrics.ts}) AS alive_ts\n` +
    `    FROM ${latest(SDK_SCRAPED_METRICS.processInfo, metrics.col('labels'))} p\n` +
    `    JOIN ${latest(SCRAPE_UP_METRIC, metrics.col('value'))} u ON p.${metrics.col('service')} = u.${metrics.col('service')} AND p.${metrics.col('instance')} = u.${metrics.col('instance')}\n` +
    `    WHERE u.${metrics.col('value')} = 1`
  );
}
