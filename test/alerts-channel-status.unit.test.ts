/**
 * Never silent (issue 12, item 7): with no notification channel configured the generated alerting files carry a
 * firing "No alert notification channel configured" rule, which the Alerts overview's "Notification channels"
 * panel lists (Grafana's own alert state: Grafana cannot read tradewatch's environment); with a channel it is
 * quiet. The rule's value is a generated constant, so its verdict is evaluated here with the model of Grafana's
 * expressions, on the query's answer as QuestDB gives it for `SELECT <n>.0 AS notification_channels`.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ALERT_ENV, alertingDocuments, alertsConfigSchema, defaultAlertsConfig, type ProvisionedRule } from '../packages/cli/src/grafana/alerting/index.js';
import { CHANNEL_STATUS_UID } from '../packages/cli/src/grafana/alerting/provisioning.js';
import { evaluateRule } from './support/grafana-model/evaluate.js';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const TELEGRAM = { [ALERT_ENV.telegram.botToken]: '123:abc', [ALERT_ENV.telegram.chatId]: '-100' };

const statusRule = (config = defaultAlertsConfig(), env: Record<string, string> = {}) =>
  alertingDocuments(config, { env }).rules.groups.flatMap((g) => g.rules).find((r) => r.uid === CHANNEL_STATUS_UID)!;

/** What QuestDB answers to the rule's constant query: one row, one DOUBLE column. */
function answer(rule: ProvisionedRule) {
  const sql = String(rule.data.find((d) => d.refId === 'A')!.model.rawSql);
  const m = /^SELECT (\d+)\.0 AS notification_channels$/.exec(sql);
  assert.ok(m, sql);
  return { A: { columns: [{ name: 'notification_channels', type: 'DOUBLE' }], dataset: [[Number(m[1])]], count: 1 } };
}

describe('channel status: the dashboard shows that no channel is set', () => {
  test('no channel: the rule fires, naming the variables to set', () => {
    const rule = statusRule();
    const e = evaluateRule(rule, answer(rule));
    assert.equal(e.firing.length, 1, JSON.stringify(e));
    assert.equal(rule.isPaused, false);
    for (const name of [ALERT_ENV.telegram.botToken, ALERT_ENV.discord.webhookUrl, ALERT_ENV.email.addresses]) assert.match(String(rule.annotations.description), new RegExp(name));
  });

  test('a channel configured: the rule is quiet (and resolves in Grafana once regenerated)', () => {
    const rule = statusRule(defaultAlertsConfig(), TELEGRAM);
    const e = evaluateRule(rule, answer(rule));
    assert.equal(e.outcome, 'ok', JSON.stringify(e));
    assert.equal(e.instances.length, 1, 'judged on its value, not on missing data');
    assert.deepEqual(e.firing, []);
    // A channel disabled in the config does not count, whatever its variables.
    const off = statusRule(alertsConfigSchema.parse({ channels: { telegram: { enabled: false } } }), TELEGRAM);
    assert.equal(evaluateRule(off, answer(off)).firing.length, 1);
  });

  test('the checked-in files (no channel) carry it firing, linked to the Alerts overview panel that lists it', () => {
    const rules = (parseYaml(readFileSync('deploy/grafana/provisioning/alerting/rules.yaml', 'utf8')).groups as Doc[]).flatMap((g) => g.rules as Doc[]);
    const rule = rules.find((r) => r.uid === CHANNEL_STATUS_UID)!;
    assert.ok(rule, 'provisioned');
    const board = JSON.parse(readFileSync('deploy/grafana/provisioning/dashboards/alerts-overview.json', 'utf8')) as Doc;
    assert.equal(rule.dashboardUid, board.uid);
    const panel = (board.panels as Doc[]).find((p) => p.id === rule.panelId)!;
    assert.equal(panel.type, 'alertlist');
    assert.equal(panel.title, 'Notification channels');
    // The panel lists exactly this alert (Grafana's alert-list name filter), firing.
    assert.equal(panel.options.alertName, rule.title);
    assert.equal(panel.options.stateFilter.firing, true);
    assert.equal(evaluateRule(rule as ProvisionedRule, answer(rule as ProvisionedRule)).firing.length, 1);
    // Routed like a warning of the deployment: recorded by the history webhook, sent to the warning route.
    assert.equal(rule.labels.severity, 'warning');
  });
});
