import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { CATALOG, RULE_DEFAULTS, RULE_IDS, renderRunbooks, runbookAnchor } from '../packages/cli/src/grafana/alerting/index.js';

// The alert catalog is each rule's one definition: every generated rule carries its runbook_url (to an anchor that
// exists in docs/alert-runbooks.md), a dashboard and panel link (to a panel that exists in the provisioned
// dashboards), and a summary and description that show the values.

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
// The deployment's channel-status rule (not a catalog rule: test/alerts-channel-status.unit.test.ts) aside.
const rules = (parseYaml(readFileSync('deploy/grafana/provisioning/alerting/rules.yaml', 'utf8')).groups as Doc[])
  .flatMap((g) => g.rules as Doc[])
  .filter((r) => r.uid !== 'tw-notification-channels');
const runbooks = readFileSync('docs/alert-runbooks.md', 'utf8');
const dashboards = ['health', 'pipeline', 'exchange', 'trading', 'alerts-overview'].map((f) => JSON.parse(readFileSync(`deploy/grafana/provisioning/dashboards/${f}.json`, 'utf8')) as Doc);

describe('alert catalog', () => {
  test('one catalog entry per rule, and the runbooks doc is generated from it', () => {
    assert.deepEqual(Object.keys(CATALOG).sort(), [...RULE_IDS].sort());
    assert.equal(runbooks, renderRunbooks());
    for (const id of RULE_IDS) {
      assert.ok(runbooks.includes(`<a id="${runbookAnchor(id)}"></a>`), id);
      assert.ok(runbooks.includes(`\`alerts.rules.${id}.threshold\` = ${RULE_DEFAULTS[id].threshold}`), `${id}: threshold key and default`);
      assert.ok(CATALOG[id].runbook.length > 0, `${id}: runbook steps`);
    }
  });

  test('every generated rule links its runbook section and an existing dashboard panel; summaries show values', () => {
    assert.equal(rules.length, RULE_IDS.length);
    for (const r of rules) {
      const id = r.labels.tradewatch_rule as (typeof RULE_IDS)[number];
      assert.equal(r.annotations.runbook_url, `docs/alert-runbooks.md#${runbookAnchor(id)}`, id);
      const board = dashboards.find((d) => d.uid === r.dashboardUid);
      assert.ok(board, `${id}: dashboard ${r.dashboardUid}`);
      const panels = (board.panels as Doc[]).flatMap((p) => [p, ...((p.panels as Doc[]) ?? [])]);
      const panel = panels.find((p) => p.id === r.panelId);
      assert.equal(panel?.title, CATALOG[id].panel[1], `${id}: panel ${r.panelId}`);
      if (id !== 'watchdog' && id !== 'questdbUnreachable') assert.match(r.annotations.summary, /\$values\.[A-Z]\.Value/, `${id}: summary shows the value`);
    }
  });
});
