import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { QUESTDB_DATASOURCE_UID, QueryFormat } from '../packages/cli/src/grafana/index.js';
import {
  ALERT_ENV,
  ALERT_QUERY_INTERVAL_MS,
  alertingDocuments,
  alertingFiles,
  alertsConfigSchema,
  buildRules,
  CRITICAL_BUDGET_MS,
  defaultAlertsConfig,
  type AlertsConfig,
  DELIVERY_ALLOWANCE_MS,
  durationMs,
  EXPRESSION_DATASOURCE_UID,
  GROUPS,
  RECEIVERS,
  RULE_IDS,
  TICK_SPREAD_MS,
  worstCaseSendMs,
  CRITICAL_SEND_BUDGET_MS,
  type BuiltRule,
  type ProvisionedRule,
  type RuleId,
  SDK_SCRAPED_METRICS,
} from '../packages/cli/src/grafana/alerting/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { createMonitor, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter, SqlClient, type Writer } from '../packages/sdk/src/storage/index.js';
import { memoryLogger, prepareSchema, questDbUrl } from './fixtures/sdk-helpers.js';
import { useQuestDb } from './helpers/questdb.js';
import { settled } from './helpers/rows.js';
import { expandQuery } from './support/grafana-model/macros.js';
import { evaluateRule, type Evaluation, type QueryOutcome } from './support/grafana-model/evaluate.js';

// Alerting as code: the provisioning files' structure, channel selection from the environment, the critical
// timing budget, the evaluator, and every rule's query run on a real QuestDB (macros expanded as the plugin does)
// and evaluated with Grafana's semantics on a healthy scenario (must not fire) and its fault scenario (must fire).

const WATCHDOG_ENV = { [ALERT_ENV.watchdog.url]: 'https://hc-ping.invalid/uuid' };
const FULL_ENV = {
  ...WATCHDOG_ENV,
  [ALERT_ENV.telegram.botToken]: '123:abc',
  [ALERT_ENV.telegram.chatId]: '-100',
  [ALERT_ENV.discord.webhookUrl]: 'https://discord.invalid/api/webhooks/1/x',
  [ALERT_ENV.email.addresses]: 'ops@example.com',
  [ALERT_ENV.email.smtpHost]: 'smtp.example.com:587',
  [ALERT_ENV.email.smtpEnabled]: 'true',
};

