export type {
  ColumnDef,
  ColumnType,
  PartitionBy,
  RollupDef,
  RollupFn,
  RollupInterval,
  RollupMeasure,
  TableDef,
  TableGroup,
  Ttl,
  TtlUnit,
  ViewDef,
} from './types.js';
export { SCHEMA_VERSION, tables, views, schema, getTable, findTable } from './registry.js';
export { viewName, buildViews } from './views.js';
export {
  addColumnSql,
  columnSql,
  createTableSql,
  createViewSql,
  dedupSql,
  parquetSql,
  PARQUET_CODEC,
  schemaSql,
  setParquetSql,
  setTtlSql,
  ttlSql,
} from './ddl.js';
export { ttlHours, sameTtl } from './ttl.js';
export { renderSchemaDoc, type DashboardVariableSource } from './docs.js';
export { rowBytes } from './estimate.js';
export { FETCH_STATUSES } from './tables/pipeline.js';
export { CONNECTION_STATES } from './tables/exchange.js';
export { ORDER_STATUSES, SIDES } from './tables/trading.js';
export { ALERT_STATUSES } from './tables/alerts.js';
export { MIN_RETENTION_DAYS, RETENTION_EXCEPTIONS, longestRetentionDays, parseTtl, ttlDays, withRetention } from './retention.js';
