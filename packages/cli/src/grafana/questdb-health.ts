/**
 * The QuestDB row of the Health dashboard: QuestDB's own Prometheus metrics, scraped by the exporter into
 * tw_metrics. The metric names are the ones QuestDB 9.3.4 exposes on its min HTTP server's /metrics.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { schema } from '@tradewatch/sdk/schema';
import { statPanel, thresholdsUpTo, timeseriesPanel, valueMappings } from './panels.js';
import { tableRef, viewOf } from './sql.js';

const metrics = tableRef(schema.metrics);

/** QuestDB 9.3.4 metric names (as read from a real server's /metrics). */
export const QUESTDB_METRICS = {
  walWrittenRows: 'questdb_wal_written_rows_total',
  walAppliedRows: 'questdb_wal_apply_written_rows_total',
  walSeqTxn: 'questdb_wal_apply_seq_txn',
  walWriterTxn: 'questdb_wal_apply_writer_txn',
  suspendedTables: 'questdb_suspended_tables',
  memoryRss: 'questdb_memory_rss',
  memoryNative: 'questdb_memory_mem_used',
  jvmTotal: 'questdb_memory_jvm_total',
  jvmFree: 'questdb_memory_jvm_free',
  queryErrors: 'questdb_query_error_counter_total',
  pgWireErrors: 'questdb_pg_wire_errors_total',
  unhandledErrors: 'questdb_unhandled_errors_total',
  // Not QuestDB's own: the tradewatch exporter samples the filesystem holding QuestDB's data (statfs) with each
  // scrape of the questdb target, since neither /metrics nor SQL tell the space left.
  diskFree: 'questdb_disk_free_bytes',
  diskTotal: 'questdb_disk_total_bytes',
} as const;

/** Seconds without a scrape after which QuestDB's metrics count as stale (the exporter scrapes every 15 s). */
export const METRICS_STALE_AFTER_S = 60;

const M = QUESTDB_METRICS;
const ts = metrics.ts;
const name = metrics.col('name');
const value = metrics.col('value');
const target = `${metrics.col('service')} || '/' || ${metrics.col('instance')}`;
const names = (...n: string[]) => `${name} IN (${n.map((x) => `'${x}'`).join(', ')})`;
const of = (metric: string) => `max(CASE WHEN ${name} = '${metric}' THEN ${value} END)`;

/**
 * Per-second rate of counters: the increase from each scrape to the next over the time between them (window
 * lag(), so one scrape per bucket still has a rate), averaged per bucket. A counter reset (QuestDB restarted)
 * gives no rate for that step rather than a negative one.
 */
function counterRateSql(series: Record<string, string>, perSeconds: number, column: string): string {
  const label = `CASE ${Object.entries(series).map(([metric, text]) => `WHEN ${name} = '${metric}' THEN '${text}'`).join(' ')} END`;
  const step = (x: string) => `${x} - lag(${x}) OVER (PARTITION BY series ORDER BY ${ts})`;
  return (
    `SELECT ${ts} AS time, series, avg(CASE WHEN increase >= 0 AND span_us > 0 THEN increase * ${perSeconds * 1_000_000}.0 / span_us END) AS ${column} FROM (\n` +
    `  SELECT ${ts}, series, ${step('value')} AS increase, ${step('t_us')} AS span_us FROM (\n` +
    `    SELECT ${ts}, cast(${ts} AS LONG) AS t_us, ${target} || ' ' || ${label} AS series, ${value} AS value\n` +
    `    FROM ${metrics.name} WHERE $__timeFilter(${ts}) AND ${names(...Object.keys(series))}\n  )\n` +
    `) timestamp(${ts}) SAMPLE BY $__sampleByInterval ORDER BY time`
  );
}

/**
 * Per QuestDB: suspended tables at its latest scrape, or -1 when that scrape is older than the stale limit before
 * the range end. Only the last METRICS_STALE_AFTER_S seconds of raw metrics can hold a value that is shown (an older
 * latest scrape shows -1 whatever it said), so LATEST ON reads just that window; the QuestDBs scraped earlier in the
 * range come from the hourly rollup (the range start rounded down to its hour) and show -1. Reading the raw table
 * over the whole range instead costs a scan of every metric sample in it (half a second over 30 days).
 */
function suspendedTablesSql(): string {
  const hourly = viewOf(metrics, '1h');
  return (
    `SELECT questdb, max(suspended_tables) AS suspended_tables FROM (\n` +
    `  SELECT ${target} AS questdb, ${value} AS suspended_tables FROM ${metrics.name}\n` +
    `  WHERE $__timeFilter(${ts}) AND ${ts} >= dateadd('s', -${METRICS_STALE_AFTER_S}, $__toTime) AND ${names(M.suspendedTables)}\n` +
    `  LATEST ON ${ts} PARTITION BY ${metrics.col('service')}, ${metrics.col('instance')}\n` +
    `  UNION ALL\n` +
    `  SELECT ${target} AS questdb, -1.0 AS suspended_tables FROM ${hourly}\n` +
    `  WHERE ${ts} >= timestamp_floor('h', $__fromTime) AND ${ts} <= $__toTime AND ${names(M.suspendedTables)}\n` +
    `) GROUP BY questdb ORDER BY questdb`
  );
}

