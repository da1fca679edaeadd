import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { notifications, type AlertTimeline } from './support/grafana-model/alertmanager.js';
import { parsePrometheusDuration, SCHEDULER_BASE_INTERVAL_S } from './support/grafana-model/provisioning-checks.js';
import { DAEMON_SPOOL_MIB_PER_H } from './support/daemon-spool-rate.js';

// One notification per incident: each fault of the scenario table in docs/alerting.md, run through the generated
// rules (threshold, group interval, pending period: worst case, with the tick spread) and the generated policy
// (routing, grouping, group wait / interval / repeat) with the model of Grafana's Alertmanager. The table in
// the docs must be exactly what this computes.

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const read = (name: string) => parseYaml(readFileSync(`deploy/grafana/provisioning/alerting/${name}`, 'utf8')) as Doc;
const rules = (read('rules.yaml').groups as Doc[]).flatMap((g) => (g.rules as Doc[]).map((r) => ({ r, intervalMs: parsePrometheusDuration(g.interval)! })));
const policy = read('policies.yaml').policies[0] as Doc;
const S = 1000;
const MIN = 60 * S;
const H = 60 * MIN;

/** The alert-history webhook records every notification; it is not a channel anyone reads, so not in the table. */
const HISTORY_RECEIVER = 'tradewatch-history';
const toPeople = (alerts: readonly AlertTimeline[], horizon: number) => notifications(policy, alerts, horizon).filter((n) => n.receiver !== HISTORY_RECEIVER);

const rule = (id: string) => rules.find((x) => x.r.labels.tradewatch_rule === id)!;
const threshold = (id: string) => rule(id).r.data.at(-1).model.conditions[0].evaluator.params[0] as number;
/** Worst case from the condition holding at `onset` to Grafana sending the alert as firing. */
function firesAt(id: string, onset: number): number {
  const { r, intervalMs } = rule(id);
  const pending = Math.ceil(parsePrometheusDuration(r.for)! / intervalMs) * intervalMs;
  return onset + intervalMs + SCHEDULER_BASE_INTERVAL_S * S + pending;
}
/** Worst case from the condition clearing at `clear` to the resolve: the next evaluation. */
const resolvesAt = (id: string, clear: number) => clear + rule(id).intervalMs + SCHEDULER_BASE_INTERVAL_S * S;
const labelsOf = (id: string, labels: Record<string, string>) => ({ ...rule(id).r.labels, alertname: rule(id).r.title, ...labels });
const alert = (id: string, labels: Record<string, string>, onset: number, clear?: number): AlertTimeline & { id: string } => ({
  id,
  labels: labelsOf(id, labels),
  firingAt: firesAt(id, onset),
  ...(clear === undefined ? {} : { resolvedAt: resolvesAt(id, clear) }),
});

// The reference daemon's defaults: service ccxt-daemon, open interest every 30 s and funding every 60 s per symbol,
// two symbols per exchange: 6 requests/min per exchange.
const daemon = { service: 'ccxt-daemon', instance: 'default' };
const REQUESTS_PER_MIN = 6;
/** The exporter's default scrape interval (compose TRADEWATCH_EXPORTER_INTERVAL_MS). */
const SCRAPE_MS = 15 * S;
const OUTAGE = 10 * MIN;
/** The writer's default spool bound (MiB); the daemon's spool rate is measured by alerts-default-scale.test.ts. */
const SPOOL_MAX_MIB = 1024;

interface Fault {
  readonly name: string;
  readonly horizon: number;
  readonly alerts: (AlertTimeline & { id: string })[];
}

