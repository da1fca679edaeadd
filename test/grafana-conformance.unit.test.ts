import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { ALERT_ENV, alertingDocuments, alertsConfigSchema, defaultAlertsConfig } from '../packages/cli/src/grafana/alerting/index.js';
import { checkProvisioning, GRAFANA_MODEL_VERSION, type ProvisioningInput } from './support/grafana-model/provisioning-checks.js';

// Grafana accepts the files: every check Grafana (12.3, the stack's image) applies to provisioned alerting
// files, run over the checked-in files, over the files a fully configured deployment generates, and over one
// broken copy per check (so a check that could never fail would show up here).

const PROVISIONING = 'deploy/grafana/provisioning';
const FULL_ENV = {
  [ALERT_ENV.watchdog.url]: 'https://hc-ping.invalid/uuid',
  [ALERT_ENV.telegram.botToken]: '123:abc',
  [ALERT_ENV.telegram.chatId]: '-100',
  [ALERT_ENV.discord.webhookUrl]: 'https://discord.invalid/api/webhooks/1/x',
  [ALERT_ENV.email.addresses]: 'ops@example.com',
  [ALERT_ENV.email.smtpHost]: 'smtp.example.com:587',
  [ALERT_ENV.email.smtpEnabled]: 'true',
};

function readDir(dir: string): Record<string, unknown> {
  const docs: Record<string, unknown> = {};
  for (const name of readdirSync(dir).filter((n) => /\.(ya?ml|json)$/.test(n))) docs[name] = parseYaml(readFileSync(join(dir, name), 'utf8'));
  return docs;
}

const datasources = readDir(`${PROVISIONING}/datasources`);
const generated = (env: Record<string, string> = FULL_ENV): ProvisioningInput => {
  const docs = alertingDocuments(defaultAlertsConfig(), { env });
  // Through YAML and back: exactly what Grafana reads.
  const round = (doc: object) => JSON.parse(JSON.stringify(doc)) as Record<string, unknown>;
  return { alerting: { 'rules.yaml': round(docs.rules), 'contact-points.yaml': round(docs.contactPoints), 'policies.yaml': round(docs.policies) }, datasources };
};

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
/** A generated input with one change applied to a deep copy of its alerting documents. */
function broken(change: (docs: { rules: Doc; points: Doc; policies: Doc }) => void): ProvisioningInput {
  const input = generated();
  const copy = structuredClone(input.alerting) as Record<string, Doc>;
  change({ rules: copy['rules.yaml']!, points: copy['contact-points.yaml']!, policies: copy['policies.yaml']! });
  return { alerting: copy, datasources };
}
const messages = (input: ProvisioningInput) => checkProvisioning(input).map((p) => `${p.where}: ${p.message}`);

