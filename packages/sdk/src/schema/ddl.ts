import type { ColumnDef, TableDef, Ttl, ViewDef } from './types.js';

export function ttlSql(ttl: Ttl): string {
  // QuestDB reads both forms; the singular keeps docs grammatical.
  return `${ttl.value} ${ttl.value === 1 ? ttl.unit.replace(/S$/, '') : ttl.unit}`;
}

/**
 * Compression codec of Parquet partitions. Measured on 30 days of open interest (bench/parquet-codecs.bench.ts,
 * BENCHMARKS.md): zstd(9) stores the least but a 30-day raw scan decodes ~2.5× slower than with lz4_raw, which
 * keeps that scan within its 100 ms budget for ~30% more bytes; the 90-day total stays well inside 5 GB.
 */
export const PARQUET_CODEC = 'lz4_raw';

/**
 * How a column is encoded once its partition is converted to Parquet (src/storage/compaction.ts). Timestamps and
 * integers are delta-encoded: consecutive values differ little, so a timestamp shrinks to about a byte. Everything
 * else keeps QuestDB's default encoding (dictionary for symbols). The codec is declared too, so the result does not
 * depend on the server's configuration.
 */
export function parquetSql(column: ColumnDef, codec: string = PARQUET_CODEC): string {
  const delta = column.type === 'TIMESTAMP' || column.type === 'LONG' || column.type === 'INT';
  return `${delta ? 'delta_binary_packed' : 'default'}, ${codec}`;
}

/** The column as CREATE TABLE declares it; `ALTER TABLE ADD COLUMN` takes no PARQUET clause, hence the flag. */
export function columnSql(column: ColumnDef, withParquet = true): string {
  const type = column.type === 'SYMBOL' ? `SYMBOL CAPACITY ${column.symbolCapacity ?? 256} CACHE` : column.type;
  return `${column.name} ${type}${withParquet ? ` PARQUET(${parquetSql(column)})` : ''}`;
}

export function createTableSql(table: TableDef): string {
  const columns = table.columns.map((c) => `  ${columnSql(c)}`).join(',\n');
  return (
    `CREATE TABLE IF NOT EXISTS ${table.name} (\n${columns}\n) TIMESTAMP(${table.timestamp}) ` +
    `PARTITION BY ${table.partitionBy} TTL ${ttlSql(table.ttl)} WAL DEDUP UPSERT KEYS(${table.dedupKeys.join(', ')})`
  );
}

export function createViewSql(view: ViewDef): string {
  return (
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${view.name} AS (\n  ${view.sql}\n) ` +
    `PARTITION BY ${view.partitionBy} TTL ${ttlSql(view.ttl)}`
  );
}

export function addColumnSql(table: TableDef, column: ColumnDef): string {
  return `ALTER TABLE ${table.name} ADD COLUMN ${columnSql(column, false)}`;
}

export function setParquetSql(table: TableDef, column: ColumnDef, codec: string = PARQUET_CODEC): string {
  return `ALTER TABLE ${table.name} ALTER COLUMN ${column.name} SET PARQUET(${parquetSql(column, codec)})`;
}

export function dedupSql(table: TableDef): string {
  return `ALTER TABLE ${table.name} DEDUP ENABLE UPSERT KEYS(${table.dedupKeys.join(', ')})`;
}

export function setTtlSql(name: string, ttl: Ttl, view = false): string {
  return `ALTER ${view ? 'MATERIALIZED VIEW' : 'TABLE'} ${name} SET TTL ${ttlSql(ttl)}`;
}

/** The whole schema as one SQL script: what `schema apply` creates on an empty database. */
export function schemaSql(tables: readonly TableDef[], views: readonly ViewDef[]): string {
  return [...tables.map(createTableSql), ...views.map(createViewSql)].map((s) => `${s};`).join('\n\n');
}
