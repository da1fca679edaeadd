/**
 * Alert settings in the deployed stack (issue 12, item 6): the compose `alerting` service passes every `alerts.*`
 * setting through as TRADEWATCH_ALERTS_*, deploy/.env.example documents each, and both agree with the config
 * schema the loader reads. The service's command itself is run in test/alerts-deploy-cli.test.ts.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, test } from 'node:test';
import { configLeaves, envName } from '../packages/cli/src/config/index.js';
import {
  alertSettings,
  channelVariables,
  DEPLOY_CONFIG_FILE,
  RULE_IDS,
  renamedRuleVariables,
} from '../packages/cli/src/grafana/alerting/index.js';
import { alerting, alertingEnv, compose, root } from './support/deploy-compose.js';

const envExample = new Map(
  readFileSync(join(root, 'deploy/.env.example'), 'utf8')
    .split('\n')
    .filter((l) => /^[A-Z_][A-Z0-9_]*=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const),
);
const settings = alertSettings();
const known = new Set([...settings.map((s) => s.env), ...channelVariables()]);

describe('alert settings: compose, .env.example and the config schema agree', () => {
  test('the settings are exactly the alerts.* leaves the config loader reads, each with its variable', () => {
    const loaderLeaves = configLeaves().map((l) => l.path).filter((p) => p.startsWith('alerts.'));
    assert.deepEqual(settings.map((s) => s.path), loaderLeaves);
    for (const s of settings) assert.equal(s.env, envName(s.path));
    // Every rule's threshold, and the per-exchange overrides of the exchange-scoped rules, are among them.
    for (const id of RULE_IDS) assert.ok(known.has(envName(`alerts.rules.${id}.threshold`)), id);
    for (const id of ['exchangeDisconnected', 'exchangeDown', 'errorRateSpike', 'staleData', 'rateLimit', 'liquidationBurst']) {
      assert.ok(known.has(envName(`alerts.rules.${id}.exchangeThresholds`)), `${id} takes per-exchange thresholds`);
    }
  });

  test('the alerting service passes every setting and channel variable through, unchanged and empty by default', () => {
    for (const name of known) assert.ok(name in alertingEnv, `compose alerting service lacks ${name}`);
    for (const s of settings) assert.equal(alertingEnv[s.env], `\${${s.env}:-}`, `${s.env}: passed through as is, empty = not set`);
    const strays = Object.keys(alertingEnv).filter((k) => k.startsWith('TRADEWATCH_ALERTS_') && !known.has(k));
    assert.deepEqual(strays, [], 'variables no setting reads');
  });

  test('deploy/.env.example documents every setting and channel variable (empty: the file or the default decides)', () => {
    for (const name of known) assert.ok(envExample.has(name), `deploy/.env.example lacks ${name}`);
    for (const s of settings) assert.equal(envExample.get(s.env), '', `${s.env} must not pin a value in .env.example`);
    const strays = [...envExample.keys()].filter((k) => k.startsWith('TRADEWATCH_ALERTS_') && !known.has(k));
    assert.deepEqual(strays, []);
    const text = readFileSync(join(root, 'deploy/.env.example'), 'utf8');
    for (const s of settings.filter((x) => x.fallback !== '')) assert.ok(text.includes(`# ${s.path} (default ${s.fallback})\n${s.env}=`), `${s.env}: key and default documented`);
  });

  test('a change reaches Grafana: the config is mounted read-only, the service runs once per up, Grafana waits for it', () => {
    assert.equal(alertingEnv.TRADEWATCH_CONFIG, DEPLOY_CONFIG_FILE);
    const mount = (alerting.volumes ?? []).find((v) => v.split(':')[1] === dirname(DEPLOY_CONFIG_FILE));
    assert.ok(mount, 'the config directory is mounted');
    const [source, , mode] = mount.split(':');
    assert.equal(mode, 'ro');
    assert.ok(existsSync(join(root, 'deploy', source!)), `${source} exists in the checkout (deploy/config)`);
    assert.equal(alerting.restart, 'no');
    assert.equal(compose.services.grafana!.depends_on?.alerting?.condition, 'service_completed_successfully');
    assert.ok((compose.services.grafana!.volumes ?? []).some((v) => /^grafana-alerting:\/etc\/grafana\/provisioning\/alerting:ro$/.test(v)));
    const docs = readFileSync(join(root, 'docs/alerting.md'), 'utf8');
    assert.ok(docs.includes('docker compose -f deploy/docker-compose.yml up -d --force-recreate alerting grafana'));
    assert.ok(docs.includes('deploy/config/tradewatch.yaml'));
  });

  test('docs/alerting.md: one generated row per rule naming its threshold key and variable', () => {
    const docs = readFileSync(join(root, 'docs/alerting.md'), 'utf8');
    const table = /<!-- generated:alert-rules:start -->\n([\s\S]*?)\n<!-- generated:alert-rules:end -->/.exec(docs)?.[1] ?? '';
    const rows = table.split('\n').slice(2);
    assert.equal(rows.length, RULE_IDS.length);
    for (const [i, id] of RULE_IDS.entries()) {
      assert.ok(rows[i]!.includes(`\`alerts.rules.${id}.threshold\``) && rows[i]!.includes(`\`${envName(`alerts.rules.${id}.threshold`)}\``), rows[i]);
    }
  });
});

describe('variables of a renamed rule (spoolGrowth → spoolFull)', () => {
  test('each one set is named with its value and the variable that replaced it; a threshold also with its new meaning', () => {
    const warnings = renamedRuleVariables({
      TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_THRESHOLD: '8',
      TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_FOR: '2m',
      // Empty, as an old copy of .env.example leaves it: unset, like every other variable.
      TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_ENABLED: '',
      TRADEWATCH_ALERTS_RULES_SPOOL_FULL_THRESHOLD: '12',
    });
    assert.equal(warnings.length, 2, warnings.join('\n'));
    const threshold = warnings.find((w) => w.startsWith('TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_THRESHOLD=8 is ignored: '));
    assert.ok(threshold, warnings.join('\n'));
    assert.match(threshold, /renamed spoolFull\. Set TRADEWATCH_ALERTS_RULES_SPOOL_FULL_THRESHOLD instead; its threshold now means hours left .* \(default 24 h\)/);
    assert.ok(warnings.some((w) => w === 'TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_FOR=2m is ignored: the rule spoolGrowth was renamed spoolFull. Set TRADEWATCH_ALERTS_RULES_SPOOL_FULL_FOR instead'), warnings.join('\n'));
    assert.ok(known.has('TRADEWATCH_ALERTS_RULES_SPOOL_FULL_THRESHOLD') && known.has('TRADEWATCH_ALERTS_RULES_SPOOL_FULL_FOR'), 'the replacements are real settings');
  });
});