describe('alerting provisioning files', () => {
  const config = defaultAlertsConfig();

  test('three files in Grafana provisioning format (apiVersion 1), rules well formed', () => {
    const files = alertingFiles({ alerts: config }, { env: FULL_ENV });
    assert.deepEqual(files.map((f) => f.path), [
      'deploy/grafana/provisioning/alerting/rules.yaml',
      'deploy/grafana/provisioning/alerting/contact-points.yaml',
      'deploy/grafana/provisioning/alerting/policies.yaml',
    ]);
    const [rules, points, policies] = files.map((f) => parseYaml(f.content) as Record<string, unknown>);
    for (const doc of [rules, points, policies]) assert.equal(doc!.apiVersion, 1);
    const groups = rules!.groups as { name: string; folder: string; interval: string; orgId: number; rules: ProvisionedRule[] }[];
    assert.deepEqual(groups.map((g) => g.name).sort(), [GROUPS.normal, GROUPS.fast].sort());
    const all = groups.flatMap((g) => g.rules);
    assert.equal(all.length, RULE_IDS.length + 1, 'one rule per id, and the channel-status rule');
    assert.equal(new Set(all.map((r) => r.uid)).size, all.length, 'unique uids');
    assert.equal(new Set(all.map((r) => r.title)).size, all.length, 'unique titles in the folder');
    for (const g of groups) {
      assert.equal(g.folder, 'tradewatch');
      assert.ok(durationMs(g.interval) >= 10_000);
    }
    for (const r of all) {
      const where = r.title;
      assert.match(r.uid, /^[a-zA-Z0-9_-]{1,40}$/, `${where}: uid`);
      assert.ok(['OK', 'Alerting', 'NoData', 'KeepLast'].includes(r.noDataState), where);
      assert.ok(['OK', 'Alerting', 'Error', 'KeepLast'].includes(r.execErrState), where);
      durationMs(r.for);
      assert.ok(['critical', 'warning'].includes(r.labels.severity!), `${where}: severity label`);
      assert.equal(r.labels.team, 'tradewatch');
      // Grafana expands $VARS in titles and labels, and ${VARS} in annotations of newer versions.
      assert.ok(!JSON.stringify([r.title, r.labels]).includes('$'), `${where}: no $ in title or labels`);
      assert.ok(!JSON.stringify(r.annotations).includes('${'), `${where}: no \${ in annotations`);
      assert.ok(r.annotations.summary && r.annotations.description, `${where}: summary and description`);
      const refs = new Set(r.data.map((d) => d.refId));
      assert.ok(refs.has(r.condition), `${where}: condition ${r.condition} is a node`);
      for (const d of r.data) {
        if (d.datasourceUid === EXPRESSION_DATASOURCE_UID) {
          assert.ok(['reduce', 'threshold', 'math'].includes(String(d.model.type)), `${where}: expression type`);
          const inputs = d.model.type === 'math' ? [...String(d.model.expression).matchAll(/\$(\w+)/g)].map((m) => m[1]!) : [String(d.model.expression)];
          for (const input of inputs) assert.ok(refs.has(input) && input !== d.refId, `${where}: ${d.refId} reads ${input}`);
        } else {
          assert.equal(d.datasourceUid, QUESTDB_DATASOURCE_UID);
          assert.equal(d.model.queryType, 'sql');
          assert.ok([QueryFormat.Table, QueryFormat.TimeSeries].includes(d.model.format as QueryFormat));
          assert.ok(d.relativeTimeRange.from! > 0 && d.relativeTimeRange.to === 0, `${where}: relative time range`);
          // No dashboard variables in alert queries (Grafana alerting has none): expansion must not need any.
          expandQuery(String(d.model.rawSql), { from: 0, to: 1, intervalMs: ALERT_QUERY_INTERVAL_MS });
        }
      }
    }
    // Only the QuestDB-unreachable and watchdog rules alert on query errors; the others keep their last state.
    assert.deepEqual(all.filter((r) => r.execErrState === 'Alerting').map((r) => r.uid).sort(), ['tw-questdb-unreachable', 'tw-watchdog']);
  });

  test('every critical is sent within 30 s of its condition: interval + tick spread + pending + group wait', () => {
    const fast = durationMs(config.evaluation.fastInterval);
    const criticals = buildRules(config).filter((r) => r.severity === 'critical');
    assert.ok(criticals.length >= 6);
    for (const r of criticals) {
      assert.equal(r.group, GROUPS.fast, `${r.title} is evaluated in the fast group`);
      const worst = worstCaseSendMs(fast, durationMs(r.for), config.notifications.critical.groupWait);
      assert.equal(worst, fast + TICK_SPREAD_MS + Math.ceil(durationMs(r.for) / fast) * fast + durationMs(config.notifications.critical.groupWait), r.title);
      assert.ok(worst <= CRITICAL_SEND_BUDGET_MS, `${r.title}: ${worst} ms`);
      assert.ok(worst + DELIVERY_ALLOWANCE_MS <= CRITICAL_BUDGET_MS, `${r.title}: SC-003`);
    }
    const disconnected = buildRules(config).find((r) => r.id === 'exchangeDisconnected')!;
    assert.equal(disconnected.group, GROUPS.fast, 'the exchange-disconnected warning is fast too');
  });

  test('config: defaults, env/flag spellings, and errors that name the field', () => {
    assert.equal(config.rules.exchangeDown.threshold, 300);
    const parsed = alertsConfigSchema.parse({
      rules: { cpuHigh: { enabled: 'false', threshold: 75 }, daemonDown: { severity: 'warning', for: '10m' } },
      channels: { email: { severities: 'critical,warning' } },
    });
    assert.equal(parsed.rules.cpuHigh.enabled, false);
    assert.equal(parsed.rules.cpuHigh.threshold, 75);
    assert.equal(parsed.rules.memoryHigh.threshold, 2048, 'untouched rules keep their defaults');
    assert.deepEqual(parsed.channels.email.severities, ['critical', 'warning']);
    const paused = buildRules(parsed).find((r) => r.id === 'cpuHigh')!;
    assert.equal(paused.isPaused, true, 'a disabled rule is provisioned paused');
    assert.equal(buildRules(parsed).find((r) => r.id === 'daemonDown')!.group, GROUPS.normal);

    // Per-exchange liquidation thresholds: a mapping in YAML, `id=usd,…` from an environment variable or flag.
    const overrides = (c: AlertsConfig) => (c.rules.liquidationBurst as Record<string, unknown>)['exchangeThresholds'];
    const fromEnv = alertsConfigSchema.parse({ rules: { liquidationBurst: { exchangeThresholds: 'binanceusdm=500000, bybit=2000000' } } });
    assert.deepEqual(overrides(fromEnv), { binanceusdm: 500000, bybit: 2000000 });
    assert.deepEqual(overrides(alertsConfigSchema.parse({ rules: { liquidationBurst: { exchangeThresholds: { okx: 1e6 } } } })), { okx: 1e6 });
    assert.deepEqual(overrides(config), {}, 'no override by default');
    for (const [bad, field] of [['binanceusdm=lots', 'binanceusdm'], ['bybit', 'bybit'], ['bybit=-5', 'bybit'], ["x'; DROP=5", "x'; DROP"]] as const) {
      const r = alertsConfigSchema.safeParse({ rules: { liquidationBurst: { exchangeThresholds: bad } } });
      assert.equal(r.success, false, `refused: ${bad}`);
      const path = r.error!.issues[0]!.path.join('.');
      assert.ok(path.startsWith('rules.liquidationBurst.exchangeThresholds'), `names the field: ${path}`);
      assert.ok(JSON.stringify(r.error!.issues).includes(field.split("'")[0]!), `names the entry ${field}: ${JSON.stringify(r.error!.issues)}`);
    }

    const slow = alertsConfigSchema.safeParse({ rules: { daemonDown: { for: '20s' } } });
    assert.equal(slow.success, false);
    assert.deepEqual(slow.error!.issues[0]!.path, ['rules', 'daemonDown', 'for']);
    assert.match(slow.error!.issues[0]!.message, /within 30 s/);
    const bad = alertsConfigSchema.safeParse({ rules: { cpuHigh: { for: 'soon' } }, channels: { telegram: { severities: ['page'] } } });
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).sort(), ['channels.telegram.severities.0', 'rules.cpuHigh.for']);
    assert.equal(alertsConfigSchema.safeParse({ rules: { nope: {} } }).success, false, 'unknown rules are rejected');
  });

  test('tradewatch.alerts.example.yaml is valid and shows the defaults', () => {
    const example = parseYaml(readFileSync(new URL('../tradewatch.alerts.example.yaml', import.meta.url), 'utf8')) as { alerts: unknown };
    assert.deepEqual(alertsConfigSchema.parse(example.alerts), config);
  });

  test('channels: provisioned only when enabled and their environment variables are set', () => {
    const names = (env: Record<string, string>, c = config) => alertingDocuments(c, { env }).contactPoints.contactPoints;
    // The alert-history webhook is a record, not a channel: checked on its own below.
    const types = (env: Record<string, string>, c = config) =>
      Object.fromEntries(names(env, c).filter((p) => p.name !== RECEIVERS.history).map((p) => [p.name, p.receivers.map((r) => r.type).sort()]));

    assert.deepEqual(types({}), { [RECEIVERS.unrouted]: ['email'] }, 'nothing set: only the placeholder');
    assert.deepEqual(types(FULL_ENV), {
      [RECEIVERS.critical]: ['discord', 'email', 'telegram'],
      [RECEIVERS.warning]: ['discord', 'telegram'],
      [RECEIVERS.watchdog]: ['webhook'],
    });
    const telegramOnly = { [ALERT_ENV.telegram.botToken]: 'x', [ALERT_ENV.telegram.chatId]: '1' };
    assert.deepEqual(types(telegramOnly), { [RECEIVERS.critical]: ['telegram'], [RECEIVERS.warning]: ['telegram'] });
    assert.deepEqual(types({ [ALERT_ENV.telegram.botToken]: 'x', [ALERT_ENV.telegram.chatId]: ' ' }), { [RECEIVERS.unrouted]: ['email'] }, 'blank = unset');
    assert.deepEqual(types({ [ALERT_ENV.email.addresses]: 'a@b.c' }), { [RECEIVERS.unrouted]: ['email'] }, 'e-mail needs Grafana SMTP too');
    const discordOff = alertsConfigSchema.parse({ channels: { discord: { enabled: false } } });
    assert.deepEqual(types(FULL_ENV, discordOff)[RECEIVERS.critical], ['email', 'telegram'], 'disabled in config: absent');

    // The history webhook: on by default at the compose service, off by config; its token referenced, never written.
    const history = (env: Record<string, string>, c = config) => names(env, c).find((p) => p.name === RECEIVERS.history)?.receivers;
    assert.deepEqual(history({}), [{ uid: 'tw-history-webhook', type: 'webhook', disableResolveMessage: false, settings: { url: 'http://alert-history:9095/', httpMethod: 'POST' } }]);
    assert.equal(history({}, alertsConfigSchema.parse({ history: { enabled: false } })), undefined);
    assert.equal(history({}, alertsConfigSchema.parse({ history: { url: 'https://h.example/x' } }))![0]!.settings.url, 'https://h.example/x');
    assert.deepEqual(history({ [ALERT_ENV.history.token]: 'tok-secret' })![0]!.settings, {
      url: 'http://alert-history:9095/',
      httpMethod: 'POST',
      authorization_scheme: 'Bearer',
      authorization_credentials: `$${ALERT_ENV.history.token}`,
    });
    assert.ok(!alertingFiles(config, { env: { [ALERT_ENV.history.token]: 'tok-secret' } }).some((f) => f.content.includes('tok-secret')));
    assert.throws(() => alertsConfigSchema.parse({ history: { url: 'not a url' } }), /expected the receiver URL/);

    // Secrets are referenced, never written.
    const content = alertingFiles(config, { env: FULL_ENV }).map((f) => f.content).join('\n');
    for (const [name, value] of Object.entries(FULL_ENV)) {
      if (name === ALERT_ENV.email.smtpEnabled) continue; // Grafana's own setting, 'true'
      if (name !== ALERT_ENV.email.smtpHost) assert.ok(content.includes(`$${name}`), `${name} referenced`);
      assert.ok(!content.includes(value), `${name}'s value not written`);
    }

    // Absent channels are deleted (after the new policy no longer routes to them), present ones are not.
    const docs = alertingDocuments(config, { env: telegramOnly });
    const deleted = docs.contactPoints.deleteContactPoints.map((d) => d.uid);
    assert.ok(deleted.includes('tw-critical-discord') && deleted.includes('tw-watchdog-webhook'));
    assert.ok(!deleted.includes('tw-critical-telegram'));

    // The policy routes only to contact points that exist, and the watchdog only when its URL is set.
    for (const env of [{}, telegramOnly, FULL_ENV]) {
      const d = alertingDocuments(config, { env });
      const existing = new Set(d.contactPoints.contactPoints.map((p) => p.name));
      const policy = d.policies.policies[0]!;
      for (const receiver of [policy.receiver, ...policy.routes!.map((r) => r.receiver)]) assert.ok(existing.has(receiver!), receiver);
      const watchdogRule = d.rules.groups.flatMap((g) => g.rules).find((r) => r.uid === 'tw-watchdog')!;
      assert.equal(watchdogRule.isPaused, !(ALERT_ENV.watchdog.url in env), 'watchdog paused without its URL');
    }
    const full = alertingDocuments(config, { env: FULL_ENV }).policies.policies[0]!;
    // First the history (continue: true, every alert but the watchdog), then the watchdog, and nowhere else.
    assert.equal(full.routes![0]!.receiver, RECEIVERS.history);
    assert.equal(full.routes![0]!.continue, true, 'the history never stops routing');
    assert.deepEqual(full.routes![0]!.object_matchers, [['tradewatch_rule', '!=', 'watchdog']]);
    assert.equal(full.routes![1]!.receiver, RECEIVERS.watchdog, 'watchdog routed before any channel');
    assert.equal(full.routes![1]!.continue, false, 'and nowhere else');
    const critical = full.routes!.find((r) => r.receiver === RECEIVERS.critical)!;
    assert.deepEqual(critical.object_matchers, [['team', '=', 'tradewatch'], ['severity', '=', 'critical']]);
    assert.deepEqual(critical.group_by, ['service', 'exchange'], 'grouped by the incident subject, not the rule');
    // Resolved (recovery) messages on every channel by default.
    const receivers = alertingDocuments(config, { env: FULL_ENV }).contactPoints.contactPoints.filter((p) => p.name !== RECEIVERS.watchdog);
    assert.ok(receivers.every((p) => p.receivers.every((r) => r.disableResolveMessage === false)));
  });
});