describe(`Grafana ${GRAFANA_MODEL_VERSION} accepts the alerting provisioning files`, () => {
  test('the checked-in files pass every check', () => {
    const input = { alerting: readDir(`${PROVISIONING}/alerting`), datasources };
    assert.deepEqual(Object.keys(input.alerting).sort(), ['contact-points.yaml', 'policies.yaml', 'rules.yaml']);
    assert.deepEqual(messages(input), []);
  });

  test('the files of a deployment with every channel configured pass every check', () => {
    assert.deepEqual(messages(generated()), []);
    assert.deepEqual(messages(generated({})), []);
  });

  test('every group interval is a non-zero multiple of the 10 s scheduler tick', () => {
    const docs = readDir(`${PROVISIONING}/alerting`)['rules.yaml'] as Doc;
    for (const g of docs.groups as Doc[]) assert.match(g.interval, /^(10|20|30|40|50)s$|^\d+m$/, g.name);
  });

  const cases: [string, (d: { rules: Doc; points: Doc; policies: Doc }) => void, RegExp][] = [
    ['interval 15s (the shipped blocker)', (d) => (d.rules.groups[0].interval = '15s'), /interval \(15s\) should be non-zero and divided exactly by scheduler interval: 10/],
    ['interval 0s', (d) => (d.rules.groups[0].interval = '0s'), /should be non-zero/],
    ['interval not a duration', (d) => (d.rules.groups[0].interval = 'fast'), /is not a duration/],
    ['group without folder', (d) => (d.rules.groups[0].folder = ' '), /no folder set/],
    ['duplicate rule uid', (d) => (d.rules.groups[1].rules[0].uid = d.rules.groups[0].rules[0].uid), /already used by/],
    ['duplicate title in the folder', (d) => (d.rules.groups[1].rules[0].title = d.rules.groups[0].rules[0].title), /title already used in folder/],
    ['uid too long', (d) => (d.rules.groups[0].rules[0].uid = 'x'.repeat(41)), /not a valid Grafana uid/],
    ['condition refId missing', (d) => (d.rules.groups[0].rules[0].condition = 'Z'), /condition Z does not exist/],
    ['duplicate refId', (d) => (d.rules.groups[0].rules[0].data[1].refId = 'A'), /refID 'A' is already used/],
    ['unknown datasource', (d) => (d.rules.groups[0].rules[0].data[0].datasourceUid = 'nope'), /datasource nope is not provisioned/],
    ['threshold function unknown', (d) => (d.rules.groups[0].rules[0].data.at(-1).model.conditions[0].evaluator.type = 'above'), /no such threshold function above/],
    ['threshold input missing', (d) => (d.rules.groups[0].rules[0].data.at(-1).model.expression = 'Q'), /dependent node 'Q'/],
    ['reducer unknown', (d) => {
      const reduce = d.rules.groups.flatMap((g: Doc) => g.rules).flatMap((r: Doc) => r.data).find((n: Doc) => n.model.type === 'reduce');
      reduce.model.reducer = 'p99';
    }, /reducer "p99"/],
    ['math referencing a missing node', (d) => {
      const condition = d.rules.groups[0].rules[0].data.at(-1);
      condition.model = { type: 'math', refId: condition.refId, expression: '$A > $Q' };
    }, /dependent node 'Q'/],
    ['bad noDataState', (d) => (d.rules.groups[0].rules[0].noDataState = 'Quiet'), /unknown noDataState Quiet/],
    ['bad for', (d) => (d.rules.groups[0].rules[0].for = '15s5m'), /failed to parse 'for'/],
    ['reserved label', (d) => (d.rules.groups[0].rules[0].labels.__grafana_receiver__ = 'x'), /system reserved label/],
    ['${VAR} in an annotation', (d) => (d.rules.groups[0].rules[0].annotations.summary = '${HOME}'), /expands from the environment/],
    ['policy receiver unknown', (d) => (d.policies.policies[0].routes[0].receiver = 'pager'), /receiver 'pager' does not exist/],
    ['root receiver unknown', (d) => (d.policies.policies[0].receiver = 'pager'), /receiver 'pager' does not exist/],
    ['root with matchers', (d) => (d.policies.policies[0].object_matchers = [['team', '=', 'x']]), /root route must not have any matchers/],
    ['group_by duplicate', (d) => (d.policies.policies[0].routes[0].group_by = ['alertname', 'alertname']), /duplicated label "alertname"/],
    ['group_interval zero', (d) => (d.policies.policies[0].routes[0].group_interval = '0s'), /group_interval cannot be zero/],
    ['matcher operator', (d) => (d.policies.policies[0].routes[0].object_matchers[0][1] = '=='), /object_matchers\[0\]/],
    ['mute timing not provisioned', (d) => (d.policies.policies[0].routes[0].mute_time_intervals = ['maintenance']), /time interval 'maintenance' used in mute_time_intervals does not exist/],
    ['mute timing malformed', (d) => {
      d.policies.muteTimes = [{ orgId: 1, name: 'maintenance', time_intervals: [{ times: [{ start_time: '23:00', end_time: '01:00' }], weekdays: ['funday'], location: 'Mars/Base' }] }];
      d.policies.policies[0].routes[0].mute_time_intervals = ['maintenance'];
    }, /start_time must be before end_time/],
    ['contact point missing a setting', (d) => (d.points.contactPoints.find((p: Doc) => p.receivers.some((r: Doc) => r.type === 'telegram')).receivers.find((r: Doc) => r.type === 'telegram').settings.chatid = ''), /could not find chatid/],
    ['integration uid reused', (d) => (d.points.contactPoints[1].receivers[0].uid = d.points.contactPoints[0].receivers[0].uid), /already used by/],
    ['deleting a provisioned integration', (d) => d.points.deleteContactPoints.push({ orgId: 1, uid: d.points.contactPoints[0].receivers[0].uid }), /which is provisioned by/],
    ['apiVersion', (d) => (d.policies.apiVersion = 2), /apiVersion must be 1/],
    ['template unbalanced', (d) => (d.points.templates[0].template += '{{ if .Alerts }}'), /template does not parse/],
  ];
  for (const [name, change, expected] of cases) {
    test(`refused: ${name}`, () => {
      const found = messages(broken(change));
      assert.ok(found.some((m) => expected.test(m)), `expected ${expected} among:\n${found.join('\n')}`);
    });
  }

  test('a malformed mute timing reports each of its faults', () => {
    const found = messages(
      broken((d) => {
        d.policies.muteTimes = [{ name: 'm', time_intervals: [{ times: [{ start_time: '9:00', end_time: '10:00' }], weekdays: ['funday'], days_of_month: ['0'], months: ['13'], location: 'Mars/Base' }] }];
      }),
    );
    for (const re of [/HH:MM/, /weekdays: "funday"/, /days_of_month: "0"/, /months: "13"/, /location "Mars\/Base"/]) assert.ok(found.some((m) => re.test(m)), `${re}: ${found.join('\n')}`);
  });

  test('maintenance windows become one valid mute timing on every tradewatch route; bad windows are refused, naming the field', () => {
    const config = alertsConfigSchema.parse({ maintenance: { windows: 'sunday 02:00-04:00, saturday:sunday 23:00-24:00', location: 'Europe/Berlin' } });
    const docs = JSON.parse(JSON.stringify(alertingDocuments(config, { env: FULL_ENV }))) as Record<string, Doc>;
    const input = { alerting: { 'rules.yaml': docs.rules, 'contact-points.yaml': docs.contactPoints, 'policies.yaml': docs.policies }, datasources };
    assert.deepEqual(messages(input), []);
    assert.deepEqual(docs.policies!.muteTimes[0].time_intervals, [
      { times: [{ start_time: '02:00', end_time: '04:00' }], weekdays: ['sunday'], location: 'Europe/Berlin' },
      { times: [{ start_time: '23:00', end_time: '24:00' }], weekdays: ['saturday:sunday'], location: 'Europe/Berlin' },
    ]);
    const routes = docs.policies!.policies[0].routes as Doc[];
    for (const r of routes.filter((x) => !['tradewatch-watchdog', 'tradewatch-history'].includes(x.receiver))) assert.deepEqual(r.mute_time_intervals, ['tradewatch-maintenance'], r.receiver);
    assert.equal(routes.find((x) => x.receiver === 'tradewatch-history')!.mute_time_intervals, undefined, 'the history records maintenance too');
    assert.equal(routes.find((x) => x.receiver === 'tradewatch-watchdog')!.mute_time_intervals, undefined, "the dead-man's switch is never muted");
    for (const [windows, re] of [['sunday 04:00-02:00', /start before it ends/], ['sun 02:00-04:00', /weekday/], ['sunday 2:00-04:00', /HH:MM/]] as const) {
      const bad = alertsConfigSchema.safeParse({ maintenance: { windows } });
      assert.equal(bad.success, false, windows);
      assert.equal(bad.error!.issues[0]!.path.join('.'), 'maintenance.windows.0');
      assert.match(bad.error!.issues[0]!.message, re);
    }
    assert.match(alertsConfigSchema.safeParse({ maintenance: { location: 'Mars/Base' } }).error!.issues[0]!.message, /IANA/);
  });

  test('the config refuses an evaluation interval Grafana would refuse, naming the field', () => {
    for (const value of ['15s', '5s', '0s', '1m5s']) {
      const result = alertsConfigSchema.safeParse({ evaluation: { fastInterval: value } });
      assert.equal(result.success, false, value);
      const issue = result.error!.issues.find((i) => i.path.join('.') === 'evaluation.fastInterval');
      assert.ok(issue, `${value}: ${JSON.stringify(result.error!.issues)}`);
      assert.match(issue.message, /multiple of 10s/);
    }
    assert.equal(alertsConfigSchema.safeParse({ evaluation: { fastInterval: '10s', interval: '2m' } }).success, true);
  });
});