function faults(): Fault[] {
  const bybit = { ...daemon, exchange: 'bybit' };
  // The failure ratio over its 10-minute window passes 50 % once the failures outnumber the earlier successes.
  const ratioWindow = 10 * MIN;
  const ratioOnset = (ratioWindow * threshold('errorRateSpike')) / 100;
  assert.ok(ratioWindow / MIN * REQUESTS_PER_MIN >= 10, 'enough requests in the window for a verdict');
  return [
    {
      name: 'exchange outage (bybit websocket and REST down 10 min)',
      horizon: OUTAGE + 15 * MIN,
      alerts: [
        alert('exchangeDisconnected', { ...bybit, channel: 'liquidations' }, threshold('exchangeDisconnected') * S, OUTAGE),
        alert('staleData', { ...bybit, dataset: 'open_interest' }, threshold('staleData') * S, OUTAGE + 30 * S),
        alert('staleData', { ...bybit, dataset: 'funding_rate' }, threshold('staleData') * S, OUTAGE + 60 * S),
        alert('errorRateSpike', bybit, ratioOnset, OUTAGE + ratioOnset),
        alert('exchangeDown', { ...bybit, channel: 'liquidations' }, threshold('exchangeDown') * S, OUTAGE),
      ],
    },
    {
      name: 'QuestDB down 10 min',
      horizon: OUTAGE + 15 * MIN,
      // Every other rule keeps its last state (execErrState KeepLast): only this one changes.
      alerts: [alert('questdbUnreachable', {}, 0, OUTAGE)],
    },
    { name: 'daemon crash (dead 48 h)', horizon: 48 * H, alerts: [alert('daemonDown', daemon, threshold('daemonDown') * S)] },
    {
      name: 'rate-limit storm (throttled 10 min)',
      horizon: OUTAGE + 15 * MIN,
      alerts: [alert('rateLimit', { ...daemon, exchange: 'binanceusdm' }, 0, OUTAGE)],
    },
    {
      name: 'liquidation burst (5 min above the threshold)',
      horizon: 20 * MIN,
      alerts: [alert('liquidationBurst', { exchange: 'binanceusdm' }, 0, 5 * MIN)],
    },
    { name: 'memory leak (above the threshold from then on)', horizon: 2 * H, alerts: [alert('memoryHigh', daemon, 0)] },
    {
      name: 'silent websocket (connected, no message for 30 min)',
      horizon: 45 * MIN,
      alerts: [alert('silentStream', { ...daemon, exchange: 'binanceusdm', channel: 'liquidations' }, threshold('silentStream') * S, 30 * MIN)],
    },
    {
      // Its rows (samples included) wait in its spool; the exporter's scrapes of its /metrics show the lag growing
      // and the process answering, so daemonDown holds off. The lag passes the threshold (ms) that long after the
      // cut, seen at the next scrape; it is back at 0 at the first scrape after the replay (a few seconds here).
      name: 'writer cut off from QuestDB 10 min (alive, scraped by the exporter)',
      horizon: OUTAGE + 15 * MIN,
      alerts: [alert('writerLag', daemon, threshold('writerLag') + SCRAPE_MS, OUTAGE + SCRAPE_MS)],
    },
    {
      // Cut off for weeks: its spool grows at the daemon's rate toward the writer's bound, and spoolFull joins the
      // incident (same service: the same group, an update, not a new message thread) once the spool is its
      // threshold's hours from full, that long before rows are given up.
      name: 'writer cut off from QuestDB for 40 days (its spool fills at the daemon\'s rate)',
      horizon: 40 * 24 * H,
      alerts: [
        alert('writerLag', daemon, threshold('writerLag') + SCRAPE_MS),
        alert('spoolFull', daemon, ((SPOOL_MAX_MIB - threshold('spoolFull') * DAEMON_SPOOL_MIB_PER_H) / DAEMON_SPOOL_MIB_PER_H) * H),
      ],
    },
  ];
}

const clock = (ms: number) => {
  const s = Math.round(ms / S);
  return s >= 3600 ? `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}` : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
};

/** The docs' scenario table, as computed. */
function table(): string {
  const rows = ['| fault | rules firing (sent to Alertmanager at, worst case) | notifications sent (route: firing/resolved at) |', '| --- | --- | --- |'];
  for (const f of faults()) {
    const fired = f.alerts.map((a) => `${a.id} ${clock(a.firingAt)}${a.resolvedAt !== undefined ? `–${clock(a.resolvedAt)}` : ''}`).join(', ');
    const sent = toPeople(f.alerts, f.horizon);
    const byReceiver = new Map<string, { what: string; change: boolean }[]>();
    for (const n of sent) {
      const what = n.firing > 0 ? `${clock(n.at)} (${n.firing} firing${n.resolved ? `, ${n.resolved} resolved` : ''})` : `${clock(n.at)} resolved`;
      const before = byReceiver.get(n.route) ?? [];
      const previous = sent.filter((m) => m.route === n.route && m.at < n.at).at(-1);
      byReceiver.set(n.route, [...before, { what, change: !previous || previous.firing !== n.firing || previous.resolved !== n.resolved }]);
    }
    // A long list keeps its first three messages and every later one that changes the incident (a rule joining or
    // resolving); plain repeats are counted.
    const shorten = (times: { what: string; change: boolean }[]) =>
      `${[...times.slice(0, 3), ...times.slice(3).filter((x) => x.change)].map((x) => x.what).join(', ')}, … ${times.length} in ${clock(f.horizon)}`;
    const list = [...byReceiver].map(([receiver, times]) => `${receiver}: ${times.length > 6 ? shorten(times) : times.map((x) => x.what).join(', ')}`);
    rows.push(`| ${f.name} | ${fired} | ${list.join('; ')} (${sent.length} messages) |`);
  }
  return rows.join('\n');
}