describe('rule evaluator (Grafana semantics)', () => {
  const rule = (id: RuleId) => buildRules(defaultAlertsConfig(), WATCHDOG_ENV).find((r) => r.id === id)!;
  const table = (labels: string[], rows: unknown[][]) => ({
    columns: [...labels.map((name) => ({ name, type: 'SYMBOL' })), { name: 'v', type: 'DOUBLE' }],
    dataset: rows,
  });
  const ts = (labels: string[], rows: unknown[][]) => ({
    columns: [{ name: 'time', type: 'TIMESTAMP' }, ...labels.map((name) => ({ name, type: 'SYMBOL' })), { name: 'v', type: 'FLOAT' }],
    dataset: rows,
  });

  test('numeric tables: one instance per row; threshold; noData and errors mapped by the rule', () => {
    const r = rule('daemonDown');
    const e = evaluateRule(r, { A: table(['service', 'instance'], [['s', 'a', 5], ['s', 'b', 31], ['s', 'c', null]]) });
    // c has no value: NoData, mapped by noDataState KeepLast (its previous state stands: no new instance state).
    assert.deepEqual(e.instances.map((i) => [i.labels.instance, i.state]), [['a', 'Normal'], ['b', 'Alerting']]);
    assert.equal(e.firing[0]!.values.A, 31);
    assert.equal(evaluateRule(r, { A: table(['service'], []) }).outcome, 'noData');
    assert.equal(evaluateRule(r, { A: table(['service'], []) }).keptLastState, true, 'noDataState KeepLast');
    assert.equal(evaluateRule(rule('cpuHigh'), { A: table(['service'], []) }).firing.length, 0, 'noDataState OK');
    const dup = evaluateRule(r, { A: table(['service'], [['s', 40], ['s', 50]]) });
    assert.equal(dup.outcome, 'error');
    assert.match(dup.error!, /duplicate/);
    assert.equal(evaluateRule(r, { A: { error: 'connection refused' } }).keptLastState, true, 'KeepLast');
    assert.equal(evaluateRule(rule('questdbUnreachable'), { A: { error: 'connection refused' } }).firing.length, 1, 'execErrState Alerting');
    assert.equal(evaluateRule(rule('questdbUnreachable'), { A: table([], []) }).firing.length, 1, 'noDataState Alerting');
  });

  test('reduce modes on series: strict, dropNN; reducers last/mean', () => {
    const cpu = rule('cpuHigh'); // mean, dropNN, > 90
    const rows = [['t1', 'i', 95], ['t2', 'i', null], ['t3', 'i', 99]];
    assert.equal(evaluateRule(cpu, { A: ts(['instance'], rows) }).firing.length, 1, 'dropNN ignores the null');
    const strict: BuiltRule = JSON.parse(JSON.stringify(cpu)) as BuiltRule;
    delete strict.data.find((d) => d.refId === 'B')!.model.settings;
    const e = evaluateRule(strict, { A: ts(['instance'], rows) });
    assert.ok(Number.isNaN(e.instances[0]!.values.B), 'strict: a null point makes the mean NaN');
    assert.equal(e.firing.length, 0, 'NaN > 90 is false');
    const replace = JSON.parse(JSON.stringify(cpu)) as BuiltRule;
    replace.data.find((d) => d.refId === 'B')!.model.settings = { mode: 'replaceNN', replaceWithValue: 0 };
    assert.equal(evaluateRule(replace, { A: ts(['instance'], rows) }).instances[0]!.values.B, (95 + 0 + 99) / 3);
    const allNull = evaluateRule(cpu, { A: ts(['instance'], [['t1', 'i', null]]) });
    assert.equal(allNull.instances[0]!.state, 'Normal', 'dropNN of nothing: no value → NoData → noDataState OK');
    const unsorted = evaluateRule(cpu, { A: ts(['instance'], [['t2', 'i', 1], ['t1', 'i', 2]]) });
    assert.equal(unsorted.outcome, 'error');
    assert.match(unsorted.error!, /sorted by time/);
    const last = JSON.parse(JSON.stringify(cpu)) as BuiltRule;
    last.data.find((d) => d.refId === 'B')!.model.reducer = 'last';
    assert.equal(evaluateRule(last, { A: ts(['instance'], [['t1', 'i', 4000], ['t2', 'i', 10]]) }).firing.length, 0, 'last, not max');
  });

  test('math: joins numbers by labels', () => {
    const spike = JSON.parse(JSON.stringify(rule('daemonDown'))) as BuiltRule;
    const query = spike.data[0]!;
    spike.data = [query, { ...query, refId: 'B' }, { ...spike.data[1]!, model: { type: 'math', refId: 'C', expression: '$A > 30 && $A > 5 * $B' } }];
    const A = table(['service'], [['a', 40], ['b', 40], ['c', 10]]);
    const B = table(['service'], [['a', 2], ['b', 20], ['c', 0]]);
    const e = evaluateRule(spike, { A, B });
    assert.deepEqual(e.firing.map((i) => i.labels.service), ['a']);
    assert.deepEqual(e.firing[0]!.values, { A: 40, B: 2, C: 1 });
  });
});

