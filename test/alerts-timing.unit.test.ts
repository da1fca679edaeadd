import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_SAMPLE_INTERVAL_MS } from '../packages/sdk/src/sdk/index.js';
import { parsePrometheusDuration, SCHEDULER_BASE_INTERVAL_S } from './support/grafana-model/provisioning-checks.js';

// Timing read from the checked-in generated files (what Grafana loads), not from the code that wrote them: for
// each rule, the worst case from its condition holding to Grafana sending the notification is the group's
// interval (the next tick) + the tick spread (rules due on a tick start spread across it) + the pending period in
// whole intervals + the group wait of the route the alert lands on.

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const read = (name: string) => parseYaml(readFileSync(`deploy/grafana/provisioning/alerting/${name}`, 'utf8')) as Doc;
const rules = read('rules.yaml');
const policy = read('policies.yaml').policies[0] as Doc;
const ms = (d: string) => parsePrometheusDuration(d)!;
const TICK_SPREAD_MS = SCHEDULER_BASE_INTERVAL_S * 1000;

/** The first route whose object matchers (= only) all match the labels, else the root. */
function routeFor(labels: Record<string, string>): Doc {
  for (const route of policy.routes as Doc[]) {
    if ((route.object_matchers as string[][]).every(([k, op, v]) => op === '=' && labels[k!] === v)) return route;
  }
  return policy;
}

const all = (rules.groups as Doc[]).flatMap((g) => (g.rules as Doc[]).map((r) => ({ rule: r, intervalMs: ms(g.interval) })));
const byRule = (id: string) => all.find((x) => x.rule.labels.tradewatch_rule === id)!;
/** Condition holds → notification sent, worst case. */
function worstSendMs(id: string): number {
  const { rule, intervalMs } = byRule(id);
  const pending = Math.ceil(ms(rule.for) / intervalMs) * intervalMs;
  return intervalMs + TICK_SPREAD_MS + pending + ms(routeFor(rule.labels).group_wait);
}
/** The rule's threshold (its condition's first parameter), in the rule's unit. */
const threshold = (id: string) => byRule(id).rule.data.at(-1).model.conditions[0].evaluator.params[0] as number;

describe('timing budgets computed from the generated files', () => {
  test('every critical rule: at most 30 s from its condition to the notification send', () => {
    const criticals = all.filter((x) => x.rule.labels.severity === 'critical' && !x.rule.isPaused);
    assert.ok(criticals.length >= 6);
    for (const { rule } of criticals) {
      const worst = worstSendMs(rule.labels.tradewatch_rule);
      assert.ok(worst <= 30_000, `${rule.title}: ${worst / 1000} s`);
    }
  });

  test('exchange disconnected for 5 minutes: the critical is sent by 5 min 30 s', () => {
    const sentBy = threshold('exchangeDown') * 1000 + worstSendMs('exchangeDown');
    assert.ok(sentBy <= 330_000, `${sentBy / 1000} s`);
  });

  test('daemon crash: sent within 60 s of its last sample', () => {
    // The condition holds `threshold` seconds after the last sign of life: the last sample, or a later scrape by the
    // exporter that the process answered. A crashed process answers none after it died, and it died before its
    // next sample was due: at most one sample interval after the last sample (its next scrape, failing, ends the
    // hold at once; without it the scrape's age crosses the threshold like a sample's).
    const sentBy = DEFAULT_SAMPLE_INTERVAL_MS + threshold('daemonDown') * 1000 + worstSendMs('daemonDown');
    assert.ok(sentBy <= 60_000, `${sentBy / 1000} s`);
  });
});
