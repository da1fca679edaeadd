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
  writerSpoolMaxBytes: 'tradewatch_writer_spool_max_bytes',
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
 * A spool this close to its bound that is not growing counts as full: drop-oldest keeps a full spool within one
 * segment of it (16 MiB of the default 1 GiB), so over an hour it may as well shrink as grow.
 */
export const SPOOL_FULL_FRACTION = 0.95;
/** Hours left reported for a spool that is not growing (no projection): far above any sensible threshold. */
export const SPOOL_NOT_GROWING_HOURS = 1_000_000;

/**
 * Per writer with a spool, the hours until its spool reaches its bound (`spool.maxBytes`, where the writer starts
 * giving rows up) at the rate it grew over the range: (bound − newest size) / growth per hour. When it did not grow:
 * 0 if within SPOOL_FULL_FRACTION of its bound (full, rows are being given up), else SPOOL_NOT_GROWING_HOURS
 * (steady, or replaying). Read from the exporter's scrapes of the process's /metrics only: the bound
 * is there (`tradewatch_writer_spool_max_bytes`) and nowhere else, and during a cut from QuestDB, the one time a
 * spool grows for long, the scrapes are the evidence that is not itself held in the spool.
 */
export function spoolHoursLeftSql(): string {
  const size =
    `SELECT service, instance, first(spool_bytes) AS first_bytes, last(spool_bytes) AS last_bytes, first(ts) AS first_ts, last(ts) AS last_ts\n` +
    `  FROM (${scraped(SDK_SCRAPED_METRICS.writerSpoolBytes, 1, 'spool_bytes', false)}\n  ORDER BY ts) timestamp(ts)\n` +
    `  GROUP BY service, instance`;
  const bound = scraped(SDK_SCRAPED_METRICS.writerSpoolMaxBytes, 1, 'max_bytes', true);
  const hours = `((cast(g.last_ts AS LONG) - cast(g.first_ts AS LONG)) / 3600000000.0)`;
  const perHour = `(g.last_bytes - g.first_bytes) / ${hours}`;
  return (
    `SELECT g.service, g.instance,\n` +
    // The spool may pass its bound by less than a record: then 0, not a negative time.
    `  CASE WHEN g.last_ts > g.first_ts AND g.last_bytes > g.first_bytes THEN\n` +
    `    CASE WHEN g.last_bytes < b.max_bytes THEN (b.max_bytes - g.last_bytes) / (${perHour}) ELSE 0.0 END\n` +
    `  WHEN g.last_bytes >= b.max_bytes * ${SPOOL_FULL_FRACTION} THEN 0.0\n` +
    `  ELSE ${SPOOL_NOT_GROWING_HOURS.toFixed(1)} END AS hours_to_full\n` +
    `FROM (${size}) g\n` +
    `JOIN (${bound}) b ON g.service = b.service AND g.instance = b.instance\n` +
    `WHERE b.max_bytes > 0`
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