// ---- real QuestDB ----

const server = await useQuestDb(undefined, { schema: true });
const sqlClient = await prepareSchema(server);
const url = questDbUrl(server);
const logger = memoryLogger();
const MIN = 60_000;
const us = (ms: number) => Math.round(ms * 1000);
let writer: Writer;
let okMonitor: Monitor;
let faultMonitor: Monitor;
const rules = buildRules(defaultAlertsConfig(), WATCHDOG_ENV);

/** Waits until QuestDB has applied every WAL transaction (rows and materialized views visible). */
async function applied(): Promise<void> {
  await okMonitor.flush();
  await faultMonitor.flush();
  await writer.flush();
  await settled(sqlClient);
}

/** Runs a rule's queries as Grafana would now: relative range, macros expanded, against `client`. */
async function evaluateNow(rule: ProvisionedRule, client: SqlClient = sqlClient): Promise<Evaluation> {
  const now = Date.now();
  const results: Record<string, QueryOutcome> = {};
  for (const d of rule.data.filter((x) => x.datasourceUid !== EXPRESSION_DATASOURCE_UID)) {
    const sql = expandQuery(String(d.model.rawSql), {
      from: now - d.relativeTimeRange.from! * 1000,
      to: now - d.relativeTimeRange.to! * 1000,
      intervalMs: Number(d.model.intervalMs),
    });
    try {
      results[d.refId] = await client.query(sql);
    } catch (err) {
      results[d.refId] = { error: (err as Error).message };
    }
  }
  return evaluateRule(rule, results);
}