export function questDbPanels(): cog.Builder<dashboard.Panel>[] {
  return [
    statPanel({
      title: 'QuestDB suspended tables',
      description:
        `WAL tables QuestDB has suspended (questdb_suspended_tables at its latest scrape): their writes are kept but no longer applied. ` +
        `"no recent scrape" (red): no metrics sample in the ${METRICS_STALE_AFTER_S} s before the range end: QuestDB or the exporter is down. ` +
        'Which table: `SELECT * FROM wal_tables() WHERE suspended`.',
      sql: suspendedTablesSql(),
      perRow: true,
      colorMode: common.BigValueColorMode.Background,
      thresholds: thresholdsUpTo(1, 1),
      mappings: valueMappings({ '-1': { text: 'no recent scrape', color: 'red' } }),
      noValue: 'no QuestDB metrics in range (is the exporter running?)',
      span: 6,
      height: 6,
    }),
    statPanel({
      title: 'QuestDB disk used and free',
      description:
        "Used: bytes on disk of every table and view now (SQL table_storage()). Free and total: the filesystem holding QuestDB's data at the exporter's latest sample in the range (statfs, df's Avail and Size), " +
        'written by `tradewatch exporter` when it can see that directory (the managed QuestDB, or the compose volume mounted into the exporter); empty when it cannot, e.g. QuestDB on another host.',
      unit: 'bytes',
      sql:
        `SELECT u.disk_used, d.disk_free, d.disk_total FROM (SELECT sum(diskSize) AS disk_used FROM table_storage()) u\n` +
        `CROSS JOIN (\n  SELECT ${of(M.diskFree)} AS disk_free, ${of(M.diskTotal)} AS disk_total FROM (\n` +
        `    SELECT ${ts}, ${name}, ${value} FROM ${metrics.name} WHERE $__timeFilter(${ts}) AND ${names(M.diskFree, M.diskTotal)}\n` +
        `    LATEST ON ${ts} PARTITION BY ${name}\n  )\n) d`,
      span: 6,
      height: 6,
    }),
    timeseriesPanel({
      title: 'QuestDB ingest rate',
      description:
        'Rows per second written to WAL (questdb_wal_written_rows_total: every ingested row, ILP and SQL) and applied to tables (questdb_wal_apply_written_rows_total): applied below written for long means WAL apply lags.',
      unit: 'short',
      span: 12,
      sql: counterRateSql({ [M.walWrittenRows]: 'written to WAL', [M.walAppliedRows]: 'applied' }, 1, 'rows_per_s'),
    }),
    timeseriesPanel({
      title: 'QuestDB WAL apply',
      description:
        'WAL transactions not yet applied (questdb_wal_apply_seq_txn − questdb_wal_apply_writer_txn) and suspended tables, per scrape bucket. Per table: `SELECT * FROM wal_tables()`.',
      unit: 'short',
      span: 8,
      sql:
        `SELECT ${ts} AS time, ${target} AS series,\n` +
        `  ${of(M.walSeqTxn)} - ${of(M.walWriterTxn)} AS pending_txn, ${of(M.suspendedTables)} AS suspended_tables\n` +
        `FROM ${metrics.name}\nWHERE $__timeFilter(${ts}) AND ${names(M.walSeqTxn, M.walWriterTxn, M.suspendedTables)}\n` +
        `SAMPLE BY $__sampleByInterval ORDER BY time`,
    }),
    timeseriesPanel({
      title: 'QuestDB memory',
      description: 'Process RSS (questdb_memory_rss), native memory QuestDB tracks (questdb_memory_mem_used) and JVM heap in use (jvm_total − jvm_free), peak per bucket.',
      unit: 'bytes',
      span: 8,
      sql:
        `SELECT ${ts} AS time, ${target} AS series,\n` +
        `  ${of(M.memoryRss)} AS rss, ${of(M.memoryNative)} AS native_used, ${of(M.jvmTotal)} - min(CASE WHEN ${name} = '${M.jvmFree}' THEN ${value} END) AS jvm_heap_used\n` +
        `FROM ${metrics.name}\nWHERE $__timeFilter(${ts}) AND ${names(M.memoryRss, M.memoryNative, M.jvmTotal, M.jvmFree)}\n` +
        `SAMPLE BY $__sampleByInterval ORDER BY time`,
    }),
    timeseriesPanel({
      title: 'QuestDB errors',
      description:
        'Errors per minute: failed SQL queries (questdb_query_error_counter_total), PostgreSQL-wire errors and unhandled errors. QuestDB 9.3.4 exposes no ILP error counter: rejected ILP writes show in the tradewatch writer backlog (rows_rejected).',
      unit: 'short',
      span: 8,
      bars: true,
      sql: counterRateSql({ [M.queryErrors]: 'query errors', [M.pgWireErrors]: 'pg-wire errors', [M.unhandledErrors]: 'unhandled errors' }, 60, 'errors_per_min'),
    }),
  ];
}
