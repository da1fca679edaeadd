/** Health dashboard: is every process up, how much memory and CPU does it use, does it restart, does it fail? */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import { dashboardSkeleton, queryVariable, row, statPanel, tablePanel, thresholdsUpTo, timeseriesPanel, valueMappings } from './panels.js';
import { questDbPanels } from './questdb-health.js';
import { anyOf, perUnit, seriesByResolution, tableRef, totalByResolution, viewOf } from './sql.js';

export const HEALTH_UID = 'tradewatch-health';

const samples = tableRef(schema.processSamples);
const events = tableRef(schema.processEvents);
const errors = tableRef(schema.errors);
const writer = tableRef(schema.writerStats);

/** Seconds without a process sample after which an instance counts as stale (SDK default: one sample per 5 s). */
export const STALE_AFTER_S = 30;

const service = samples.col('service');
const instance = samples.col('instance');
const byService = (column = service) => anyOf(column, 'service');
/** Service and instance filters, for tables that name the producing process. */
const byProcess = (t: { col(name: string): string }) => `${anyOf(t.col('service'), 'service')} AND ${anyOf(t.col('instance'), 'instance')}`;

export function serviceVariable() {
  // The hourly rollup keeps service: a tiny table, current hour included.
  const view = viewOf(samples, '1h');
  return queryVariable({
    name: 'service',
    label: 'Service',
    description: 'Services that reported process samples (tradewatch SDK).',
    sql: `SELECT DISTINCT ${service} FROM ${view} ORDER BY 1`,
  });
}

export function instanceVariable() {
  return queryVariable({
    name: 'instance',
    label: 'Instance',
    description: 'Instances (host or replica) of the selected services that reported process samples.',
    sql: `SELECT DISTINCT ${instance} FROM ${viewOf(samples, '1h')} WHERE ${byService()} ORDER BY 1`,
  });
}

/**
 * Every process of the selected services: its latest sample up to the range end, its version (from its latest
 * start) and its status judged at the range end, so a view zoomed into the past shows the fleet as it was then.
 */
function fleetSql(): string {
  const latest = (t: typeof samples, where: string) =>
    `WHERE ${t.ts} <= $__toTime AND ${where}\n  LATEST ON ${t.ts} PARTITION BY ${t.col('service')}, ${t.col('instance')}`;
  return (
    // Version and host from the latest sample; the latest start's version for rows written before samples had them.
    `SELECT s.service, s.instance, coalesce(s.version, st.version) AS version, s.host, s.pid,\n` +
    `  CASE WHEN e.event = ${events.lit('event', 'stop')} AND e.ts >= s.ts THEN 'stopped'\n` +
    `    WHEN s.ts >= dateadd('s', -${STALE_AFTER_S}, $__toTime) THEN 'up' ELSE 'stale' END AS status,\n` +
    `  s.ts AS last_sample, dateadd('s', -cast(s.uptime_s AS INT), s.ts) AS started, s.uptime_s, s.rss_bytes, s.cpu_percent, s.event_loop_lag_ms\n` +
    `FROM (\n  SELECT ${samples.ts} AS ts, ${service} AS service, ${instance} AS instance, ${samples.col('pid')} AS pid, ${samples.col('uptime_s')} AS uptime_s,\n` +
    `    ${samples.col('rss_bytes')} AS rss_bytes, ${samples.col('cpu_percent')} AS cpu_percent, ${samples.col('event_loop_lag_ms')} AS event_loop_lag_ms,\n` +
    `    ${samples.col('host')} AS host, ${samples.col('version')} AS version\n` +
    `  FROM ${samples.name}\n  ${latest(samples, byProcess(samples))}\n) s\n` +
    `LEFT JOIN (\n  SELECT ${events.col('service')} AS service, ${events.col('instance')} AS instance, ${events.col('version')} AS version FROM ${events.name}\n` +
    `  ${latest(events, `${events.col('event')} = ${events.lit('event', 'start')} AND ${byProcess(events)}`)}\n) st ON s.service = st.service AND s.instance = st.instance\n` +
    `LEFT JOIN (\n  SELECT ${events.ts} AS ts, ${events.col('service')} AS service, ${events.col('instance')} AS instance, ${events.col('event')} AS event FROM ${events.name}\n` +
    `  ${latest(events, byProcess(events))}\n) e ON s.service = e.service AND s.instance = e.instance\n` +
    `ORDER BY status DESC, s.service, s.instance`
  );
}

