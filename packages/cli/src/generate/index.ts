import { renderSchemaDoc, SCHEMA_VERSION, tables, views } from '@tradewatch/sdk/schema';
import { alertingFiles, defaultAlertsConfig, renderRunbooks, RUNBOOKS_DOC } from '../grafana/alerting/index.js';
import { grafanaFiles } from '../grafana/index.js';
import { renderMetricsDoc } from '@tradewatch/sdk/sdk';
import { PYTHON_CATALOG_PATH, renderPythonCatalog } from './python-catalog.js';

export interface GeneratedFile {
  /** Path relative to the repository root. */
  readonly path: string;
  readonly content: string;
}

/** Every file the repository keeps generated, with the content its source of truth gives today. */
export function generatedFiles(): GeneratedFile[] {
  return [
    { path: 'docs/schema.md', content: renderSchemaDoc(SCHEMA_VERSION, tables, views) },
    { path: 'docs/metrics.md', content: renderMetricsDoc() },
    { path: RUNBOOKS_DOC, content: renderRunbooks() },
    { path: PYTHON_CATALOG_PATH, content: renderPythonCatalog() },
    ...grafanaFiles(),
    // From the default `alerts` config and no channel environment: `tradewatch grafana generate --from-env` at deploy time.
    ...alertingFiles(defaultAlertsConfig()),
  ];
}
