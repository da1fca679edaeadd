import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Command } from 'commander';
import { alertingFiles, assertChannels, renamedRuleVariables } from '../../grafana/alerting/index.js';
import { grafanaFiles, PROVISIONING_ROOT } from '../../grafana/index.js';
import { DEFAULT_CONFIG_FILE, envName, loadConfig } from '../../config/index.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

export function registerGrafanaCommand(program: Command): void {
  const grafana = program.command('grafana').description('Grafana provisioning: the QuestDB datasource and the tradewatch dashboards');

  grafana
    .command('generate')
    .description(`write the datasource and dashboards under ${PROVISIONING_ROOT}/ (from src/schema, via the Grafana foundation SDK)`)
    .option('--root <dir>', 'repository root to write under', '.')
    .option('--check', 'write nothing; exit 1 when a checked-in file differs from what would be written')
    .option('--alerting-only', 'only the alerting files (rules, contact points, policy)')
    .option('--from-env', "alerting from the config file's `alerts` section, with the channels whose environment variables are set (deploy time)")
    .option('--config <file>', 'config file (default tradewatch.yaml); env TRADEWATCH_CONFIG')
    .action((flags: { root: string; check?: boolean; alertingOnly?: boolean; fromEnv?: boolean; config?: string }) => {
      let stale = 0;
      if (flags.fromEnv) {
        // Say which file the alerts came from: a config file that is not where it was expected means the defaults.
        const file = flags.config ?? process.env[envName('config')] ?? DEFAULT_CONFIG_FILE;
        out(existsSync(file) ? `config    ${file}` : `config    ${file} not present: defaults, and the ${envName('alerts')}_* variables`);
        // A renamed rule's old variable is read by nothing: say so before the config is judged.
        for (const warning of renamedRuleVariables(process.env)) process.stderr.write(`tradewatch: warning: ${warning}\n`);
      }
      // Without --from-env: exactly the checked-in files (default rules, no channels), as `npm run gen` writes them.
      const alerts = flags.fromEnv ? loadConfig({ file: flags.config }).alerts : loadConfig({ file: flags.config, env: {} }).alerts;
      // A half-set channel or e-mail with SMTP off is refused (exit 2); no channel at all is said out loud.
      const { warnings } = assertChannels(alerts, flags.fromEnv ? process.env : {});
      for (const warning of warnings) process.stderr.write(`tradewatch: warning: ${warning}${flags.fromEnv ? '' : ' and generate with --from-env'}\n`);
      const alerting = alertingFiles(alerts, flags.fromEnv ? { env: process.env } : {});
      const files = flags.alertingOnly ? alerting : [...grafanaFiles(), ...alerting];
      for (const file of files) {
        const path = resolve(flags.root, file.path);
        const current = readOrNull(path);
        if (current === file.content) {
          out(`unchanged ${file.path}`);
          continue;
        }
        if (flags.check) {
          stale++;
          out(`stale     ${file.path}`);
          continue;
        }
        mkdirSync(dirname(path), { recursive: true });
        writeFileSync(path, file.content);
        out(`wrote     ${file.path}`);
      }
      if (flags.check && stale) {
        out(`${stale} file(s) out of date: run 'tradewatch grafana generate' (or npm run gen)`);
        process.exitCode = 1;
      }
    });
}
