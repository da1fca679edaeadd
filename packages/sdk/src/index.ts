/**
 * `@tradewatch/sdk`: what a trading process imports to be monitored (docs/sdk.md). This file is the public API,
 * recorded in packages/sdk/api-report.md and checked by test/api-report.unit.test.ts: a change here is a change
 * for every user. The subpaths (`@tradewatch/sdk/common`, `/schema`, `/storage`, `/sdk`) are the tradewatch CLI's
 * own interface to the layers and carry no compatibility promise.
 */

// Monitoring: one call per event, a QuestDB row and a Prometheus metric.
export { createMonitor } from './sdk/monitor.js';
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
} from './sdk/types.js';

// ccxt: one call records every REST call and websocket loop of an exchange instance you created (no ccxt import here).
export { instrumentCcxt } from './sdk/instrument-ccxt.js';

// Exposition: /metrics, /healthz, /readyz, or the rendering for a server of one's own.
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './sdk/metrics-server.js';
export { renderMetrics, negotiateFormat, type ExpositionFormat } from './sdk/exposition.js';

// Rows without the monitor, and the tables they go to.
export { createWriter, type Writer, type WriterStats } from './storage/writer.js';
export type { WriterOptions } from './storage/writer-options.js';
export type { WriterLogger } from './storage/logger.js';
export type { SpoolFullPolicy } from './storage/spool.js';
export type { Row } from './storage/ilp-encoder.js';
export { SqlClient, type SqlClientOptions, type SqlColumn, type SqlResult } from './storage/sql.js';
export { applySchema, type ApplyOptions, type ApplyReport, type SchemaChange, type SchemaDrift } from './storage/schema-apply.js';
export { SCHEMA_VERSION } from './schema/registry.js';
export type { TableDef } from './schema/types.js';

// Errors: configuration-time errors carry a stable code (docs/errors.md).
export { TradewatchError, ErrorCodes, isTradewatchError, type ErrorCode } from './common/errors.js';
