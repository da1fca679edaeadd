import { tables as allTables, type TableDef } from '../schema/index.js';
import type { SqlClient } from './sql.js';

/**
 * Storage tiers: a day partition is written in QuestDB's native column format (fast appends, uncompressed); once it
 * is older than `olderThanDays` it is converted in place to Parquet (compressed, per-column encodings from the schema),
 * which keeps it fully queryable at a fraction of the size. QuestDB Enterprise automates this with storage
 * policies; the open-source server has `ALTER TABLE … CONVERT PARTITION TO PARQUET`, which this drives.
 *
 * Safe to run at any time and from several places: the active partition is never converted, a partition already in
 * Parquet is left alone, and rows arriving later for a converted day (spool replay, backtests) are still accepted
 * and deduplicated: QuestDB rewrites the Parquet partition to include them.
 */

export interface CompactionOptions {
  /** Partitions whose newest row is older than this many days are converted. */
  readonly olderThanDays: number;
  /** Default: every tradewatch table (materialized views cannot be converted in QuestDB 9). */
  readonly tables?: readonly TableDef[];
  /** Now, in ms since the epoch (tests). */
  readonly now?: number;
  /** Report what would be converted, convert nothing. */
  readonly dryRun?: boolean;
}

export interface PartitionToConvert {
  readonly table: string;
  readonly partition: string;
  readonly rows: number;
  /** Native size before conversion. */
  readonly bytes: number;
}

export interface CompactionReport {
  /** Partitions asked to convert (conversion finishes asynchronously: see waitForParquet). */
  readonly converting: readonly PartitionToConvert[];
  /** Partitions already in Parquet, and their size. */
  readonly parquetPartitions: number;
  readonly parquetBytes: number;
}

interface PartitionRow {
  name: string;
  maxTimestamp: string | null;
  numRows: number;
  diskSize: number;
  active: boolean;
  isParquet: boolean;
}

const DAY_MS = 86_400_000;

/** Converts every partition older than the threshold to Parquet; returns once QuestDB has accepted the requests. */
export async function compactPartitions(sql: SqlClient, options: CompactionOptions): Promise<CompactionReport> {
  if (!(options.olderThanDays >= 0)) throw new RangeError(`olderThanDays must be 0 or more, got ${options.olderThanDays}`);
  const cutoff = (options.now ?? Date.now()) - options.olderThanDays * DAY_MS;
  const converting: PartitionToConvert[] = [];
  let parquetPartitions = 0;
  let parquetBytes = 0;
  for (const table of options.tables ?? allTables) {
    const partitions = await sql.rows<PartitionRow>(
      `SELECT name, maxTimestamp, numRows, diskSize, active, isParquet FROM table_partitions('${table.name}')`,
    );
    const due: PartitionRow[] = [];
    for (const p of partitions) {
      if (p.isParquet) {
        parquetPartitions++;
        parquetBytes += Number(p.diskSize);
      } else if (!p.active && p.maxTimestamp !== null && Date.parse(p.maxTimestamp) < cutoff) {
        due.push(p);
      }
    }
    if (due.length === 0) continue;
    for (const p of due) converting.push({ table: table.name, partition: p.name, rows: Number(p.numRows), bytes: Number(p.diskSize) });
    if (!options.dryRun) {
      await sql.execute(`ALTER TABLE ${table.name} CONVERT PARTITION TO PARQUET LIST ${due.map((p) => `'${p.name}'`).join(', ')}`);
    }
  }
  return { converting, parquetPartitions, parquetBytes };
}

export interface ConvertedPartition extends PartitionToConvert {
  readonly parquetBytes: number;
}

/**
 * Waits until every partition of a report is in Parquet (QuestDB converts asynchronously) and returns their new
 * sizes. A partition that disappeared meanwhile (TTL) is left out.
 */
export async function waitForParquet(
  sql: SqlClient,
  partitions: readonly PartitionToConvert[],
  options: { timeoutMs?: number; pollMs?: number } = {},
): Promise<ConvertedPartition[]> {
  const deadline = performance.now() + (options.timeoutMs ?? 600_000);
  const byTable = new Map<string, PartitionToConvert[]>();
  for (const p of partitions) byTable.set(p.table, [...(byTable.get(p.table) ?? []), p]);
  const done: ConvertedPartition[] = [];
  for (const [table, wanted] of byTable) {
    for (;;) {
      const now = new Map(
        (await sql.rows<PartitionRow>(`SELECT name, diskSize, isParquet FROM table_partitions('${table}')`)).map((p) => [p.name, p]),
      );
      const pending = wanted.filter((p) => now.get(p.partition)?.isParquet === false);
      if (pending.length === 0) {
        for (const p of wanted) {
          const row = now.get(p.partition);
          if (row) done.push({ ...p, parquetBytes: Number(row.diskSize) });
        }
        break;
      }
      if (performance.now() > deadline) {
        throw new Error(`${table}: ${pending.length} partition(s) still converting to Parquet (${pending.map((p) => p.partition).join(', ')})`);
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 200));
    }
  }
  return done;
}

export interface TableSize {
  readonly table: string;
  readonly partitions: number;
  readonly parquetPartitions: number;
  readonly rows: number;
  readonly nativeBytes: number;
  readonly parquetBytes: number;
}

/** Rows and bytes on disk of each table, native and Parquet, from QuestDB's partition list. */
export async function tableSizes(sql: SqlClient, tables: readonly TableDef[] = allTables): Promise<TableSize[]> {
  const sizes: TableSize[] = [];
  for (const table of tables) {
    const [row] = await sql.rows<{ partitions: number; parquet: number; rows: number; native_bytes: number; parquet_bytes: number }>(
      `SELECT count() partitions, sum(CASE WHEN isParquet THEN 1 ELSE 0 END) parquet, sum(numRows) rows,
              sum(CASE WHEN isParquet THEN 0 ELSE diskSize END) native_bytes, sum(CASE WHEN isParquet THEN diskSize ELSE 0 END) parquet_bytes
         FROM table_partitions('${table.name}')`,
    );
    sizes.push({
      table: table.name,
      partitions: Number(row?.partitions ?? 0),
      parquetPartitions: Number(row?.parquet ?? 0),
      rows: Number(row?.rows ?? 0),
      nativeBytes: Number(row?.native_bytes ?? 0),
      parquetBytes: Number(row?.parquet_bytes ?? 0),
    });
  }
  return sizes;
}
