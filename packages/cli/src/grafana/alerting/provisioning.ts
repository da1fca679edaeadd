/**
 * Grafana's file provisioning format for alerting (apiVersion 1): rule groups, contact points, the notification
 * policy tree. Shapes use the foundation SDK's alerting and expression types where they match the file format.
 */
import type * as alerting from '@grafana/grafana-foundation-sdk/alerting';
import type * as expr from '@grafana/grafana-foundation-sdk/expr';
import { stringify } from 'yaml';
import { QUESTDB_DATASOURCE, QUESTDB_DATASOURCE_UID, QueryFormat, type QuestDbQuery } from '../datasource.js';
import { ALERTS_UID, CHANNEL_STATUS_PANEL_TITLE, NO_CHANNEL_ALERT_TITLE } from '../alerts-overview.js';
import { buildDashboards } from '../index.js';
import {
  activeChannels,
  ALERT_ENV,
  allIntegrationUids,
  CHANNEL_IDS,
  MESSAGE_TEMPLATE,
  TEMPLATE_NAME,
  contactPoints,
  receiverFor,
  RECEIVERS,
  watchdogActive,
  type AlertEnv,
  type ContactPointDef,
} from './channels.js';
import type { AlertsConfig, Severity } from './config.js';
import type { RuleId } from './rule-defaults.js';
import { ruleSpecs, type RuleSpec } from './rules.js';
import { panelLinks, runbookAnchor } from './catalog.js';

export const EXPRESSION_DATASOURCE_UID = '__expr__';
const EXPRESSION_DATASOURCE = { type: EXPRESSION_DATASOURCE_UID, uid: EXPRESSION_DATASOURCE_UID };
export const ORG_ID = 1;
export const TEAM_LABEL = { team: 'tradewatch' } as const;
/** Label naming the tradewatch rule of an alert (for routing the watchdog and for silences). */
export const RULE_LABEL = 'tradewatch_rule';
export const GROUPS = { fast: 'tradewatch-fast', normal: 'tradewatch' } as const;
/** Alert queries in Grafana carry these (the panel defaults); `$__interval_ms` would be intervalMs. */
export const ALERT_QUERY_INTERVAL_MS = 1000;
export const ALERT_QUERY_MAX_DATA_POINTS = 43_200;

/** A rule's query or expression node: the SDK's Query, with the model as the file holds it (plain JSON). */
export type RuleData = Required<Pick<alerting.Query, 'refId' | 'datasourceUid' | 'relativeTimeRange'>> & {
  model: Record<string, unknown>;
};

/** A rule as the file lists it: the SDK's Rule without the API-only fields (org, folder uid, group). */
export type ProvisionedRule = Required<
  Pick<alerting.Rule, 'uid' | 'title' | 'condition' | 'noDataState' | 'execErrState' | 'for' | 'annotations' | 'labels' | 'isPaused'>
> & { data: RuleData[]; dashboardUid: string; panelId: number };

export interface ProvisionedGroup {
  orgId: number;
  name: string;
  folder: string;
  /** Evaluation interval (a duration string in the file; the SDK's RuleGroup has it in seconds). */
  interval: string;
  rules: ProvisionedRule[];
}