export function healthDashboard(): dashboard.Dashboard {
  const instanceLabel = `${service} || '/' || ${instance}`;
  const latestSample = `WHERE $__timeFilter(${samples.ts}) AND ${byProcess(samples)}\nLATEST ON ${samples.ts} PARTITION BY ${service}, ${instance}`;

  const trends = dashboardSkeleton({
    uid: HEALTH_UID,
    title: 'tradewatch / Health',
    description: 'Process health of every service that runs the tradewatch SDK: uptime, memory, CPU, restarts, errors.',
    refresh: '30s',
    from: 'now-6h',
    variables: [serviceVariable(), instanceVariable()],
  })
    .withRow(row('Now'))
    .withPanel(
      statPanel({
        title: 'Uptime',
        description: `Seconds since each instance started, from its latest process sample in the range; "stale" (red) when that sample is more than ${STALE_AFTER_S} s older than the range end: the process died, hangs or cannot reach QuestDB.`,
        sql:
          `SELECT ${instanceLabel} AS instance,\n  CASE WHEN ${samples.ts} < dateadd('s', -${STALE_AFTER_S}, $__toTime) THEN -1 ELSE ${samples.col('uptime_s')} END AS uptime_s\n` +
          `FROM ${samples.name}\n${latestSample}`,
        unit: 's',
        colorMode: common.BigValueColorMode.Background,
        mappings: valueMappings({ '-1': { text: 'stale', color: 'red' } }),
        perRow: true,
        span: 8,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Memory (RSS) now',
        description: 'Resident set size of each instance at its latest sample.',
        sql: `SELECT ${instanceLabel} AS instance, ${samples.col('rss_bytes')}\nFROM ${samples.name}\n${latestSample}`,
        unit: 'bytes',
        perRow: true,
        span: 8,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Restarts',
        description:
          'Process starts in the range, not counting an instance\'s first start ever: each is a restart (a crash when no `stop` preceded it; see the lifecycle table).',
        sql:
          `SELECT sum(restarts) AS restarts FROM (\n` +
          `  SELECT ${events.col('service')}, ${events.col('instance')},\n` +
          `    sum(CASE WHEN ${events.ts} >= $__fromTime THEN 1 ELSE 0 END) - CASE WHEN min(${events.ts}) >= $__fromTime THEN 1 ELSE 0 END AS restarts\n` +
          `  FROM ${events.name}\n` +
          `  WHERE ${events.col('event')} = ${events.lit('event', 'start')} AND ${events.ts} <= $__toTime AND ${byProcess(events)}\n` +
          `  GROUP BY ${events.col('service')}, ${events.col('instance')}\n)`,
        thresholds: thresholdsUpTo(1, 3),
        span: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Last error',
        description: 'When each service last reported an error (in the range).',
        sql:
          `SELECT ${errors.col('service')} AS service, cast(${errors.ts} AS long) / 1000 AS last_error\n` +
          `FROM ${errors.name}\nWHERE $__timeFilter(${errors.ts}) AND ${byService(errors.col('service'))}\n` +
          `LATEST ON ${errors.ts} PARTITION BY ${errors.col('service')}`,
        unit: 'dateTimeAsIso',
        perRow: true,
        noValue: 'no errors in range',
        span: 4,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Fleet',
        description:
          `Every process of the selected services, on every host: version and host (from its latest sample; the version of its latest start for samples that predate them), pid, status at the range end (\`up\`: a sample in the last ${STALE_AFTER_S} s; \`stale\`: none, down or cut off from QuestDB; \`stopped\`: stopped cleanly), last sample, start time and uptime. The instance is the host name unless the service sets another.`,
        sql: fleetSql(),
        height: 8,
        mappings: valueMappings({ up: { text: 'up', color: 'green' }, stale: { text: 'stale', color: 'red' }, stopped: { text: 'stopped', color: 'blue' } }),
      }),
    )
    .withRow(row('Trends'))
    .withPanel(
      timeseriesPanel({
        title: 'Memory',
        description: 'Mean and peak RSS and peak JavaScript heap per instance: a steady climb is a leak.',
        unit: 'bytes',
        sql: seriesByResolution(samples, {
          labels: [service, instance],
          series: (l) => `${l.col(service)} || '/' || ${l.col(instance)}`,
          where: (l) => [byService(l.col(service)), anyOf(l.col(instance), 'instance')],
          raw: (l) => [`avg(${l.col('rss_bytes')}) AS rss_avg`, `max(${l.col('rss_bytes')}) AS rss_max`, `max(${l.col('heap_used_bytes')}) AS heap_used_max`],
          rollup: (l) => [
            `sum(${l.m('rss_bytes_sum')}) / sum(${l.m('samples')}) AS rss_avg`,
            `max(${l.m('rss_bytes_max')}) AS rss_max`,
            `max(${l.m('heap_used_bytes_max')}) AS heap_used_max`,
          ],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'CPU',
        description: 'Mean and peak CPU per instance; 100 % = one full core.',
        unit: 'percent',
        sql: seriesByResolution(samples, {
          labels: [service, instance],
          series: (l) => `${l.col(service)} || '/' || ${l.col(instance)}`,
          where: (l) => [byService(l.col(service)), anyOf(l.col(instance), 'instance')],
          raw: (l) => [`avg(${l.col('cpu_percent')}) AS cpu_avg`, `max(${l.col('cpu_percent')}) AS cpu_max`],
          rollup: (l) => [`sum(${l.m('cpu_percent_sum')}) / sum(${l.m('samples')}) AS cpu_avg`, `max(${l.m('cpu_percent_max')}) AS cpu_max`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Event-loop lag',
        description: 'Worst event-loop delay per instance: a blocked process answers late to everything.',
        unit: 'ms',
        sql: seriesByResolution(samples, {
          labels: [service, instance],
          series: (l) => `${l.col(service)} || '/' || ${l.col(instance)}`,
          where: (l) => [byService(l.col(service)), anyOf(l.col(instance), 'instance')],
          raw: (l) => [`max(${l.col('event_loop_lag_ms')}) AS lag_max`],
          rollup: (l) => [`max(${l.m('event_loop_lag_ms_max')}) AS lag_max`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Error rate',
        description: 'Errors per minute by service, component and kind: a spike means an endpoint or stream is failing.',
        unit: 'short',
        stacked: true,
        bars: true,
        sql: seriesByResolution(errors, {
          labels: [errors.col('service'), errors.col('component'), errors.col('kind')],
          series: (l) => `${l.col('service')} || ' ' || ${l.col('component')} || ' ' || ${l.col('kind')}`,
          where: (l) => [byService(l.col('service'))],
          raw: (l) => [`${perUnit('count()', 60_000, l)} AS errors_per_min`],
          rollup: (l) => [`${perUnit(`sum(${l.m('errors')})`, 60_000, l)} AS errors_per_min`],
        }),
      }),
    )
    .withPanel(
      statPanel({
        title: 'Errors in range',
        description: 'All errors reported in the range by the selected services.',
        sql: totalByResolution(errors, {
          labels: [errors.col('service')],
          where: (l) => [byService(l.col('service'))],
          raw: () => ['count() AS errors'],
          rollup: (l) => [`sum(${l.m('errors')}) AS errors`],
          outer: ['sum(errors) AS errors'],
        }),
        thresholds: thresholdsUpTo(1, 100),
        span: 4,
        height: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'tradewatch writer backlog',
        description:
          'Rows waiting for QuestDB in memory and bytes in the on-disk spool, per writer: they grow while QuestDB is unreachable and drain when it is back.',
        unit: 'short',
        span: 20,
        sql:
          `SELECT ${writer.ts} AS time, ${writer.col('service')} || '/' || ${writer.col('instance')} AS series,\n` +
          `  max(${writer.col('queue_rows')}) AS queue_rows, max(${writer.col('spool_bytes')}) AS spool_bytes, max(${writer.col('rows_rejected')}) AS rows_rejected\n` +
          `FROM ${writer.name}\nWHERE $__timeFilter(${writer.ts}) AND ${byProcess(writer)}\n` +
          `SAMPLE BY $__sampleByInterval ORDER BY time`,
      }),
    );
  const withQuestDb = questDbPanels().reduce((b, p) => b.withPanel(p), trends.withRow(row('QuestDB')));
  return withQuestDb
    .withRow(row('Events'))
    .withPanel(
      tablePanel({
        title: 'Process lifecycle',
        description: 'Starts and clean stops in the range, newest first; a start not preceded by a stop is a crash.',
        sql:
          `SELECT ${events.ts}, ${events.col('service')}, ${events.col('instance')}, ${events.col('event')}, ${events.col('pid')}, ${events.col('version')}, ${events.col('reason')}\n` +
          `FROM ${events.name}\nWHERE $__timeFilter(${events.ts}) AND ${byProcess(events)}\nORDER BY ${events.ts} DESC LIMIT 200`,
        span: 12,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Recent errors',
        description: 'The latest errors in the range, newest first, with where they happened.',
        sql:
          `SELECT ${errors.ts}, ${errors.col('service')}, ${errors.col('instance')}, ${errors.col('component')}, ${errors.col('exchange')}, ${errors.col('kind')}, ${errors.col('message')}\n` +
          `FROM ${errors.name}\nWHERE $__timeFilter(${errors.ts}) AND ${byService(errors.col('service'))}\nORDER BY ${errors.ts} DESC LIMIT 200`,
        span: 12,
      }),
    )
    .build();
}
