/** Public surface of the storage layer: the writer (ILP over HTTP with spool and quarantine) and the SQL client. */
export { createWriter, type Writer, type WriterDependencies, type WriterStats } from './writer.js';
export type { WriterOptions } from './writer-options.js';
export {
  settingDefaults,
  validateSettings,
  writerSettingsSpec,
  type FilledSettings,
  type SettingOutputValue,
  type SettingProblem,
  type SettingValue,
  type SettingsInput,
  type SettingsOutput,
  type SettingSpec,
  type SettingsSpec,
  type ValidWriterSettings,
  type WriterSettings,
} from './writer-settings.js';
export { safeLog, type WriterLogger } from './logger.js';
export type { SendOutcome, Transport } from './transport.js';
export type { SpoolFullPolicy } from './spool.js';
export type { QuarantineEntry } from './quarantine.js';
export { encoderFor, RowEncoder, MAX_SYMBOL_CHARS, MAX_VARCHAR_CHARS, MAX_TIMESTAMP_MICROS, type Row } from './ilp-encoder.js';
export { SqlClient, type SqlClientOptions, type SqlColumn, type SqlResult } from './sql.js';
export { applySchema, type ApplyOptions, type ApplyReport, type SchemaChange, type SchemaDrift } from './schema-apply.js';
export {
  compactPartitions,
  tableSizes,
  type TableSize,
  waitForParquet,
  type CompactionOptions,
  type CompactionReport,
  type ConvertedPartition,
  type PartitionToConvert,
} from './compaction.js';
