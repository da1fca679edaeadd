import type { ColumnDef, TableDef, Ttl, ViewDef } from './types.js';

export function ttlSql(ttl: Ttl): string {
  // QuestDB reads both forms; the singular keeps docs grammatical.
  return `${ttl.value} ${ttl.value === 1 ? ttl.unit.replace(/S$/, '') : ttl.unit}`;
}

export function columnSql(column: ColumnDef): string {
  if (column.type === 'SYMBOL') return `${column.name} SYMBOL CAPACITY ${column.symbolCapacity ?? 256} CACHE`;
  return `${column.name} ${column.type}`;
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
  return `ALTER TABLE ${table.name} ADD COLUMN ${columnSql(column)}`;
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
