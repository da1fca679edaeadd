import {
  addColumnSql,
  createTableSql,
  createViewSql,
  dedupSql,
  parquetSql,
  SCHEMA_VERSION,
  setParquetSql,
  setTtlSql,
  ttlSql,
  tables as allTables,
  views as allViews,
  withRetention,
  type TableDef,
  type Ttl,
  type ViewDef,
  sameTtl,
} from '../schema/index.js';
import type { SqlClient } from './sql.js';

/** One DDL statement applySchema ran (or, with dryRun, would run). */
export interface SchemaChange {
  readonly object: string;
  readonly action: 'create-table' | 'add-column' | 'set-dedup' | 'set-ttl' | 'set-parquet' | 'create-view' | 'rebuild-view';
  readonly sql: string;
  /** What changes, for the report: e.g. a TTL's old and new value and where the new one comes from. */
  readonly detail?: string;
}

/** A difference that apply does not fix by itself because fixing it could lose data. */
export interface SchemaDrift {
  readonly object: string;
  readonly problem: string;
}

/** What applySchema did: the changes it ran (or would run), the objects already current, and drift it left alone. */
export interface ApplyReport {
  readonly version: number;
  readonly changes: readonly SchemaChange[];
  readonly drift: readonly SchemaDrift[];
  readonly unchanged: readonly string[];
}

/** Options of applySchema. */
export interface ApplyOptions {
  readonly tables?: readonly TableDef[];
  readonly views?: readonly ViewDef[];
  /** Drop and recreate views whose definition changed. Their history is rebuilt only from what the base still holds. */
  readonly rebuildViews?: boolean;
  /** Report what would change without changing anything. */
  readonly dryRun?: boolean;
  /**
   * TTLs from the config (`storage.retention.<name>`), in place of the schema defaults. Apply sets every TTL to
   * the configured (else default) value and reports each one it changes, so a TTL set by hand is replaced
   * visibly: the config is the one place to set it.
   */
  readonly retention?: Readonly<Record<string, Ttl>>;
}

interface ExistingTable {
  readonly ttlValue: number;
  readonly ttlUnit: string;
  readonly dedup: boolean;
  readonly matView: boolean;
}

interface ExistingColumn {
  readonly column: string;
  readonly type: string;
  readonly upsertKey: boolean;
}

/** Tables with this prefix are tradewatch's; others in the same database are the user's business. */
const TRADEWATCH_PREFIX = 'tw_';

const normalizeSql = (sql: string) => sql.replace(/\s+/g, ' ').trim();

/**
 * Brings a QuestDB database to the schema: creates what is missing and upgrades what is older (new columns, dedup
 * keys, TTLs). Running it again changes nothing. What it cannot change without risking data (a column of another
 * type, a changed view) is reported as drift.
 */
export async function applySchema(sql: SqlClient, options: ApplyOptions = {}): Promise<ApplyReport> {
  const retention = options.retention ?? {};
  const { tables, views } = withRetention(options.tables ?? allTables, options.views ?? allViews, retention);
  const ttlDetail = (name: string, found: ExistingTable, want: Ttl) =>
    `TTL ${found.ttlValue} ${found.ttlUnit} -> ${ttlSql(want)} (${retention[name] ? `storage.retention.${name}` : `schema default; set storage.retention.${name} to keep another`})`;
  const existing = new Map(
    (await sql.rows<ExistingTable & { table_name: string }>(
      'SELECT table_name, ttlValue, ttlUnit, dedup, matView FROM tables()',
    )).map((t) => [t.table_name, t]),
  );
  const changes: SchemaChange[] = [];
  const drift: SchemaDrift[] = [];
  const unchanged: string[] = [];
  const run = async (change: SchemaChange) => {
    changes.push(change);
    if (!options.dryRun) await sql.execute(change.sql);
  };

  // Names a producer invented (a typo'd table, an extra field) that QuestDB created on its own before auto-creation
  // was turned off, or on a server configured without it: data that no dashboard, alert or TTL knows about.
  if (!options.tables) {
    const defined = new Set([...tables.map((t) => t.name), ...views.map((v) => v.name)]);
    for (const [name, found] of existing) {
      if (name.startsWith(TRADEWATCH_PREFIX) && !defined.has(name) && !found.matView) {
        drift.push({ object: name, problem: 'table is not defined by the schema (created by a producer through ILP?); its rows are invisible to dashboards and alerts' });
      }
    }
  }

  for (const table of tables) {
    const found = existing.get(table.name);
    if (!found) {
      await run({ object: table.name, action: 'create-table', sql: createTableSql(table) });
      continue;
    }
    const before = changes.length;
    await upgradeTable(sql, table, found, run, drift, ttlDetail);
    if (changes.length === before) unchanged.push(table.name);
  }

  const viewState = new Map(
    (await sql.rows<{ view_name: string; view_sql: string }>('SELECT view_name, view_sql FROM materialized_views()')).map(
      (v) => [v.view_name, normalizeSql(v.view_sql)],
    ),
  );
  for (const view of views) {
    const current = viewState.get(view.name);
    if (current === undefined) {
      await run({ object: view.name, action: 'create-view', sql: createViewSql(view) });
      continue;
    }
    const before = changes.length;
    if (current !== normalizeSql(view.sql)) {
      if (options.rebuildViews) {
        await run({ object: view.name, action: 'rebuild-view', sql: `DROP MATERIALIZED VIEW ${view.name}` });
        await run({ object: view.name, action: 'create-view', sql: createViewSql(view) });
      } else {
        drift.push({ object: view.name, problem: 'definition differs from the schema; run with --rebuild-views' });
      }
    } else {
      const found = existing.get(view.name);
      if (found && !sameTtl(view.ttl, found.ttlValue, found.ttlUnit)) {
        await run({ object: view.name, action: 'set-ttl', sql: setTtlSql(view.name, view.ttl, true), detail: ttlDetail(view.name, found, view.ttl) });
      }
    }
    if (changes.length === before) unchanged.push(view.name);
  }

  if (changes.length > 0 && !options.dryRun) {
    await recordChanges(sql, changes, tables);
    await waitForWalApplied(sql, [...new Set(changes.map((c) => c.object.split('.')[0]!))]);
  }
  return { version: SCHEMA_VERSION, changes, drift, unchanged };
}