describe('scenario table: notifications per fault from the generated rules and policy', () => {
  test('docs/alerting.md holds exactly the computed table', () => {
    const docs = readFileSync('docs/alerting.md', 'utf8');
    const block = /<!-- scenario-table:start -->\n([\s\S]*?)\n<!-- scenario-table:end -->/.exec(docs);
    assert.ok(block, 'docs/alerting.md has the scenario-table markers');
    assert.equal(block[1], table(), `replace the block with:\n${table()}`);
  });

  test('one incident per severity: an exchange outage tripping four rules opens one group per route, updated not multiplied', () => {
    const outage = faults()[0]!;
    const sent = toPeople(outage.alerts, outage.horizon);
    const firstFiring = (route: string) => sent.filter((n) => n.route === route && n.firing > 0);
    // Before grouping by subject: 10-17 messages from 5 rules (issue 12).
    assert.ok(sent.length <= 8, `${sent.length} messages: ${JSON.stringify(sent)}`);
    for (const route of new Set(sent.map((n) => n.route))) assert.ok(firstFiring(route).length <= 4, route);
    // Every rule of the incident lands in one group per route: the subject, not the rule, is the key.
    assert.equal(new Set(sent.map((n) => n.group)).size, new Set(sent.map((n) => n.route)).size);
  });

  test('a writer cut off for weeks: writerLag and spoolFull are one incident (one group), spoolFull a day before the spool is full', () => {
    const cut = faults().find((f) => f.name.startsWith('writer cut off from QuestDB for 40 days'))!;
    const sent = toPeople(cut.alerts, cut.horizon);
    assert.equal(new Set(sent.map((n) => n.group)).size, 1, 'one group');
    const spool = cut.alerts.find((a) => a.id === 'spoolFull')!;
    const fullAt = (SPOOL_MAX_MIB / DAEMON_SPOOL_MIB_PER_H) * H;
    assert.ok(fullAt - spool.firingAt >= (threshold('spoolFull') - 1) * H && spool.firingAt < cut.horizon, clock(spool.firingAt));
    assert.ok(sent.some((n) => n.firing === 2 && n.at >= spool.firingAt), 'spoolFull joins the incident as an update');
  });

  test('a crash is notified within 60 s of its last sample, and a 48 h outage repeats every 4 h, never resolving', () => {
    const crash = faults()[2]!;
    const sent = toPeople(crash.alerts, crash.horizon);
    assert.ok(sent[0]!.at <= 60 * S, clock(sent[0]!.at));
    assert.ok(sent.every((n) => n.firing === 1 && n.resolved === 0));
    assert.equal(sent.length, 1 + Math.floor((crash.horizon - sent[0]!.at) / (4 * H)));
  });

  test('alert history: every alert of every fault reaches the history webhook as firing, and as resolved when it resolves', () => {
    for (const f of faults()) {
      const history = notifications(policy, f.alerts, f.horizon).filter((n) => n.receiver === HISTORY_RECEIVER);
      for (const a of f.alerts) {
        const group = history.filter((n) => n.group.includes(`tradewatch_rule=${a.labels.tradewatch_rule}`) && Object.entries(a.labels).every(([k, v]) => n.group.includes(`${k}=${v}`)));
        const firing = group.find((n) => n.firing === 1);
        assert.ok(firing, `${f.name}: ${a.id} never sent to history`);
        assert.ok(firing.at - a.firingAt <= 10 * S, `${f.name}: ${a.id} recorded ${clock(firing.at - a.firingAt)} after it fired`);
        if (a.resolvedAt !== undefined && a.resolvedAt <= f.horizon - 10 * S) {
          const resolved = group.find((n) => n.resolved === 1 && n.firing === 0);
          assert.ok(resolved, `${f.name}: ${a.id} resolve never sent to history`);
          assert.ok(resolved.at - a.resolvedAt <= 10 * S, `${f.name}: ${a.id} resolve recorded ${clock(resolved.at - a.resolvedAt)} late`);
        }
      }
    }
  });
});
