/**
 * Alerts overview: what needs attention now. Grafana keeps alert state (the alert-list panel below shows it,
 * whatever rules are provisioned); the history of its notifications is tradewatch's own (tw_alert_events, written
 * by the alert-history receiver). Everything else here is the current condition tradewatch's own data can show —
 * stale processes, disconnected channels, throttling, errors, gaps, rows the writer lost.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import { STALE_AFTER_S, serviceVariable } from './health.js';
import { dashboardSkeleton, row, statPanel, tablePanel, thresholdsUpTo, valueMappings } from './panels.js';
import { anyOf, tableRef, totalByResolution } from './sql.js';

export const ALERTS_UID = 'tradewatch-alerts';
/**
 * Title of the alert the generated alerting files raise while no notification channel is configured (Grafana
 * cannot read tradewatch's environment, so the status reaches the dashboard as Grafana's own alert state).
 */
export const NO_CHANNEL_ALERT_TITLE = 'No alert notification channel configured';
export const CHANNEL_STATUS_PANEL_TITLE = 'Notification channels';

const samples = tableRef(schema.processSamples);
const connections = tableRef(schema.connectionSamples);
const limits = tableRef(schema.rateLimits);
const errors = tableRef(schema.errors);
const gaps = tableRef(schema.dataGaps);
const writer = tableRef(schema.writerStats);
const history = tableRef(schema.alertEvents);

/** Seconds from the alert's start to its resolve, on resolved rows (null otherwise). */
const recoverySeconds =
  `CASE WHEN ${history.col('status')} = ${history.lit('status', 'resolved')} ` +
  `THEN (cast(${history.col('ends_at')} AS LONG) - cast(${history.col('starts_at')} AS LONG)) / 1000000.0 END`;

/** Grafana's built-in alert list (firing and pending alerts, from Grafana's own alert state). No query. */
class AlertListPanelBuilder implements cog.Builder<dashboard.Panel> {
  constructor(
    private readonly title: string,
    private readonly description: string,
    /** Only alerts whose name contains this (Grafana's alert-list filter); '' for all. */
    private readonly alertName = '',
    private readonly height = 10,
  ) {}

  build(): dashboard.Panel {
    return {
      type: 'alertlist',
      title: this.title,
      description: this.description,
      gridPos: { x: 0, y: 0, w: 24, h: this.height },
      options: {
        viewMode: 'list',
        groupMode: 'default',
        groupBy: [],
        maxItems: 50,
        sortOrder: 1,
        dashboardAlerts: false,
        alertName: this.alertName,
        alertInstanceLabelFilter: '',
        showInstances: true,
        stateFilter: { firing: true, pending: true, noData: true, normal: false, error: true },
      },
    };
  }
}

const zeroIsGood = thresholdsUpTo(1, 1);

