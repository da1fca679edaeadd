/**
 * The tradewatch monitoring SDK: one call records a QuestDB row (through the storage writer) and updates Prometheus
 * metrics (in a prom-client Registry). The public surface is this file; the machinery lives beside it.
 */
export { createMonitor, DEFAULT_SAMPLE_INTERVAL_MS } from './monitor.js';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.js';
export { renderMetrics, negotiateFormat, PROMETHEUS_CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE, type ExpositionFormat } from './exposition.js';
export { renderMetricsDoc } from './metrics-doc.js';
export { METRIC_LIST as SDK_METRICS, DEFAULT_MAX_SERIES, OTHER as OVERFLOW_LABEL_VALUE, type MetricDef } from './prometheus/catalog.js';
export { MicrosClock, toMicros } from './clock.js';
export { WriterHealthRows, DEFAULT_WRITER_HEALTH_INTERVAL_MS } from './writer-health.js';
export { instrumentCcxt, classifyCcxtError, datasetOf, readRateLimitHeaders, type CcxtErrorClass } from './instrument-ccxt.js';
export type {
  ConnectionState,
  ConnectionStateEvent,
  CustomMetric,
  DataGapEvent,
  ErrorContext,
  FetchEvent,
  FetchStatus,
  FillEvent,
  FundingRateEvent,
  LiquidationEvent,
  Monitor,
  MonitorOptions,
  MonitorWriter,
  OpenInterestEvent,
  OrderEvent,
  OrderStatus,
  PnlSnapshot,
  PositionSnapshot,
  RateLimitEvent,
  Readiness,
  SdkLogger,
  ShutdownOptions,
  Side,
  StorageSizeEvent,
  StrategyMonitor,
  StrategyRef,
  TimeInput,
  TradingMode,
} from './types.js';
