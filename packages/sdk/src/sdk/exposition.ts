import { Registry } from 'prom-client';

/**
 * Rendering a registry in the two exposition formats.
 *
 * Prometheus text (0.0.4) is prom-client's own `registry.metrics()`. OpenMetrics is rendered here from
 * `registry.getMetricsAsJSON()`, because prom-client's OpenMetrics mode is a registry-wide switch
 * (`setContentType`) and renames counters in place (it strips `_total` from the shared metric objects), so serving
 * both formats from one registry through prom-client alone would race and corrupt the Prometheus output.
 */

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const OPENMETRICS_CONTENT_TYPE = 'application/openmetrics-text; version=1.0.0; charset=utf-8';

/** Text format of /metrics: Prometheus 0.0.4 or OpenMetrics 1.0. */
export type ExpositionFormat = 'prometheus' | 'openmetrics';

/** Picks the format from an Accept header: OpenMetrics when it is acceptable with a higher (or equal) q than text. */
export function negotiateFormat(accept: string | undefined): ExpositionFormat {
  if (!accept) return 'prometheus';
  let openMetricsQ = -1;
  let textQ = -1;
  for (const part of accept.split(',')) {
    const [type, ...params] = part.trim().split(';');
    const mediaType = type?.trim().toLowerCase() ?? '';
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=');
      if (k?.trim() === 'q') q = Number(v);
    }
    if (!Number.isFinite(q)) q = 0;
    if (mediaType === 'application/openmetrics-text') openMetricsQ = Math.max(openMetricsQ, q);
    else if (mediaType === 'text/plain' || mediaType === '*/*' || mediaType === 'text/*') textQ = Math.max(textQ, q);
  }
  return openMetricsQ > 0 && openMetricsQ >= textQ ? 'openmetrics' : 'prometheus';
}

/** Renders a prom-client registry in a format, for a /metrics endpoint of the caller's own server. */
export async function renderMetrics(registry: Registry, format: ExpositionFormat): Promise<{ contentType: string; body: string }> {
  if (format === 'openmetrics') return { contentType: OPENMETRICS_CONTENT_TYPE, body: await renderOpenMetrics(registry) };
  if (registry.contentType === Registry.PROMETHEUS_CONTENT_TYPE) return { contentType: PROMETHEUS_CONTENT_TYPE, body: await registry.metrics() };
  // A registry created for OpenMetrics renders that from metrics(); text is what was asked, so render it here.
  return { contentType: PROMETHEUS_CONTENT_TYPE, body: await renderText(registry) };
}

interface JsonValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface JsonMetric {
  name: string;
  help: string;
  type: string;
  values?: JsonValue[];
}

async function metricsJson(registry: Registry): Promise<JsonMetric[]> {
  return (await registry.getMetricsAsJSON()) as unknown as JsonMetric[];
}

export async function renderOpenMetrics(registry: Registry): Promise<string> {
  const out: string[] = [];
  for (const metric of await metricsJson(registry)) {
    const type = metric.type === 'counter' || metric.type === 'gauge' || metric.type === 'histogram' || metric.type === 'summary' ? metric.type : 'unknown';
    // OpenMetrics names the counter family without `_total` and its sample with it.
    const family = type === 'counter' ? metric.name.replace(/_total$/, '') : metric.name;
    out.push(`# TYPE ${family} ${type}`, `# HELP ${family} ${escapeHelp(metric.help, true)}`);
    for (const v of metric.values ?? []) {
      const name = type === 'counter' ? `${family}_total` : (v.metricName ?? metric.name);
      out.push(`${name}${labelString(v.labels)} ${formatValue(v.value)}`);
    }
  }
  out.push('# EOF');
  return `${out.join('\n')}\n`;
}

async function renderText(registry: Registry): Promise<string> {
  const out: string[] = [];
  for (const metric of await metricsJson(registry)) {
    out.push(`# HELP ${metric.name} ${escapeHelp(metric.help, false)}`, `# TYPE ${metric.name} ${metric.type}`);
    for (const v of metric.values ?? []) out.push(`${v.metricName ?? metric.name}${labelString(v.labels)} ${formatValue(v.value)}`);
    out.push('');
  }
  return `${out.join('\n')}\n`;
}

function labelString(labels: Record<string, string | number>): string {
  let out = '';
  for (const name in labels) {
    const value = labels[name];
    if (value === undefined) continue;
    out += `${out ? ',' : ''}${name}="${String(value).replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`;
  }
  return out ? `{${out}}` : '';
}

function escapeHelp(help: string, quotes: boolean): string {
  const text = help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
  return quotes ? text.replace(/"/g, '\\"') : text;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}