async function upgradeTable(
  sql: SqlClient,
  table: TableDef,
  found: ExistingTable,
  run: (change: SchemaChange) => Promise<void>,
  drift: SchemaDrift[],
  ttlDetail: (name: string, found: ExistingTable, want: Ttl) => string,
): Promise<void> {
  if (found.matView) {
    drift.push({ object: table.name, problem: 'exists as a materialized view, expected a table' });
    return;
  }
  const columns = new Map(
    (await sql.rows<ExistingColumn>(
      `SELECT "column", type, upsertKey FROM table_columns('${table.name}')`,
    )).map((c) => [c.column, c]),
  );
  for (const column of table.columns) {
    const have = columns.get(column.name);
    if (!have) {
      await run({ object: table.name, action: 'add-column', sql: addColumnSql(table, column) });
    } else if (have.type !== column.type) {
      drift.push({ object: `${table.name}.${column.name}`, problem: `is ${have.type}, the schema says ${column.type}` });
    }
  }
  const definedColumns = new Set(table.columns.map((c) => c.name));
  for (const name of columns.keys()) {
    if (!definedColumns.has(name)) drift.push({ object: `${table.name}.${name}`, problem: 'column is not defined by the schema (created by a producer through ILP?)' });
  }
  // Columns added just now (no PARQUET clause in ADD COLUMN) and older tables get their Parquet encoding here.
  const parquet = await parquetSettings(sql, table.name);
  for (const column of table.columns) {
    const have = columns.get(column.name);
    if (have && have.type !== column.type) continue;
    if (parquet.get(column.name) !== normalizeParquet(parquetSql(column))) {
      await run({ object: `${table.name}.${column.name}`, action: 'set-parquet', sql: setParquetSql(table, column) });
    }
  }
  const keys = [...columns.values()].filter((c) => c.upsertKey).map((c) => c.column);
  const sameKeys = found.dedup && keys.length === table.dedupKeys.length && table.dedupKeys.every((k) => keys.includes(k));
  if (!sameKeys) await run({ object: table.name, action: 'set-dedup', sql: dedupSql(table) });
  if (!sameTtl(table.ttl, found.ttlValue, found.ttlUnit)) {
    await run({ object: table.name, action: 'set-ttl', sql: setTtlSql(table.name, table.ttl), detail: ttlDetail(table.name, found, table.ttl) });
  }
}

const normalizeParquet = (spec: string) => spec.replace(/\s+/g, '').toLowerCase();

/**
 * Per-column Parquet settings as QuestDB reports them. SHOW CREATE TABLE is the only place 9.x shows them
 * (table_columns() does not): one column a line, `name TYPE ... PARQUET(encoding, codec(level))`.
 */
async function parquetSettings(sql: SqlClient, table: string): Promise<Map<string, string>> {
  const [row] = await sql.rows<{ ddl: string }>(`SHOW CREATE TABLE ${table}`);
  const settings = new Map<string, string>();
  for (const line of (row?.ddl ?? '').split('\n')) {
    const m = /^\s*"?([A-Za-z_][\w]*)"?\s.*\bPARQUET\((.*)\),?\s*$/.exec(line);
    if (m) settings.set(m[1]!, normalizeParquet(m[2]!));
  }
  return settings;
}

/** Audit trail in tw_schema_changes; skipped when that table is not part of the applied set (partial schemas in tests). */
async function recordChanges(sql: SqlClient, changes: readonly SchemaChange[], tables: readonly TableDef[]) {
  if (!tables.some((t) => t.name === 'tw_schema_changes')) return;
  const nowMicros = BigInt(Date.now()) * 1000n;
  const values = changes
    .map((c, i) => `(${nowMicros + BigInt(i)}::timestamp, ${SCHEMA_VERSION}, '${c.object}', '${c.sql.replace(/'/g, "''")}')`)
    .join(', ');
  await sql.execute(`INSERT INTO tw_schema_changes (ts, schema_version, object, change) VALUES ${values}`);
}

/**
 * DDL on a WAL table (SET TTL, DEDUP, a new column) takes effect when QuestDB applies the table's WAL, not when the
 * statement returns: wait until each changed table has applied up to the transaction seen after the changes, so
 * that what apply reports is what the next reader (or the next apply) sees. Bounded: the statements did succeed,
 * so a slow WAL apply only ends the wait.
 */
async function waitForWalApplied(sql: SqlClient, names: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let targets: Map<string, number> | undefined;
  while (Date.now() < deadline) {
    const rows = await sql.rows<{ name: string; writerTxn: number; sequencerTxn: number }>(
      'SELECT name, writerTxn, sequencerTxn FROM wal_tables()',
    );
    targets ??= new Map(rows.filter((r) => names.includes(r.name)).map((r) => [r.name, Number(r.sequencerTxn)]));
    const behind = rows.filter((r) => targets!.has(r.name) && Number(r.writerTxn) < targets!.get(r.name)!);
    if (behind.length === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
