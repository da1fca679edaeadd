/**
 * Grafana as code: the QuestDB datasource and the tradewatch dashboards, built with the Grafana foundation SDK from
 * src/schema, rendered as provisioning files under deploy/grafana/provisioning/.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { alertsOverviewDashboard } from './alerts-overview.js';
import { renderDashboardProvider, renderDatasourceProvisioning } from './datasource.js';
import { exchangeDashboard } from './exchange.js';
import { healthDashboard } from './health.js';
import { placeCollapsedRows } from './layout.js';
import { marketDashboard } from './market.js';
import { pipelineDashboard } from './pipeline.js';
import { tradingDashboard } from './trading.js';

export {
  DATASOURCE_ENV,
  QUESTDB_DATASOURCE,
  QUESTDB_DATASOURCE_UID,
  QUESTDB_PLUGIN_ID,
  QueryFormat,
  type QuestDbQuery,
} from './datasource.js';
export { RESOLUTION_MS, type Resolution } from './sql.js';
export { dashboardPanels, type PlacedPanel } from './layout.js';

/** Where the generated provisioning goes, relative to the repository root. */
export const PROVISIONING_ROOT = 'deploy/grafana/provisioning';

export interface DashboardDef {
  /** Module name, also the JSON file's base name. */
  readonly file: string;
  readonly build: () => dashboard.Dashboard;
}

export const DASHBOARDS: readonly DashboardDef[] = [
  { file: 'health', build: healthDashboard },
  { file: 'pipeline', build: pipelineDashboard },
  { file: 'exchange', build: exchangeDashboard },
  { file: 'market', build: marketDashboard },
  { file: 'trading', build: tradingDashboard },
  { file: 'alerts-overview', build: alertsOverviewDashboard },
];

/** Panel ids in layout order (Grafana needs them unique per dashboard for links and the panel inspector). */
function numberPanels(d: dashboard.Dashboard): dashboard.Dashboard {
  let id = 1;
  for (const panel of d.panels ?? []) {
    panel.id = id++;
    if ('panels' in panel && Array.isArray(panel.panels)) for (const inner of panel.panels) inner.id = id++;
  }
  return d;
}

/**
 * Every dashboard as the JSON model Grafana provisions (functions, such as the SDK's variant markers, dropped;
 * collapsed rows' panels placed under their row).
 */
export function buildDashboards(): { file: string; model: dashboard.Dashboard }[] {
  return DASHBOARDS.map((d) => ({
    file: d.file,
    model: JSON.parse(JSON.stringify(numberPanels(placeCollapsedRows(d.build())))) as dashboard.Dashboard,
  }));
}

export interface GrafanaFile {
  /** Relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

/** The provisioning files `tradewatch grafana generate` (and `npm run gen`) write. */
export function grafanaFiles(): GrafanaFile[] {
  return [
    { path: `${PROVISIONING_ROOT}/datasources/questdb.yaml`, content: renderDatasourceProvisioning() },
    { path: `${PROVISIONING_ROOT}/dashboards/tradewatch.yaml`, content: renderDashboardProvider() },
    ...buildDashboards().map(({ file, model }) => ({
      path: `${PROVISIONING_ROOT}/dashboards/${file}.json`,
      content: `${JSON.stringify(model, null, 2)}\n`,
    })),
  ];
}