export const ruleUid = (id: RuleId) => `tw-${id.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** The JSON model of a node (the SDK's variant marker dropped, as JSON would). */
function plain<T extends object>(model: T): Record<string, unknown> {
  return JSON.parse(JSON.stringify(model)) as Record<string, unknown>;
}
const marker = { _implementsDataqueryVariant: () => {} };

function dataNodes(spec: Pick<RuleSpec, 'queries' | 'condition'>): { data: RuleData[]; condition: string } {
  const data: RuleData[] = spec.queries.map((q) => {
    const model: QuestDbQuery & { intervalMs: number; maxDataPoints: number } = {
      refId: q.refId,
      datasource: QUESTDB_DATASOURCE,
      queryType: 'sql',
      rawSql: q.sql,
      format: q.format,
      selectedFormat: q.format,
      intervalMs: ALERT_QUERY_INTERVAL_MS,
      maxDataPoints: ALERT_QUERY_MAX_DATA_POINTS,
      ...marker,
    };
    return { refId: q.refId, datasourceUid: QUESTDB_DATASOURCE_UID, relativeTimeRange: { from: q.lookbackS, to: 0 }, model: plain(model) };
  });
  const expression = (refId: string, model: object): RuleData => ({
    refId,
    datasourceUid: EXPRESSION_DATASOURCE_UID,
    relativeTimeRange: { from: 0, to: 0 },
    model: plain(model),
  });
  const c = spec.condition;
  if (c.kind === 'math') {
    const math: expr.TypeMath = { type: 'math', refId: 'C', expression: c.expression, datasource: EXPRESSION_DATASOURCE, ...marker };
    return { data: [...data, expression('C', math)], condition: 'C' };
  }
  let input = spec.queries[0]!.refId;
  if (c.reduce) {
    const { reducer, ...mode } = c.reduce;
    const reduce: expr.TypeReduce = {
      type: 'reduce',
      refId: 'B',
      expression: input,
      reducer,
      datasource: EXPRESSION_DATASOURCE,
      ...(mode.mode === 'strict' ? {} : { settings: mode }),
      ...marker,
    };
    data.push(expression('B', reduce));
    input = 'B';
  }
  const threshold: expr.TypeThreshold = {
    type: 'threshold',
    refId: 'C',
    expression: input,
    conditions: [{ evaluator: { type: c.op, params: [...c.params] } }],
    datasource: EXPRESSION_DATASOURCE,
    ...marker,
  };
  return { data: [...data, expression('C', threshold)], condition: 'C' };
}

export interface BuiltRule extends ProvisionedRule {
  readonly id: RuleId;
  readonly severity: Severity;
  readonly group: string;
  readonly spec: RuleSpec;
}

/** Every rule as provisioned: disabled ones (and the watchdog when it has nowhere to go) paused. */
export function buildRules(config: AlertsConfig, env: AlertEnv = {}): BuiltRule[] {
  const links = panelLinks();
  return ruleSpecs(config.rules).map((spec) => {
    const severity = spec.settings.severity;
    const paused = !config.enabled || !spec.settings.enabled || (spec.id === 'watchdog' && !watchdogActive(config, env));
    const { data, condition } = dataNodes(spec);
    return {
      id: spec.id,
      severity,
      group: spec.id === 'watchdog' || (severity !== 'critical' && !spec.fast) ? GROUPS.normal : GROUPS.fast,
      spec,
      uid: ruleUid(spec.id),
      title: spec.title,
      condition,
      data,
      noDataState: spec.noDataState,
      execErrState: spec.execErrState,
      for: spec.settings.for,
      annotations: { summary: spec.summary, description: spec.description, runbook_url: `${config.runbookBaseUrl}#${runbookAnchor(spec.id)}` },
      dashboardUid: links[spec.id].dashboardUid,
      panelId: links[spec.id].panelId,
      labels: { severity, ...TEAM_LABEL, [RULE_LABEL]: spec.id },
      isPaused: paused,
    };
  });
}

/** Label value (`tradewatch_rule`) and uid of the channel-status rule. */
export const CHANNEL_STATUS_RULE = 'notificationChannels';
export const CHANNEL_STATUS_UID = 'tw-notification-channels';

/**
 * Never silent (issue 12): Grafana cannot read tradewatch's environment, so the generator tells it how many
 * notification channels it provisioned, as the constant of a rule that fires while there are none. The Alerts
 * overview's "Notification channels" panel lists it (Grafana's own alert state), the history webhook records it, and
 * it resolves once a regeneration with a channel reaches Grafana. Not a catalog rule: it is about the deployment.
 */
