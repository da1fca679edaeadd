import { renderSchemaDoc, SCHEMA_VERSION, tables, views, type DashboardVariableSource } from '@tradewatch/sdk/schema';
import { readFileSync } from 'node:fs';
import {
  alertingFiles,
  alertingRuleTable,
  composeAlertSettings,
  defaultAlertsConfig,
  envExampleAlertSettings,
  renderRunbooks,
  RUNBOOKS_DOC,
} from '../grafana/alerting/index.js';
import { grafanaFiles } from '../grafana/index.js';
import { renderMetricsDoc } from '@tradewatch/sdk/sdk';
import { PYTHON_CATALOG_PATH, renderPythonCatalog } from './python-catalog.js';

/** Each dashboard variable and the tradewatch tables or views its query reads, from the generated dashboards. */
function dashboardVariableSources(files: readonly GeneratedFile[]): DashboardVariableSource[] {
  const out: DashboardVariableSource[] = [];
  for (const file of files) {
    if (!file.path.endsWith('.json')) continue;
    const model = JSON.parse(file.content) as { title?: string; templating?: { list?: { name: string; query?: unknown }[] } };
    for (const v of model.templating?.list ?? []) {
      const sql = typeof v.query === 'string' ? v.query : JSON.stringify(v.query ?? '');
      const read = [...new Set(sql.match(/\btw_[a-z0-9_]+/g) ?? [])];
      if (read.length) out.push({ dashboard: model.title ?? file.path, variable: v.name, tables: read });
    }
  }
  return out;
}

/**
 * A hand-written file with one generated region: `body` replaces what lies between the marker lines
 * `<open>generated:<name>:start<close>` and `<open>generated:<name>:end<close>` (paths relative to the repository
 * root, the working directory of `npm run gen` and of the tests).
 */
export function withGeneratedRegion(path: string, name: string, body: string, comment: readonly [string, string]): GeneratedFile {
  const [open, close] = comment;
  const start = `${open}generated:${name}:start${close}`;
  const end = `${open}generated:${name}:end${close}`;
  const text = readFileSync(path, 'utf8');
  const from = text.indexOf(`${start}\n`);
  const to = text.indexOf(`\n${end}`);
  if (from < 0 || to < from) throw new Error(`${path}: the markers ${start} and ${end} are missing or out of order`);
  return { path, content: `${text.slice(0, from + start.length + 1)}${body}${text.slice(to)}` };
}

const HASH: readonly [string, string] = ['# ', ''];
const HTML: readonly [string, string] = ['<!-- ', ' -->'];

export interface GeneratedFile {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

/** Every file the repository keeps generated, with the content its source of truth gives today. */
export function generatedFiles(): GeneratedFile[] {
  const grafana = grafanaFiles();
  return [
    { path: 'docs/schema.md', content: renderSchemaDoc(SCHEMA_VERSION, tables, views, dashboardVariableSources(grafana)) },
    { path: 'docs/metrics.md', content: renderMetricsDoc() },
    { path: RUNBOOKS_DOC, content: renderRunbooks() },
    withGeneratedRegion('docs/alerting.md', 'alert-rules', alertingRuleTable(), HTML),
    withGeneratedRegion('deploy/docker-compose.yml', 'alert-settings', composeAlertSettings(), HASH),
    withGeneratedRegion('deploy/.env.example', 'alert-settings', envExampleAlertSettings(), HASH),
    { path: PYTHON_CATALOG_PATH, content: renderPythonCatalog() },
    ...grafana,
    // From the default `alerts` config and no channel environment: `tradewatch grafana generate --from-env` at deploy time.
    ...alertingFiles(defaultAlertsConfig()),
  ];
}
