/**
 * Alerting as code: Grafana alert rules on QuestDB, contact points (Telegram, Discord, e-mail, a dead-man's-switch
 * webhook) and the notification policy, generated from the `alerts` section of the config into Grafana's file
 * provisioning format under deploy/grafana/provisioning/alerting/. See docs/alerting.md.
 */
import type { AlertsConfig } from './config.js';
import { alertingFiles as filesFor, type AlertingFile, type AlertingFilesOptions } from './provisioning.js';

export {
  alertsConfigSchema,
  defaultAlertsConfig,
  durationMs,
  CRITICAL_BUDGET_MS,
  DELIVERY_ALLOWANCE_MS,
  SCHEDULER_BASE_INTERVAL_MS,
  TICK_SPREAD_MS,
  effectivePendingMs,
  worstCaseSendMs,
  CRITICAL_SEND_BUDGET_MS,
  SEVERITIES,
  type AlertsConfig,
  type AlertsConfigInput,
  type RuleSettings,
  type Severity,
} from './config.js';
export { CATALOG, RUNBOOKS_DOC, panelLinks, renderRunbooks, runbookAnchor, type CatalogEntry } from './catalog.js';
export { RULE_DEFAULTS, RULE_IDS, type RuleId, type RuleDefaults } from './rule-defaults.js';
export { RENAMED_RULES, renamedRuleRefusal, type RenamedRule } from './renamed-rules.js';
export { ruleSpecs, type ConditionSpec, type QuerySpec, type RuleSpec } from './rules.js';
export { SCRAPE_UP_METRIC, SDK_SCRAPED_METRICS } from './writer-evidence.js';
export {
  ALERT_ENV,
  CHANNEL_IDS,
  RECEIVERS,
  UNROUTED_ADDRESS,
  activeChannels,
  assertChannels,
  MESSAGE_TEMPLATE,
  TEMPLATE_NAME,
  checkChannels,
  type ChannelCheck,
  contactPoints,
  missingEnv,
  watchdogActive,
  type AlertEnv,
  type ChannelId,
  type ContactPointDef,
  type Integration,
} from './channels.js';
export {
  ALERTING_DIR,
  ALERT_QUERY_INTERVAL_MS,
  EXPRESSION_DATASOURCE_UID,
  GROUPS,
  RULE_LABEL,
  TEAM_LABEL,
  alertingDocuments,
  buildPolicy,
  buildRuleGroups,
  buildRules,
  ruleUid,
  type AlertingFile,
  type AlertingFilesOptions,
  type BuiltRule,
  type ProvisionedGroup,
  type ProvisionedRule,
  type RuleData,
} from './provisioning.js';

/**
 * The provisioning files under deploy/grafana/provisioning/alerting/ (rules.yaml, contact-points.yaml,
 * policies.yaml). Takes the `alerts` section, or the whole tradewatch config holding it. `env` decides which
 * channels exist: omitted (the checked-in files), none; `--from-env`, process.env.
 */
export function alertingFiles(config: AlertsConfig | { readonly alerts: AlertsConfig }, options: AlertingFilesOptions = {}): AlertingFile[] {
  return filesFor('alerts' in config ? config.alerts : config, options);
}
export {
  DEPLOY_CONFIG_DIR,
  DEPLOY_CONFIG_FILE,
  alertSettings,
  alertingRuleTable,
  channelVariables,
  composeAlertSettings,
  envExampleAlertSettings,
  renamedRuleVariables,
  type AlertSetting,
} from './deploy-settings.js';