const processSample = (service: string, instance: string, at: number, cpu: number, rssMiB: number) =>
  writer.write(schema.processSamples, { ts: us(at), service, instance, pid: 1, uptime_s: 600, rss_bytes: rssMiB * 1_048_576, heap_used_bytes: 1e7, heap_total_bytes: 2e7, cpu_percent: cpu, event_loop_lag_ms: 2 });
const connectionSample = (instance: string, exchange: string, channel: string, at: number, latency: number | null) =>
  writer.write(schema.connectionSamples, { ts: us(at), service: 'tw-alert', instance, exchange, channel, connected: true, messages: latency === null ? 0 : 10, latency_ms_avg: latency, latency_ms_max: latency, last_message_ts: us(latency === null ? at - 30_000 : at), reconnects: 0 });
const writerStats = (instance: string, at: number, lagMs: number, spoolBytes: number) =>
  writer.write(schema.writerStats, { ts: us(at), service: 'tw-alert', instance, queue_rows: 0, spool_bytes: spoolBytes, rows_written: 100, rows_rejected: 0, rows_dropped: 0, lag_ms: lagMs });
/** The exporter's scrape of a writer's /metrics: its identity, spool size and spool bound (1 GiB, the default). */
const spoolScrape = (instance: string, at: number, spoolMiB: number) => {
  const row = { ts: us(at), service: 'tw-alert-metrics', instance: `${instance}:9464`, kind: 'gauge', source: `http://${instance}:9464/metrics` } as const;
  writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.processInfo, labels: `instance="${instance}",pid="1",service="tw-alert",version="1"`, value: 1 });
  writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.writerSpoolBytes, labels: 'service="tw-alert"', value: spoolMiB * 1_048_576 });
  writer.write(schema.metrics, { ...row, name: SDK_SCRAPED_METRICS.writerSpoolMaxBytes, labels: 'service="tw-alert"', value: 1024 * 1_048_576 });
};

