/**
 * The compose `alerting` service's own command run as the container would run it (issue 12, items 6 and 7): its
 * environment resolved from deploy/docker-compose.yml and a .env, its mounted config file; the generated files,
 * its output and its exit status are checked. (No QuestDB; in the slower tier because each run starts the CLI.)
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parse as parseYaml, stringify } from 'yaml';
import {
  alertingFiles,
  alertsConfigSchema,
  defaultAlertsConfig,
  DEPLOY_CONFIG_FILE,
} from '../packages/cli/src/grafana/alerting/index.js';
import { alerting, alertingEnv, root } from './support/deploy-compose.js';
import { testRunnerCliEnv } from './helpers/cli-env.js';


describe('the alerting service, run as the container runs it', () => {
  const work = mkdtempSync(join(tmpdir(), 'tw-alerting-'));
  after(() => rmSync(work, { recursive: true, force: true }));

  /** The service's environment as `docker compose` resolves it from a .env (every value `${NAME:-default}` or literal). */
  const containerEnv = (dotenv: Record<string, string>, configDir: string): Record<string, string> => {
    const env: Record<string, string> = {};
    for (const [name, raw] of Object.entries(alertingEnv)) {
      const m = /^\$\{([A-Z0-9_]+):-([^}]*)\}$/.exec(String(raw));
      if (m) env[name] = dotenv[m[1]!] || m[2]!;
      else {
        assert.doesNotMatch(String(raw), /\$/, `${name}: only \${NAME:-default} is resolved here`);
        env[name] = String(raw);
      }
    }
    // The mount: /etc/tradewatch in the container is configDir here.
    env.TRADEWATCH_CONFIG = env.TRADEWATCH_CONFIG!.replace(dirname(DEPLOY_CONFIG_FILE), configDir);
    return env;
  };

  /**
   * `tradewatch <service command>` with only the container's environment (plus `extraEnv`: what the same command sees
   * when run on the host); the files it wrote under `out`.
   */
  const run = (dotenv: Record<string, string>, file: object | null, extraEnv: Record<string, string> = {}) => {
    const dir = mkdtempSync(join(work, 'run-'));
    const configDir = join(dir, 'config');
    mkdirSync(configDir);
    if (file) writeFileSync(join(configDir, 'tradewatch.yaml'), stringify(file));
    const out = join(dir, 'out');
    const command = [...alerting.command!];
    command[command.indexOf('--root') + 1] = out;
    const result = spawnSync(process.execPath, [join(root, 'packages/cli/bin/tradewatch.js'), ...command], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir, ...testRunnerCliEnv(), ...containerEnv(dotenv, configDir), ...extraEnv },
      encoding: 'utf8',
    });
    const read = (name: string) => readFileSync(join(out, 'deploy/grafana/provisioning/alerting', name), 'utf8');
    return { ...result, read };
  };

  test('mounted file + .env variables → the rules, overrides, channels and maintenance window they say', () => {
    const file = {
      alerts: {
        rules: {
          cpuHigh: { threshold: 75 },
          daemonDown: { threshold: 30 },
          exchangeDown: { exchangeThresholds: { bybit: 60 } },
        },
        maintenance: { windows: ['sunday 02:00-04:00'] },
      },
    };
    const dotenv = {
      TRADEWATCH_ALERTS_RULES_DAEMON_DOWN_THRESHOLD: '25', // wins over the file's 30
      TRADEWATCH_ALERTS_RULES_RATE_LIMIT_EXCHANGE_THRESHOLDS: 'okx=99',
      TRADEWATCH_ALERTS_MAINTENANCE_LOCATION: 'Europe/Berlin',
      TRADEWATCH_ALERTS_TELEGRAM_BOT_TOKEN: '123:abc',
      TRADEWATCH_ALERTS_TELEGRAM_CHAT_ID: '-100',
    };
    const r = run(dotenv, file);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /config {4}\S+tradewatch\.yaml\n/);
    assert.doesNotMatch(r.stderr, /no alert notification channel/);
    // Exactly what the generator gives for that config and environment.
    const expected = alertsConfigSchema.parse({
      ...file.alerts,
      rules: { ...file.alerts.rules, daemonDown: { threshold: 25 }, rateLimit: { exchangeThresholds: { okx: 99 } } },
      maintenance: { windows: ['sunday 02:00-04:00'], location: 'Europe/Berlin' },
    });
    const want = alertingFiles(expected, { env: dotenv });
    for (const f of want) assert.equal(r.read(f.path.split('/').pop()!), f.content, f.path);
    // And what that means in Grafana's terms.
    type Rule = { uid: string; data: { refId: string; model: { rawSql?: string; conditions?: { evaluator: { params: number[] } }[] } }[] };
    const rules = (parseYaml(r.read('rules.yaml')) as { groups: { rules: Rule[] }[] }).groups.flatMap((g) => g.rules);
    const param = (uid: string) => rules.find((x) => x.uid === uid)!.data.find((d) => d.refId === 'C')!.model.conditions![0]!.evaluator.params[0];
    const sql = (uid: string) => rules.find((x) => x.uid === uid)!.data.find((d) => d.refId === 'A')!.model.rawSql!;
    assert.equal(param('tw-cpu-high'), 75);
    assert.equal(param('tw-daemon-down'), 25);
    assert.match(sql('tw-exchange-down'), /WHEN 'bybit' THEN 60\.0/);
    assert.match(sql('tw-rate-limit'), /WHEN 'okx' THEN 99\.0/);
    const policies = parseYaml(r.read('policies.yaml')) as { muteTimes: { time_intervals: { weekdays: string[]; location: string }[] }[] };
    assert.deepEqual(policies.muteTimes[0]!.time_intervals, [{ times: [{ start_time: '02:00', end_time: '04:00' }], weekdays: ['sunday'], location: 'Europe/Berlin' }]);
    assert.match(r.read('contact-points.yaml'), /type: telegram/);
  });

  test('no file, empty .env: the checked-in defaults, said out loud, and the no-channel warning naming the variables', () => {
    const r = run({}, null);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /not present: defaults, and the TRADEWATCH_ALERTS_\* variables/);
    assert.match(r.stderr, /warning: no alert notification channel is configured/);
    for (const name of ['TRADEWATCH_ALERTS_TELEGRAM_BOT_TOKEN', 'TRADEWATCH_ALERTS_DISCORD_WEBHOOK_URL', 'TRADEWATCH_ALERTS_EMAIL_ADDRESSES']) assert.match(r.stderr, new RegExp(name));
    for (const f of alertingFiles(defaultAlertsConfig())) assert.equal(r.read(f.path.split('/').pop()!), readFileSync(join(root, f.path), 'utf8'), f.path);
  });

  test('a bad setting is refused with exit status 2, naming the setting and its variable', () => {
    const r = run({ TRADEWATCH_ALERTS_RULES_EXCHANGE_DOWN_EXCHANGE_THRESHOLDS: 'bybit=soon' }, null);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /alerts\.rules\.exchangeDown\.exchangeThresholds/);
    assert.match(r.stderr, /TRADEWATCH_ALERTS_RULES_EXCHANGE_DOWN_EXCHANGE_THRESHOLDS/);
  });

  test('a mounted file still tuning spoolGrowth (renamed spoolFull) is refused with exit status 2, saying what changed', () => {
    const r = run({}, { alerts: { rules: { spoolGrowth: { threshold: 8 } } } });
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /alerts\.rules\.spoolGrowth\.threshold = 8 in \S+tradewatch\.yaml: the rule spoolGrowth was renamed spoolFull, and its threshold now means hours left .*\(default 24 h\)/);
    assert.match(r.stderr, /\[TW_INVALID_CONFIG\]/);
  });

  test("spoolGrowth's old variable where the command sees it (a host run): a warning naming it and its replacement, the defaults generated", () => {
    // The compose service itself passes only the generated list of variables, so a deploy/.env line does not reach it.
    const r = run({}, null, { TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_THRESHOLD: '8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stderr, /warning: TRADEWATCH_ALERTS_RULES_SPOOL_GROWTH_THRESHOLD=8 is ignored: the rule spoolGrowth was renamed spoolFull\. Set TRADEWATCH_ALERTS_RULES_SPOOL_FULL_THRESHOLD instead; its threshold now means hours left/);
    for (const f of alertingFiles(defaultAlertsConfig())) assert.equal(r.read(f.path.split('/').pop()!), readFileSync(join(root, f.path), 'utf8'), f.path);
  });
});
