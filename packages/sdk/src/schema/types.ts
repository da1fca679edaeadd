/** QuestDB column types that tradewatch tables use. Each maps to one ILP value kind (see storage). */
export type ColumnType = 'SYMBOL' | 'VARCHAR' | 'DOUBLE' | 'FLOAT' | 'LONG' | 'INT' | 'BOOLEAN' | 'TIMESTAMP';

export interface ColumnDef {
  readonly name: string;
  readonly type: ColumnType;
  readonly description: string;
  /** SYMBOL only: expected distinct values, sized so the symbol table never needs to grow at ingestion. */
  readonly symbolCapacity?: number;
  /** Rows without it are rejected before they are sent (the designated timestamp is always required). */
  readonly required?: boolean;
  /** Closed vocabulary: the writer rejects any other value (checked when the row is written). */
  readonly values?: readonly string[];
  /** Unit shown in docs and dashboards, e.g. 'ms', 'bytes', 'USD'. */
  readonly unit?: string;
}

export type TtlUnit = 'HOURS' | 'DAYS' | 'WEEKS' | 'MONTHS' | 'YEARS';

export interface Ttl {
  readonly value: number;
  readonly unit: TtlUnit;
}

export type PartitionBy = 'HOUR' | 'DAY' | 'WEEK' | 'MONTH' | 'YEAR';

/** An aggregate that can be rolled up again: averages are kept as sum and count so 1h can be built from 1m. */
export type RollupFn = 'count' | 'sum' | 'min' | 'max' | 'first' | 'last';

export interface RollupMeasure {
  readonly name: string;
  readonly fn: RollupFn;
  /** Source column; absent for count. */
  readonly column?: string;
  readonly description: string;
}

export type RollupInterval = '1m' | '1h';

export interface RollupDef {
  /** Label columns the rollup keeps; any other label is aggregated away (bounds the rollup's size). */
  readonly groupBy: readonly string[];
  /**
   * Fewer labels for the 1-minute view, where per-symbol minutes would be as many rows as the raw table.
   * The hourly view is then built from the raw table instead of from the minute view.
   */
  readonly minuteGroupBy?: readonly string[];
  readonly measures: readonly RollupMeasure[];
  /**
   * One materialized view per interval listed, each with its own retention. A series sampled every 30 s or
   * slower gains nothing from a 1-minute view, so such tables list only `1h`.
   */
  readonly ttl: Readonly<Partial<Record<RollupInterval, Ttl>>>;
}

export type TableGroup = 'health' | 'pipeline' | 'market' | 'exchange' | 'trading' | 'generic' | 'internal';

/** A tradewatch table (docs/schema.md): columns, keys, partitioning and TTL. Writer.write takes one or its name. */
export interface TableDef {
  readonly name: string;
  readonly group: TableGroup;
  readonly description: string;
  /** The designated timestamp column (microseconds, UTC); always the first column. */
  readonly timestamp: string;
  readonly columns: readonly ColumnDef[];
  readonly partitionBy: PartitionBy;
  readonly ttl: Ttl;
  /**
   * DEDUP UPSERT KEYS, designated timestamp included. Chosen so that replaying a batch (spool, retry after an
   * unacknowledged send) rewrites the same rows instead of adding new ones.
   */
  readonly dedupKeys: readonly string[];
  readonly rollup?: RollupDef;
}

export interface ViewDef {
  readonly name: string;
  readonly base: string;
  readonly interval: RollupInterval;
  readonly table: TableDef;
  /** Label columns this view keeps. */
  readonly groupBy: readonly string[];
  readonly partitionBy: PartitionBy;
  readonly ttl: Ttl;
  readonly sql: string;
}