/** A normally working system: every rule's source has data, none alarming. */
function loadHealthy(now: number): void {
  for (let i = 0; i < 8; i++) processSample('tw-alert', 'ok-1', now - 2000 - i * 30_000, 20, 200);
  writer.write(schema.processEvents, { ts: us(now - 10 * MIN), service: 'tw-alert', instance: 'ok-1', event: 'start', pid: 1 });
  // Stopped cleanly ten minutes ago: not down.
  processSample('tw-alert', 'stopped-1', now - 10 * MIN, 10, 100);
  writer.write(schema.processEvents, { ts: us(now - 20 * MIN), service: 'tw-alert', instance: 'stopped-1', event: 'start', pid: 2 });
  writer.write(schema.processEvents, { ts: us(now - 10 * MIN + 1), service: 'tw-alert', instance: 'stopped-1', event: 'stop', pid: 2 });
  for (let i = 0; i < 8; i++) {
    connectionSample('ok-1', 'binanceusdm', 'liquidations', now - 1000 - i * 30_000, i === 3 ? null : 50);
    writerStats('ok-1', now - 1000 - i * 60_000, 120, 0);
    spoolScrape('ok-1', now - 1000 - i * 60_000, 0);
  }
  for (let i = 0; i < 3; i++) okMonitor.error(new Error('timeout'), { component: 'fetcher', exchange: 'binanceusdm', kind: 'RequestTimeout', at: now - (5 + i * 7) * MIN });
  // A reconnect nine minutes ago: connected again now.
  okMonitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'connected', at: now - 20 * MIN });
  okMonitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'disconnected', at: now - 10 * MIN });
  okMonitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'reconnecting', at: now - 10 * MIN + 500 });
  okMonitor.connectionState({ exchange: 'binanceusdm', channel: 'liquidations', state: 'connected', at: now - 9 * MIN });
  for (let i = 0; i < 10; i++) {
    okMonitor.fetch({ exchange: 'binanceusdm', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: i === 4 ? 'timeout' : 'ok', latencyMs: 40, at: now - 1000 - i * 30_000 });
  }
  // A normal Binance minute: a liquidation every few seconds per symbol, ~$150k in all (threshold: $1M/min).
  for (let i = 0; i < 20; i++) okMonitor.liquidation({ exchange: 'binanceusdm', symbol: 'BTC/USDT:USDT', side: 'sell', price: 60_000, amount: 0.1, at: now - 1000 - i * 2000 });
  for (let i = 0; i < 10; i++) okMonitor.liquidation({ exchange: 'binanceusdm', symbol: 'ETH/USDT:USDT', side: 'buy', price: 3000, amount: 1, valueUsd: 3000, at: now - 1500 - i * 5000 });
  okMonitor.rateLimit({ exchange: 'binanceusdm', used: 300, quota: 1200, throttled: false, at: now - 10 * MIN });
  okMonitor.rateLimit({ exchange: 'binanceusdm', used: 600, quota: 1200, throttled: false, at: now - 5000 });
  const run = okMonitor.strategy({ strategy: 'grid', runId: 'live-1', mode: 'live' });
  [1000, 1010, 1005].forEach((equity, i) => run.pnl({ realized: 0, unrealized: equity - 1000, equity, at: now - (3 - i) * MIN }));
  for (let i = 0; i < 20; i++) {
    run.order({ exchange: 'binanceusdm', symbol: 'BTC/USDT:USDT', orderId: `ok-${i}`, side: 'buy', status: i === 7 ? 'rejected' : 'new', amount: 1, at: now - 1000 - i * 10_000 });
  }
  // A backtest's losses and rejects never alert.
  const backtest = okMonitor.strategy({ strategy: 'grid', runId: 'bt-1', mode: 'backtest' });
  [1000, 500].forEach((equity, i) => backtest.pnl({ realized: 0, unrealized: 0, equity, at: now - (2 - i) * MIN }));
}

/** Fault scenarios, each with its own labels: which instance each rule must fire for. */
const FAULTS: { readonly [K in RuleId]?: readonly Record<string, string>[] } = {
  daemonDown: [{ instance: 'dead-1' }],
  memoryHigh: [{ instance: 'fat-1' }],
  cpuHigh: [{ instance: 'hot-1' }],
  errorRateSpike: [{ service: 'tw-alert-fault', exchange: 'kraken' }],
  exchangeDisconnected: [{ exchange: 'bybit', channel: 'liquidations' }, { exchange: 'okx', channel: 'liquidations' }],
  exchangeDown: [{ exchange: 'bybit', channel: 'liquidations' }],
  staleData: [{ exchange: 'bybit', dataset: 'funding_rate' }],
  dataGaps: [{ exchange: 'bybit', dataset: 'open_interest' }],
  liquidationBurst: [{ exchange: 'binanceusdm' }],
  rateLimit: [{ exchange: 'bybit' }],
  websocketLatency: [{ exchange: 'bybit', channel: 'trades' }],
  silentStream: [{ exchange: 'okx', channel: 'trades' }],
  writerLag: [{ instance: 'lag-1' }],
  spoolFull: [{ instance: 'spool-1' }],
  drawdown: [{ strategy: 'crash' }],
  orderRejectRate: [{ strategy: 'rejecty' }],
  watchdog: [{}],
};