export function channelStatusRule(config: AlertsConfig, env: AlertEnv = {}): ProvisionedRule {
  const channels = activeChannels(config, env).length;
  const { data, condition } = dataNodes({
    queries: [{ refId: 'A', sql: `SELECT ${channels}.0 AS notification_channels`, format: QueryFormat.Table, lookbackS: 60 }],
    condition: { kind: 'threshold', op: 'lt', params: [1] },
  });
  const variables = CHANNEL_IDS.filter((c) => config.channels[c].enabled).map((c) => Object.values(ALERT_ENV[c]).filter((v) => v !== ALERT_ENV.email.smtpEnabled).join(' + '));
  const board = buildDashboards().find((d) => d.model.uid === ALERTS_UID)?.model;
  const panel = ((board?.panels ?? []) as { title?: string; id?: number }[]).find((p) => p.title === CHANNEL_STATUS_PANEL_TITLE);
  if (panel?.id === undefined) throw new Error(`the ${ALERTS_UID} dashboard has no ${JSON.stringify(CHANNEL_STATUS_PANEL_TITLE)} panel`);
  return {
    uid: CHANNEL_STATUS_UID,
    title: NO_CHANNEL_ALERT_TITLE,
    condition,
    data,
    // Generated constant: nothing to miss; if QuestDB cannot answer, the status stays what it was.
    noDataState: 'KeepLast',
    execErrState: 'KeepLast',
    for: '0s',
    annotations: {
      summary: `No alert notification channel is configured (${channels} provisioned): alerts are evaluated and shown in Grafana but sent to nobody`,
      description: `Set ${variables.join(', or ')} in deploy/.env (e-mail also GF_SMTP_ENABLED=true), then run docker compose up -d --force-recreate alerting grafana; see docs/alerting.md.`,
    },
    dashboardUid: ALERTS_UID,
    panelId: panel.id,
    labels: { severity: 'warning', ...TEAM_LABEL, [RULE_LABEL]: CHANNEL_STATUS_RULE },
    isPaused: !config.enabled,
  };
}

export function buildRuleGroups(config: AlertsConfig, env: AlertEnv = {}): ProvisionedGroup[] {
  const rules = buildRules(config, env);
  const groups: ProvisionedGroup[] = [
    { orgId: ORG_ID, name: GROUPS.fast, folder: config.folder, interval: config.evaluation.fastInterval, rules: [] },
    { orgId: ORG_ID, name: GROUPS.normal, folder: config.folder, interval: config.evaluation.interval, rules: [] },
  ];
  for (const { id: _id, severity: _s, group, spec: _spec, ...rule } of rules) groups.find((g) => g.name === group)!.rules.push(rule);
  groups.find((g) => g.name === GROUPS.normal)!.rules.push(channelStatusRule(config, env));
  return groups.filter((g) => g.rules.length > 0);
}

/** The policy tree: the watchdog to its webhook, then criticals and warnings to their contact points. */
export function buildPolicy(config: AlertsConfig, points: readonly ContactPointDef[], env: AlertEnv = {}): alerting.NotificationPolicy {
  const team = ['team', '=', TEAM_LABEL.team];
  const routes: alerting.NotificationPolicy[] = [];
  if (points.some((p) => p.name === RECEIVERS.history)) {
    // First and `continue`: every alert (but the always-firing watchdog) is also recorded, one group per alert
    // instance (`...`), sent at once and resolved within 10 s; the routes below still decide who is told.
    routes.push({
      receiver: RECEIVERS.history,
      object_matchers: [[RULE_LABEL, '!=', 'watchdog']],
      group_by: ['...'],
      group_wait: '0s',
      group_interval: '10s',
      repeat_interval: '24h',
      continue: true,
    });
  }
  if (watchdogActive(config, env)) {
    const every = config.channels.watchdog.repeatInterval;
    routes.push({
      receiver: RECEIVERS.watchdog,
      object_matchers: [team, [RULE_LABEL, '=', 'watchdog']],
      group_by: ['alertname'],
      group_wait: '0s',
      group_interval: every,
      repeat_interval: every,
      continue: false,
    });
  }
  for (const severity of ['critical', 'warning'] as const) {
    const timing = config.notifications[severity];
    routes.push({
      receiver: receiverFor(severity, points),
      object_matchers: [team, ['severity', '=', severity]],
      group_by: [...config.notifications.groupBy],
      group_wait: timing.groupWait,
      group_interval: timing.groupInterval,
      repeat_interval: timing.repeatInterval,
      ...(config.maintenance.windows.length ? { mute_time_intervals: [MAINTENANCE_MUTE_TIMING] } : {}),
      continue: false,
    });
  }
  // Alerts of rules other than tradewatch's (the tree replaces the org's) go to the critical channels if any.
  const root = points.find((p) => p.name === RECEIVERS.critical) ?? points.find((p) => p.name === RECEIVERS.warning);
  const warning = config.notifications.warning;
  return {
    receiver: root?.name ?? RECEIVERS.unrouted,
    group_by: ['grafana_folder', 'alertname'],
    group_wait: warning.groupWait,
    group_interval: warning.groupInterval,
    repeat_interval: warning.repeatInterval,
    routes,
  };
}

