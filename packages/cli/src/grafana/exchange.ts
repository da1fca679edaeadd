/** Exchange dashboard: is every exchange connection up, how fresh and fast is its data, are we rate limited? */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import {
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
import { STALE_AFTER_S } from './health.js';
import { anyOf, distinctAcross, perUnit, seriesByResolution, tableRef, viewOf } from './sql.js';

export const EXCHANGE_UID = 'tradewatch-exchange';

const events = tableRef(schema.connectionEvents);
const samples = tableRef(schema.connectionSamples);
const limits = tableRef(schema.rateLimits);

const SECOND_MS = 1000;

export function exchangeVariables() {
  const service = queryVariable({
    name: 'service',
    label: 'Service',
    description: 'Services that reported exchange connections.',
    sql: `SELECT DISTINCT ${samples.col('service')} FROM ${viewOf(samples, '1h')} ORDER BY 1`,
  });
  const exchange = queryVariable({
    name: 'exchange',
    label: 'Exchange',
    description: 'Exchanges the selected services connect to.',
    sql: distinctAcross('exchange', [samples, limits].map((t) => ({ from: viewOf(t, '1h'), column: t.col('exchange'), where: anyOf(t.col('service'), 'service') }))),
  });
  return [service, exchange];
}

/** Connection states as numbers for the state timeline (a string would become a series label). */
const STATE_CODES = { connected: 2, reconnecting: 1, disconnected: 0 } as const;

export function exchangeDashboard(): dashboard.Dashboard {
  const filters = (t: { col(name: string): string }) => [anyOf(t.col('service'), 'service'), anyOf(t.col('exchange'), 'exchange')];
  const channelLabel = (t: { col(name: string): string }) => `${t.col('exchange')} || ' ' || ${t.col('channel')} || ' @' || ${t.col('instance')}`;
  const stateCode =
    `CASE ${events.col('state')} ` +
    Object.entries(STATE_CODES)
      .map(([state, code]) => `WHEN ${events.lit('state', state)} THEN ${code}`)
      .join(' ') +
    ' END';
  const stateMappings = valueMappings({
    [STATE_CODES.connected]: { text: 'connected', color: 'green' },
    [STATE_CODES.reconnecting]: { text: 'reconnecting', color: 'orange' },
    [STATE_CODES.disconnected]: { text: 'disconnected', color: 'red' },
  });
  const latestSample = `LATEST ON ${samples.ts} PARTITION BY ${samples.col('service')}, ${samples.col('instance')}, ${samples.col('exchange')}, ${samples.col('channel')}`;
  const reconnection = `${events.col('state')} = ${events.lit('state', 'connected')} AND ${events.col('downtime_s')} IS NOT NULL`;

  return dashboardSkeleton({
    uid: EXCHANGE_UID,
    title: 'tradewatch / Exchange',
    description: 'Exchange connectivity: connection state per exchange and channel, latency, reconnections, data freshness, rate limits.',
    refresh: '10s',
    from: 'now-3h',
    variables: exchangeVariables(),
  })
    .withRow(row('Connections'))
    .withPanel(
      statPanel({
        title: 'Connection status',
        description: `Each exchange channel at its latest sample: green connected, red disconnected, red "no recent sample" when that sample is more than ${STALE_AFTER_S} s older than the range end (the daemon died, hangs or cannot reach QuestDB: its last state is no longer known).`,
        sql:
          `SELECT ${channelLabel(samples)} AS channel,\n  CASE WHEN ${samples.ts} < dateadd('s', -${STALE_AFTER_S}, $__toTime) THEN -1 WHEN ${samples.col('connected')} THEN 1 ELSE 0 END AS connected\n` +
          `FROM ${samples.name}\nWHERE $__timeFilter(${samples.ts}) AND ${filters(samples).join(' AND ')}\n${latestSample}`,
        perRow: true,
        colorMode: common.BigValueColorMode.Background,
        mappings: valueMappings({ '1': { text: 'connected', color: 'green' }, '0': { text: 'disconnected', color: 'red' }, '-1': { text: 'no recent sample', color: 'red' } }),
        span: 24,
        height: 4,
      }),
    )
    .withPanel(
      stateTimelinePanel({
        title: 'Connection timeline',
        description: 'State changes per exchange channel, starting from the state each was in when the range begins: the red stretches are outages.',
        mappings: stateMappings,
        sql:
          `SELECT * FROM (\n` +
          `  SELECT ${events.ts} AS time, ${channelLabel(events)} AS series, ${stateCode} AS state\n` +
          `  FROM ${events.name} WHERE ${events.ts} < $__fromTime AND ${filters(events).join(' AND ')}\n` +
          `  LATEST ON ${events.ts} PARTITION BY ${events.col('service')}, ${events.col('instance')}, ${events.col('exchange')}, ${events.col('channel')}\n` +
          `  UNION ALL\n` +
          `  SELECT ${events.ts} AS time, ${channelLabel(events)} AS series, ${stateCode} AS state\n` +
          `  FROM ${events.name} WHERE $__timeFilter(${events.ts}) AND ${filters(events).join(' AND ')}\n` +
          `) ORDER BY time`,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Reconnections',
        description: 'Reconnections in the range per exchange (a `connected` after an outage).',
        sql:
          `SELECT ${events.col('exchange')}, count() AS reconnections\nFROM ${events.name}\n` +
          `WHERE $__timeFilter(${events.ts}) AND ${reconnection} AND ${filters(events).join(' AND ')}\nGROUP BY ${events.col('exchange')}`,
        perRow: true,
        noValue: '0',
        thresholds: thresholdsUpTo(1, 5),
        span: 8,
        height: 8,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Outages',
        description: 'Each reconnection in the range with how long the connection was down.',
        unit: 's',
        sql:
          `SELECT ${events.ts} AS reconnected_at, ${events.col('exchange')}, ${events.col('channel')}, ${events.col('instance')}, ${events.col('downtime_s')}, ${events.col('reason')}\n` +
          `FROM ${events.name}\nWHERE $__timeFilter(${events.ts}) AND ${reconnection} AND ${filters(events).join(' AND ')}\nORDER BY ${events.ts} DESC LIMIT 200`,
        span: 16,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Channels',
        description: 'Latest sample per channel in the range: connected, when the last message arrived and how long before the range end (now, unless zoomed into the past), reconnects since the process started.',
        sql:
          `SELECT ${samples.col('exchange')}, ${samples.col('channel')}, ${samples.col('service')}, ${samples.col('instance')}, ${samples.col('connected')},\n` +
          `  ${samples.col('last_message_ts')}, datediff('s', ${samples.col('last_message_ts')}, $__toTime) AS seconds_since_message,\n` +
          `  ${samples.col('latency_ms_avg')}, ${samples.col('reconnects')}, ${samples.ts} AS sampled_at\n` +
          `FROM ${samples.name}\nWHERE $__timeFilter(${samples.ts}) AND ${filters(samples).join(' AND ')}\n${latestSample}`,
        height: 6,
      }),
    )
    .withRow(row('Traffic'))
    .withPanel(
      timeseriesPanel({
        title: 'WebSocket latency',
        description: 'Receive time minus exchange time per exchange channel: mean of the interval means, and the worst.',
        unit: 'ms',
        sql: seriesByResolution(samples, {
          labels: [samples.col('service'), samples.col('exchange'), samples.col('channel')],
          series: (l) => `${l.col('exchange')} || ' ' || ${l.col('channel')}`,
          where: (l) => filters(l),
          raw: (l) => [`avg(${l.col('latency_ms_avg')}) AS latency_avg`, `max(${l.col('latency_ms_max')}) AS latency_max`],
          rollup: (l) => [`sum(${l.m('latency_ms_avg_sum')}) / sum(${l.m('samples')}) AS latency_avg`, `max(${l.m('latency_ms_max')}) AS latency_max`],
        }),
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Messages / second',
        description: 'Messages received per second per exchange channel: zero while connected means a silent stream.',
        unit: 'short',
        sql: seriesByResolution(samples, {
          labels: [samples.col('service'), samples.col('exchange'), samples.col('channel')],
          series: (l) => `${l.col('exchange')} || ' ' || ${l.col('channel')}`,
          where: (l) => filters(l),
          raw: (l) => [`${perUnit(`sum(${l.col('messages')})`, SECOND_MS, l)} AS messages_per_s`],
          rollup: (l) => [`${perUnit(`sum(${l.m('messages')})`, SECOND_MS, l)} AS messages_per_s`],
        }),
      }),
    )
    .withRow(row('Rate limits'))
    .withPanel(
      timeseriesPanel({
        title: 'Rate-limit usage',
        description: 'Peak weight used as a share of the quota, per exchange: near 100 % the exchange starts refusing requests.',
        unit: 'percent',
        span: 16,
        sql: seriesByResolution(limits, {
          labels: [limits.col('service'), limits.col('exchange')],
          series: (l) => l.col('exchange'),
          where: (l) => filters(l),
          raw: (l) => [`max(${l.col('used')} / ${l.col('quota')} * 100) AS used_percent`],
          rollup: (l) => [`max(${l.m('used_max')}) / last(${l.m('quota')}) * 100 AS used_percent`],
        }),
      }),
    )
    .withPanel(
      statPanel({
        title: 'Throttled now',
        description: 'Whether each exchange is delaying or refusing our requests (HTTP 429/418) at its latest sample.',
        sql:
          `SELECT ${limits.col('exchange')} || ' @' || ${limits.col('instance')} AS exchange, CASE WHEN ${limits.col('throttled')} THEN 1 ELSE 0 END AS throttled\n` +
          `FROM ${limits.name}\nWHERE $__timeFilter(${limits.ts}) AND ${filters(limits).join(' AND ')}\n` +
          `LATEST ON ${limits.ts} PARTITION BY ${limits.col('service')}, ${limits.col('instance')}, ${limits.col('exchange')}`,
        perRow: true,
        mappings: valueMappings({ '0': { text: 'ok', color: 'green' }, '1': { text: 'throttled', color: 'red' } }),
        span: 8,
        height: 8,
      }),
    )
    .build();
}
