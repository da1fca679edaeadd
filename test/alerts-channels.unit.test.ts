import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { ALERT_ENV, alertingDocuments, checkChannels, defaultAlertsConfig, MESSAGE_TEMPLATE } from '../packages/cli/src/grafana/alerting/index.js';
import { testRunnerCliEnv } from './helpers/cli-env.js';

// Never silent: a half-configured channel and e-mail with SMTP off are refused (exit 2, naming the variable), no
// channel at all is warned about, and every channel gets the compact message template.

const run = promisify(execFile);
const config = defaultAlertsConfig();
const T = ALERT_ENV.telegram;
const E = ALERT_ENV.email;

/** Runs `tradewatch grafana generate --alerting-only --from-env` with only `env` (plus PATH) into a temp root. */
async function generate(env: Record<string, string>): Promise<{ code: number; stderr: string; root: string }> {
  const root = await mkdtemp(join(tmpdir(), 'tw-alerts-gen-'));
  try {
    const r = await run('node', ['packages/cli/bin/tradewatch.js', 'grafana', 'generate', '--alerting-only', '--from-env', '--root', root], {
      env: { PATH: process.env.PATH!, HOME: process.env.HOME ?? '/tmp', ...testRunnerCliEnv(), ...env },
      timeout: 120_000,
    });
    return { code: 0, stderr: r.stderr, root };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr, root };
  }
}

describe('alert channels are never silently dropped', () => {
  test('checkChannels: half-set channels and e-mail without SMTP are errors naming the variables; none is a warning', () => {
    const half = checkChannels(config, { [T.botToken]: 'x' });
    assert.equal(half.errors.length, 1);
    assert.match(half.errors[0]!, new RegExp(`${T.botToken} set but ${T.chatId} not`));
    const smtpOff = checkChannels(config, { [E.addresses]: 'a@b.c', [E.smtpHost]: 'smtp:587', [E.smtpEnabled]: 'false' });
    assert.match(smtpOff.errors[0]!, new RegExp(`${E.smtpEnabled}="false" turns Grafana's SMTP off`));
    const smtpUnset = checkChannels(config, { [E.addresses]: 'a@b.c', [E.smtpHost]: 'smtp:587' });
    assert.match(smtpUnset.errors[0]!, new RegExp(`${E.smtpEnabled}=undefined turns Grafana's SMTP off`));
    assert.deepEqual(checkChannels(config, { [E.smtpEnabled]: 'false' }).errors, [], "compose's default GF_SMTP_ENABLED=false alone is no channel");
    const none = checkChannels(config, {});
    assert.deepEqual(none.errors, []);
    assert.match(none.warnings[0]!, /no alert notification channel is configured/);
    for (const name of [T.botToken, T.chatId, ALERT_ENV.discord.webhookUrl, E.addresses, E.smtpEnabled]) assert.ok(none.warnings[0]!.includes(name), name);
    const full = checkChannels(config, { [T.botToken]: 'x', [T.chatId]: '1' });
    assert.deepEqual(full, { errors: [], warnings: [] });
  });

  test('CLI: a half-set channel exits 2 naming the variable and writes nothing; no channel warns and still writes', async () => {
    const refused = await generate({ [T.chatId]: '-100' });
    try {
      assert.equal(refused.code, 2, refused.stderr);
      assert.match(refused.stderr, new RegExp(`${T.chatId} set but ${T.botToken} not`));
      assert.match(refused.stderr, /TW_INVALID_CONFIG/);
      await assert.rejects(readFile(join(refused.root, 'deploy/grafana/provisioning/alerting/rules.yaml')));
    } finally {
      await rm(refused.root, { recursive: true, force: true });
    }
    const smtpOff = await generate({ [E.addresses]: 'a@b.c', [E.smtpHost]: 'smtp:587', [E.smtpEnabled]: 'false' });
    await rm(smtpOff.root, { recursive: true, force: true });
    assert.equal(smtpOff.code, 2, smtpOff.stderr);
    assert.match(smtpOff.stderr, new RegExp(E.smtpEnabled));
    const silent = await generate({});
    try {
      assert.equal(silent.code, 0, silent.stderr);
      assert.match(silent.stderr, new RegExp(`warning: no alert notification channel is configured.*${T.botToken}`));
      await readFile(join(silent.root, 'deploy/grafana/provisioning/alerting/rules.yaml'));
    } finally {
      await rm(silent.root, { recursive: true, force: true });
    }
  });

  test('every channel uses the message template; resolved messages on; the template is provisioned', () => {
    const env = { [T.botToken]: 'x', [T.chatId]: '1', [ALERT_ENV.discord.webhookUrl]: 'https://d.invalid/x', [E.addresses]: 'a@b.c', [E.smtpHost]: 's:25', [E.smtpEnabled]: 'true' };
    const docs = JSON.parse(JSON.stringify(alertingDocuments(config, { env }).contactPoints)) as { templates: { name: string; template: string }[]; contactPoints: { name: string; receivers: { type: string; disableResolveMessage: boolean; settings: Record<string, string> }[] }[] };
    assert.deepEqual(docs.templates.map((t) => t.name), ['tradewatch']);
    assert.equal(docs.templates[0]!.template, MESSAGE_TEMPLATE);
    for (const part of ['.Labels.severity', '.Annotations.summary', '.StartsAt', '.Annotations.runbook_url', '.PanelURL', '.CommonLabels.exchange']) {
      assert.ok(MESSAGE_TEMPLATE.includes(part), part);
    }
    assert.ok(!MESSAGE_TEMPLATE.includes('$'), 'no $ for the loader to expand');
    const integrations = docs.contactPoints.filter((p) => !['tradewatch-watchdog', 'tradewatch-history'].includes(p.name)).flatMap((p) => p.receivers);
    assert.equal(integrations.length, 5);
    for (const i of integrations) {
      assert.equal(i.disableResolveMessage, false, `${i.type}: resolved messages on`);
      assert.match(i.settings.message!, /template "tradewatch.message"/, i.type);
    }
    // The template parses as Go template blocks: balanced {{ define }} / {{ end }}.
    const opens = (MESSAGE_TEMPLATE.match(/\{\{ (define|range|if|with) /g) ?? []).length;
    assert.equal(opens, (MESSAGE_TEMPLATE.match(/\{\{ end \}\}/g) ?? []).length);
    assert.ok(parseYaml(JSON.stringify(docs)));
  });
});
