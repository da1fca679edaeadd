import { ttlHours } from './ttl.js';
import type { ColumnDef, TableDef, ViewDef } from './types.js';

/** Fixed on-disk bytes of one value (VARCHAR counted at its 16-byte header; longer text adds its UTF-8 length). */
const FIXED_BYTES: Record<ColumnDef['type'], number> = {
  SYMBOL: 4,
  VARCHAR: 16,
  DOUBLE: 8,
  FLOAT: 4,
  LONG: 8,
  INT: 4,
  BOOLEAN: 1,
  TIMESTAMP: 8,
};

export function rowBytes(table: TableDef): number {
  return table.columns.reduce((sum, c) => sum + FIXED_BYTES[c.type], 0);
}

/**
 * The reference workload (BENCHMARKS.md): 5 exchanges × 50 symbols, open interest every 30 s, funding every
 * 60 s, ~5 liquidations/s, 3 strategies (PnL every 5 s, 5 positions every 30 s, an order a minute), process
 * and connectivity samples every second, and the exporter scraping ~200 QuestDB series every 15 s.
 * Rows per day per table, and distinct rollup groups per bucket (minuteGroups where the 1-minute view keeps fewer).
 */
interface WorkloadLoad {
  readonly rowsPerDay: number;
  readonly rollupGroups?: number;
  readonly minuteGroups?: number;
  /**
   * Parquet bytes / native bytes of a day partition: the ratio bench/storage.bench.ts measured (BENCHMARKS.md),
   * to two decimals; test/retention.test.ts checks none is below the latest measurement.
   */
  readonly parquetRatio: number;
}

export const REFERENCE_WORKLOAD: Readonly<Record<string, WorkloadLoad>> = {
  tw_process_samples: { rowsPerDay: 86_400, rollupGroups: 1, parquetRatio: 0.31 },
  tw_process_events: { rowsPerDay: 4, parquetRatio: 0.07 },
  tw_errors: { rowsPerDay: 2_000, rollupGroups: 20, parquetRatio: 0.02 },
  tw_storage_size: { rowsPerDay: 1_440, parquetRatio: 0.03 },
  tw_fetches: { rowsPerDay: 250 * 2_880 + 250 * 1_440, rollupGroups: 5 * 2 * 2, parquetRatio: 0.1 },
  tw_data_gaps: { rowsPerDay: 50, parquetRatio: 0.08 },
  tw_liquidations: { rowsPerDay: 5 * 86_400, rollupGroups: 500, minuteGroups: 10, parquetRatio: 0.33 },
  tw_open_interest: { rowsPerDay: 250 * 2_880, rollupGroups: 250, parquetRatio: 0.39 },
  tw_funding_rates: { rowsPerDay: 250 * 1_440, rollupGroups: 250, parquetRatio: 0.29 },
  tw_connection_events: { rowsPerDay: 100, parquetRatio: 0.08 },
  tw_connection_samples: { rowsPerDay: 5 * 86_400, rollupGroups: 5, parquetRatio: 0.15 },
  tw_rate_limits: { rowsPerDay: 5 * 2_880, rollupGroups: 5, parquetRatio: 0.19 },
  tw_strategy_pnl: { rowsPerDay: 3 * 17_280, rollupGroups: 3, parquetRatio: 0.43 },
  tw_orders: { rowsPerDay: 3 * 1_440 * 3, rollupGroups: 3 * 3, parquetRatio: 0.08 },
  tw_fills: { rowsPerDay: 3 * 1_440, rollupGroups: 3, parquetRatio: 0.15 },
  tw_positions: { rowsPerDay: 3 * 5 * 2_880, rollupGroups: 3 * 5, parquetRatio: 0.4 },
  tw_metrics: { rowsPerDay: 200 * 5_760, rollupGroups: 200, parquetRatio: 0.11 },
  tw_writer_stats: { rowsPerDay: 8_640, parquetRatio: 0.05 },
  tw_schema_changes: { rowsPerDay: 0, parquetRatio: 1 },
};

export interface StorageEstimate {
  readonly object: string;
  readonly bytesPerDay: number;
  readonly retainedDays: number;
  /** Bytes held after `horizonDays` of the workload, TTL applied, every partition native. */
  readonly bytes: number;
  /**
   * The same with storage tiers: the newest `parquetAfterDays + 1` days native, older day partitions in Parquet
   * (tables only; materialized views stay native).
   */
  readonly tieredBytes: number;
}

/** `storage.parquetAfterDays`' default: `tradewatch storage compact` converts day partitions older than this. */
export const DEFAULT_PARQUET_AFTER_DAYS = 1;

const days = (ttl: { value: number; unit: string }) => ttlHours(ttl.value, ttl.unit) / 24;

function viewRowBytes(view: ViewDef): number {
  const table = view.table;
  const rollup = table.rollup!;
  const keep = 8 + view.groupBy.reduce((sum, g) => sum + rowBytes({ ...table, columns: table.columns.filter((c) => c.name === g) }), 0);
  return keep + rollup.measures.length * 8;
}

/**
 * Fixed-width bytes only (VARCHAR counted at its 16-byte header, no symbol dictionaries, no WAL): a planning
 * estimate for choosing TTLs. `npm run bench` measures the real partition sizes.
 */
export function estimateStorage(
  tables: readonly TableDef[],
  views: readonly ViewDef[],
  horizonDays: number,
  parquetAfterDays = DEFAULT_PARQUET_AFTER_DAYS,
): StorageEstimate[] {
  const out: StorageEstimate[] = [];
  for (const table of tables) {
    const load = REFERENCE_WORKLOAD[table.name];
    if (!load) continue;
    const bytesPerDay = load.rowsPerDay * rowBytes(table);
    const retainedDays = Math.min(horizonDays, days(table.ttl));
    // Only day partitions are converted; coarser partitions (the active month or year) stay native.
    const nativeDays = table.partitionBy === 'DAY' ? Math.min(retainedDays, parquetAfterDays + 1) : retainedDays;
    const tieredBytes = bytesPerDay * (nativeDays + (retainedDays - nativeDays) * load.parquetRatio);
    out.push({ object: table.name, bytesPerDay, retainedDays, bytes: bytesPerDay * retainedDays, tieredBytes });
  }
  for (const view of views) {
    const load = REFERENCE_WORKLOAD[view.table.name];
    const groups = (view.interval === '1m' ? load?.minuteGroups : undefined) ?? load?.rollupGroups ?? 1;
    const bucketsPerDay = view.interval === '1m' ? 1_440 : 24;
    const bytesPerDay = groups * bucketsPerDay * viewRowBytes(view);
    const retainedDays = Math.min(horizonDays, days(view.ttl));
    out.push({ object: view.name, bytesPerDay, retainedDays, bytes: bytesPerDay * retainedDays, tieredBytes: bytesPerDay * retainedDays });
  }
  return out;
}
