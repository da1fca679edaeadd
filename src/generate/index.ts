import { renderSchemaDoc, SCHEMA_VERSION, tables, views } from '../schema/index.js';
import { alertingFiles, defaultAlertsConfig } from '../grafana/index.js';
import { grafanaFiles } from '../grafana/index.js';
import { renderMetricsDoc } from '../sdk/index.js';

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
    ...grafanaFiles(),
    // From the default `alerts` config and no channel environment: `tradewatch grafana generate --from-env` at deploy time.
    ...alertingFiles(defaultAlertsConfig()),
  ];
}