export const MAINTENANCE_MUTE_TIMING = 'tradewatch-maintenance';

/** The maintenance windows as one Grafana mute timing (Alertmanager time intervals), or none. */
export function maintenanceMuteTimes(config: AlertsConfig) {
  const windows = config.maintenance.windows;
  if (windows.length === 0) return [];
  const intervals = windows.map((w) => {
    const [days, range] = w.split(' ') as [string, string];
    const [start, end] = range.split('-') as [string, string];
    return { times: [{ start_time: start, end_time: end }], weekdays: [days], location: config.maintenance.location };
  });
  return [{ orgId: ORG_ID, name: MAINTENANCE_MUTE_TIMING, time_intervals: intervals }];
}

export const ALERTING_DIR = 'deploy/grafana/provisioning/alerting';

export interface AlertingFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

export interface AlertingFilesOptions {
  /**
   * The environment that decides which channels exist (their variables set and non-empty). Default: none, which
   * is what the checked-in files are generated with; `tradewatch grafana generate --from-env` passes process.env.
   */
  readonly env?: AlertEnv;
}

const HEADER =
  '# Generated by `tradewatch grafana generate` from the `alerts` section of the config (src/grafana/alerting). Do not edit by hand.\n';

function render(comment: string, doc: object): string {
  return `${HEADER}${comment
    .split('\n')
    .map((l) => `# ${l}`.trimEnd())
    .join('\n')}\n${stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false })}`;
}

/** The three provisioning documents, as objects (the files are their YAML). */
export function alertingDocuments(config: AlertsConfig, options: AlertingFilesOptions = {}) {
  const env = options.env ?? {};
  const points = contactPoints(config, env);
  const provisioned = new Set(points.flatMap((p) => p.receivers.map((r) => r.uid)));
  return {
    rules: { apiVersion: 1, groups: buildRuleGroups(config, env) },
    contactPoints: {
      apiVersion: 1,
      templates: [{ orgId: ORG_ID, name: TEMPLATE_NAME, template: MESSAGE_TEMPLATE }],
      contactPoints: points.map((p) => ({ orgId: ORG_ID, name: p.name, receivers: p.receivers })),
      // Channels configured by an earlier generation and not now: removed (after the new policy is in place).
      deleteContactPoints: allIntegrationUids()
        .filter((uid) => !provisioned.has(uid))
        .map((uid) => ({ orgId: ORG_ID, uid })),
    },
    policies: { apiVersion: 1, muteTimes: maintenanceMuteTimes(config), policies: [{ orgId: ORG_ID, ...buildPolicy(config, points, env) }] },
  };
}

/** The files under deploy/grafana/provisioning/alerting/ for this config and environment. */
export function alertingFiles(config: AlertsConfig, options: AlertingFilesOptions = {}): AlertingFile[] {
  const docs = alertingDocuments(config, options);
  const channels = docs.contactPoints.contactPoints.map((p) => p.name).join(', ');
  return [
    {
      path: `${ALERTING_DIR}/rules.yaml`,
      content: render(
        'Alert rules on QuestDB through the provisioned datasource. Disabled rules are provisioned paused.\n' +
          'Timing of criticals (SC-003): see docs/alerting.md.',
        docs.rules,
      ),
    },
    {
      path: `${ALERTING_DIR}/contact-points.yaml`,
      content: render(
        `Contact points: ${channels}.\n` +
          'Only channels whose environment variables were set when this file was generated are present; Grafana expands\n' +
          'the referenced environment variables from its own environment when it loads the file (docs/alerting.md).',
        docs.contactPoints,
      ),
    },
    {
      path: `${ALERTING_DIR}/policies.yaml`,
      content: render('Notification policy tree (replaces the organization\'s).', docs.policies),
    },
  ];
}