function loadFaults(now: number): void {
  processSample('tw-alert', 'dead-1', now - 2 * MIN, 20, 200);
  processSample('tw-alert', 'dead-1', now - 3 * MIN, 20, 200);
  writer.write(schema.processEvents, { ts: us(now - 10 * MIN), service: 'tw-alert', instance: 'dead-1', event: 'start', pid: 3 });
  for (let i = 0; i < 6; i++) {
    processSample('tw-alert', 'fat-1', now - 1000 - i * 30_000, 20, 3000 + i);
    processSample('tw-alert', 'hot-1', now - 1000 - i * 30_000, i === 2 ? 90 : 97, 200);
  }
  for (let i = 0; i < 80; i++) faultMonitor.error(new Error('boom'), { component: 'fetcher', exchange: 'bybit', kind: 'ExchangeNotAvailable', at: now - 1000 - i * 1000 });
  // bybit liquidations: lost six minutes ago, reconnect attempts since (they do not restart the clock).
  faultMonitor.connectionState({ exchange: 'bybit', channel: 'liquidations', state: 'connected', at: now - 20 * MIN });
  faultMonitor.connectionState({ exchange: 'bybit', channel: 'liquidations', state: 'disconnected', at: now - 6 * MIN });
  for (let i = 1; i <= 5; i++) faultMonitor.connectionState({ exchange: 'bybit', channel: 'liquidations', state: 'reconnecting', at: now - (6 - i) * MIN });
  // okx: lost 30 s ago: the fast warning fires, the 5-minute critical not yet.
  faultMonitor.connectionState({ exchange: 'okx', channel: 'liquidations', state: 'connected', at: now - 20 * MIN });
  faultMonitor.connectionState({ exchange: 'okx', channel: 'liquidations', state: 'disconnected', at: now - 30_000 });
  faultMonitor.fetch({ exchange: 'bybit', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'ok', latencyMs: 50, at: now - 10 * MIN });
  for (let i = 0; i < 9; i++) faultMonitor.fetch({ exchange: 'bybit', dataset: 'funding_rate', symbol: 'BTC/USDT:USDT', status: 'error', latencyMs: 50, at: now - 1000 - i * MIN });
  // kraken: 8 of 12 requests failed in 6 minutes (67 %); data still arrives between the failures (not stale).
  for (let i = 0; i < 12; i++) {
    faultMonitor.fetch({ exchange: 'kraken', dataset: 'funding_rate', symbol: 'BTC/USD:USD', status: i % 3 === 0 ? 'ok' : 'error', latencyMs: 50, at: now - 1000 - i * 30_000 });
  }
  faultMonitor.dataGap({ exchange: 'bybit', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', start: now - 5 * MIN, end: now - 4 * MIN, at: now - 3 * MIN });
  // A Binance cascade as its stream delivers it: sampled to one liquidation per symbol per second (2 symbols × 60
  // in the minute), each large: ~$3.6M/min. Its count (120) is all Binance can ever show for two symbols.
  for (let i = 0; i < 60; i++) {
    faultMonitor.liquidation({ exchange: 'binanceusdm', symbol: 'BTC/USDT:USDT', side: 'sell', price: 60_000, amount: 0.5, at: now - 1000 - i * 1000 });
    faultMonitor.liquidation({ exchange: 'binanceusdm', symbol: 'ETH/USDT:USDT', side: 'sell', price: 3000, amount: 10, at: now - 1500 - i * 1000 });
  }
  // Many tiny Bybit liquidations (400 in the minute, $40k): a count, not a burst; stays quiet.
  for (let i = 0; i < 400; i++) faultMonitor.liquidation({ exchange: 'bybit', symbol: 'BTC/USDT:USDT', side: 'buy', price: 100, amount: 1, at: now - 1000 - i * 100 });
  faultMonitor.rateLimit({ exchange: 'bybit', used: 1150, quota: 1200, throttled: false, at: now - 5000 });
  for (let i = 0; i < 6; i++) connectionSample('fault-1', 'bybit', 'trades', now - 1000 - i * 30_000, 5000);
  // okx trades: connected (samples keep coming) but the last message was 20 minutes ago.
  for (let i = 0; i < 6; i++) {
    writer.write(schema.connectionSamples, { ts: us(now - 1000 - i * 30_000), service: 'tw-alert', instance: 'fault-1', exchange: 'okx', channel: 'trades', connected: true, messages: 0, latency_ms_avg: null, latency_ms_max: null, last_message_ts: us(now - 20 * MIN), reconnects: 0 });
  }
  writerStats('lag-1', now - 2000, 120_000, 0);
  // A spool growing 9 MiB a minute with 34 MiB left to its 1 GiB bound: full in under 4 minutes.
  for (let i = 0; i <= 10; i++) spoolScrape('spool-1', now - 2000 - (10 - i) * MIN, 900 + i * 9);
  const crash = faultMonitor.strategy({ strategy: 'crash', runId: 'live-2', mode: 'live' });
  [1000, 1100, 900].forEach((equity, i) => crash.pnl({ realized: 0, unrealized: 0, equity, at: now - (3 - i) * MIN }));
  const rejecty = faultMonitor.strategy({ strategy: 'rejecty', runId: 'paper-1', mode: 'paper' });
  for (let i = 0; i < 20; i++) {
    rejecty.order({ exchange: 'bybit', symbol: 'ETH/USDT:USDT', orderId: `r-${i}`, side: 'sell', status: i % 5 < 2 ? 'rejected' : 'new', amount: 1, at: now - 1000 - i * 10_000 });
  }
}

const matches = (labels: Record<string, string>, want: Record<string, string>) => Object.entries(want).every(([k, v]) => labels[k] === v);
const describeEval = (e: Evaluation) => JSON.stringify({ outcome: e.outcome, error: e.error, instances: e.instances });

describe('alert rules on real QuestDB: healthy scenario quiet, each fault fires', () => {
  before(async () => {
    writer = createWriter({ url, service: 'tw-alert', instance: 'writer', logger });
    okMonitor = createMonitor({ service: 'tw-alert', instance: 'ok-1', writer, sampleIntervalMs: 0, logger });
    faultMonitor = createMonitor({ service: 'tw-alert-fault', instance: 'fault-1', writer, sampleIntervalMs: 0, logger });
    loadHealthy(Date.now());
    await applied();
  });
  after(async () => {
    await okMonitor.shutdown();
    await faultMonitor.shutdown();
    await writer.close();
  });

  test('healthy: every query runs and no rule fires (the watchdog always does)', async () => {
    for (const rule of rules) {
      const e = await evaluateNow(rule);
      assert.notEqual(e.outcome, 'error', `${rule.title}: ${describeEval(e)}`);
      if (rule.id === 'watchdog') assert.equal(e.firing.length, 1, 'watchdog fires');
      else assert.deepEqual(e.firing, [], `${rule.title} must not fire: ${describeEval(e)}`);
    }
    // The healthy data is really seen (not an empty result passing by accident).
    const seen = async (id: RuleId) => (await evaluateNow(rules.find((r) => r.id === id)!)).instances.length;
    for (const id of ['daemonDown', 'cpuHigh', 'exchangeDisconnected', 'staleData', 'rateLimit', 'websocketLatency', 'drawdown', 'orderRejectRate', 'errorRateSpike', 'liquidationBurst', 'spoolFull'] as const) {
      assert.ok((await seen(id)) > 0, `${id} sees the healthy data`);
    }
  });

  test('faults: each rule fires for its fault, and only there', async () => {
    loadFaults(Date.now());
    await applied();
    for (const rule of rules) {
      const want = FAULTS[rule.id];
      if (!want) continue;
      const e = await evaluateNow(rule);
      assert.equal(e.outcome, 'ok', `${rule.title}: ${describeEval(e)}`);
      for (const w of want) assert.ok(e.firing.some((i) => matches(i.labels, w)), `${rule.title} fires for ${JSON.stringify(w)}: ${describeEval(e)}`);
      for (const i of e.firing) assert.ok(want.some((w) => matches(i.labels, w)), `${rule.title} fires only for its fault, also for ${JSON.stringify(i.labels)}`);
    }
    // Liquidation burst: the value is the share of the exchange's threshold; an override applies to its exchange only.
    const burst = await evaluateNow(rules.find((r) => r.id === 'liquidationBurst')!);
    const binance = burst.instances.find((i) => i.labels.exchange === 'binanceusdm')!;
    const healthyUsd = 20 * 60_000 * 0.1 + 10 * 3000;
    const burstUsd = 60 * 60_000 * 0.5 + 60 * 3000 * 10;
    // The window slides while the test runs (rows near its start drop out), hence bounds, not one value.
    assert.ok(binance.values.A! > (burstUsd * 100) / 1e6 / 2 && binance.values.A! <= ((healthyUsd + burstUsd) * 100) / 1e6 + 1e-6, `binanceusdm: % of $1M/min: ${binance.values.A}`);
    const bybitShare = burst.instances.find((i) => i.labels.exchange === 'bybit')!.values.A!;
    assert.ok(bybitShare > 0 && bybitShare <= 4 + 1e-6, `bybit: 400 liquidations, at most $40k = 4 %: ${bybitShare}`);
    const tuned = alertsConfigSchema.parse({ rules: { liquidationBurst: { exchangeThresholds: 'bybit=20000,binanceusdm=5000000' } } });
    const tunedBurst = await evaluateNow(buildRules(tuned, WATCHDOG_ENV).find((r) => r.id === 'liquidationBurst')!);
    assert.deepEqual(tunedBurst.firing.map((i) => i.labels.exchange).sort(), ['bybit'], `overrides per exchange: ${describeEval(tunedBurst)}`);

    const down = await evaluateNow(rules.find((r) => r.id === 'exchangeDown')!);
    assert.ok(!down.firing.some((i) => i.labels.exchange === 'okx'), 'okx: 30 s is not yet 5 minutes');
    const disconnected = await evaluateNow(rules.find((r) => r.id === 'exchangeDisconnected')!);
    assert.ok(disconnected.firing.some((i) => i.labels.exchange === 'okx'), 'okx: the fast warning fires');
    const bybit = disconnected.firing.find((i) => i.labels.exchange === 'bybit')!;
    assert.ok(bybit.value !== null && bybit.values.A! >= 355 && bybit.values.A! < 400, `outage counted from the first loss: ${bybit.values.A}`);
  });

  test('QuestDB unreachable: that rule fires (execErrState Alerting), the others keep their state', async () => {
    const unreachable = new SqlClient({ url: 'http://127.0.0.1:1', timeoutMs: 2000 });
    const questdb = rules.find((r) => r.id === 'questdbUnreachable')!;
    assert.equal((await evaluateNow(questdb)).firing.length, 0, 'reachable: quiet');
    const e = await evaluateNow(questdb, unreachable);
    assert.equal(e.outcome, 'error');
    assert.equal(e.firing.length, 1);
    const cpu = await evaluateNow(rules.find((r) => r.id === 'cpuHigh')!, unreachable);
    assert.equal(cpu.keptLastState, true);
    assert.equal((await evaluateNow(rules.find((r) => r.id === 'watchdog')!, unreachable)).firing.length, 1, 'watchdog still fires');
  });
});
