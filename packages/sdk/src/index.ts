/**
 * The tradewatch package: the monitoring SDK first (what producers import), then the lower layers for those who
 * write rows or manage QuestDB themselves.
 */
export * from './sdk/index.js';
export { createWriter, applySchema, SqlClient } from './storage/index.js';
export type { Writer, WriterOptions, WriterStats, ApplyReport } from './storage/index.js';
export { schema, tables, views, getTable, SCHEMA_VERSION } from './schema/index.js';
export type { TableDef, ColumnDef } from './schema/index.js';
export { TradewatchError, ErrorCodes, isTradewatchError } from './common/errors.js';
export type { ErrorCode } from './common/errors.js';
