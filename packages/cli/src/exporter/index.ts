/** The Prometheus-to-QuestDB exporter: scrape /metrics endpoints into tw_metrics. The public surface is this file. */
export {
  createExporter,
  type Exporter,
  type ExporterOptions,
  type ExporterStats,
  type ExporterTarget,
  type ExporterWriter,
  type ScrapeReport,
} from './exporter.js';
export { DISK_METRICS, sampleDisk, type DiskSample } from './disk.js';
export { canonicalLabels, parsePrometheusText, type MetricKind, type ParsedSample, type ParseOptions, type ParseResult } from './parse.js';
export { parseTargetSpec, parseTargetList } from './targets.js';