export function alertsOverviewDashboard(): dashboard.Dashboard {
  const byService = (t: { col(name: string): string }) => anyOf(t.col('service'), 'service');
  return dashboardSkeleton({
    uid: ALERTS_UID,
    title: 'tradewatch / Alerts overview',
    description: 'What needs attention now: Grafana alerts, and the problem conditions visible in tradewatch data.',
    refresh: '30s',
    from: 'now-24h',
    variables: [serviceVariable()],
  })
    .withRow(row('Conditions in tradewatch data'))
    .withPanel(
      statPanel({
        title: 'Stale instances',
        description: `Instances seen in the range with no process sample in the last ${STALE_AFTER_S} s before the range end: down, hung, or unable to reach QuestDB.`,
        sql:
          `SELECT count() AS stale FROM (\n  SELECT ${samples.ts} FROM ${samples.name}\n  WHERE $__timeFilter(${samples.ts}) AND ${byService(samples)}\n` +
          `  LATEST ON ${samples.ts} PARTITION BY ${samples.col('service')}, ${samples.col('instance')}\n) WHERE ${samples.ts} < dateadd('s', -${STALE_AFTER_S}, $__toTime)`,
        thresholds: zeroIsGood,
        colorMode: common.BigValueColorMode.Background,
        span: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Disconnected channels',
        description: 'Exchange channels whose latest sample says disconnected.',
        sql:
          `SELECT count() AS disconnected FROM (\n  SELECT ${connections.col('connected')} FROM ${connections.name}\n  WHERE $__timeFilter(${connections.ts}) AND ${byService(connections)}\n` +
          `  LATEST ON ${connections.ts} PARTITION BY ${connections.col('service')}, ${connections.col('instance')}, ${connections.col('exchange')}, ${connections.col('channel')}\n) WHERE NOT ${connections.col('connected')}`,
        thresholds: zeroIsGood,
        colorMode: common.BigValueColorMode.Background,
        span: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Throttled exchanges',
        description: 'Exchanges whose latest rate-limit sample says requests are being throttled.',
        sql:
          `SELECT count() AS throttled FROM (\n  SELECT ${limits.col('throttled')} FROM ${limits.name}\n  WHERE $__timeFilter(${limits.ts}) AND ${byService(limits)}\n` +
          `  LATEST ON ${limits.ts} PARTITION BY ${limits.col('service')}, ${limits.col('instance')}, ${limits.col('exchange')}\n) WHERE ${limits.col('throttled')}`,
        thresholds: zeroIsGood,
        colorMode: common.BigValueColorMode.Background,
        span: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Errors',
        description: 'Errors reported in the range.',
        sql: totalByResolution(errors, {
          labels: [errors.col('service')],
          where: (l) => [byService(l)],
          raw: () => ['count() AS errors'],
          rollup: (l) => [`sum(${l.m('errors')}) AS errors`],
          outer: ['sum(errors) AS errors'],
        }),
        thresholds: thresholdsUpTo(1, 100),
        span: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Data gaps',
        description: 'Data gaps detected in the range.',
        sql: `SELECT count() AS gaps FROM ${gaps.name} WHERE $__timeFilter(${gaps.ts}) AND ${byService(gaps)}`,
        thresholds: zeroIsGood,
        span: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Rows lost by writers',
        description: 'Rows QuestDB rejected (quarantined) plus rows dropped by the overflow policy, per writer since it started, at its latest sample.',
        sql:
          `SELECT coalesce(sum(${writer.col('rows_rejected')} + ${writer.col('rows_dropped')}), 0) AS rows_lost FROM (\n` +
          `  SELECT ${writer.col('rows_rejected')}, ${writer.col('rows_dropped')} FROM ${writer.name}\n  WHERE $__timeFilter(${writer.ts}) AND ${byService(writer)}\n` +
          `  LATEST ON ${writer.ts} PARTITION BY ${writer.col('service')}, ${writer.col('instance')}\n)`,
        thresholds: zeroIsGood,
        span: 4,
      }),
    )
    .withRow(row('Grafana alerts'))
    .withPanel(
      new AlertListPanelBuilder(
        CHANNEL_STATUS_PANEL_TITLE,
        `Lists the alert "${NO_CHANNEL_ALERT_TITLE}" while no channel (Telegram, Discord, e-mail) is configured: alerts are then evaluated but sent to nobody. ` +
          'Empty: at least one channel is set. Set the channel variables in deploy/.env, then `docker compose up -d --force-recreate alerting grafana` (docs/alerting.md).',
        NO_CHANNEL_ALERT_TITLE,
        4,
      ),
    )
    .withPanel(
      new AlertListPanelBuilder(
        'Firing and pending alerts',
        "Grafana's own alert state for every provisioned rule; what was notified, and when it recovered, is in Alert history below.",
      ),
    )
    .withRow(row('Alert history'))
    .withPanel(
      tablePanel({
        title: 'Notifications per rule',
        description:
          'From tw_alert_events (every notification Grafana sent, through the tradewatch-history webhook): per rule, the alerts that fired and resolved in the range, and the time to recover (resolve minus start) of the resolved ones.',
        sql:
          `SELECT ${history.col('alertname')} AS rule,
` +
          `  sum(CASE WHEN ${history.col('status')} = ${history.lit('status', 'firing')} THEN 1 ELSE 0 END) AS fired,
` +
          `  sum(CASE WHEN ${history.col('status')} = ${history.lit('status', 'resolved')} THEN 1 ELSE 0 END) AS resolved,
` +
          `  avg(${recoverySeconds}) AS mean_recovery_s,
  max(${recoverySeconds}) AS max_recovery_s
` +
          `FROM ${history.name}
WHERE $__timeFilter(${history.ts})
GROUP BY ${history.col('alertname')}
ORDER BY fired DESC, rule`,
        span: 24,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'Notifications',
        description:
          'Every firing and resolved notification in the range, newest first (a repeat of the same state replaces its row). `recovered_after_s`: resolve minus start.',
        sql:
          `SELECT ${history.ts}, ${history.col('status')}, ${history.col('alertname')} AS rule, ${history.col('severity')}, ${history.col('labels')},
` +
          `  ${history.col('value')}, ${history.col('summary')}, ${history.col('starts_at')}, ${recoverySeconds} AS recovered_after_s
` +
          `FROM ${history.name}
WHERE $__timeFilter(${history.ts})
ORDER BY ${history.ts} DESC
LIMIT 1000`,
        mappings: valueMappings({ firing: { text: 'firing', color: 'red' }, resolved: { text: 'resolved', color: 'green' } }),
        span: 24,
        height: 10,
      }),
    )
    .build();
}
