// Bytes per day per table and view at the reference workload, read from QuestDB's partition sizes
// (table_partitions()), extrapolated to 90 days and a year with each TTL, and compared with the planning estimate
// (src/schema/estimate.ts). `npm run bench`, or alone: BENCH_DATA_ROOT=/tmp/tw-ref node --import tsx bench/storage.bench.ts
// Results: bench/results/storage.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tables, views, ttlHours, type Ttl } from '../packages/sdk/src/schema/index.js';
import { estimateStorage, REFERENCE_WORKLOAD } from '../packages/sdk/src/schema/estimate.js';
import { describeMachine } from './machine.js';
import { compactWorkload, openWorkload, PARQUET_AFTER_DAYS, rowsPerDay, WORKLOAD_DEFINITION } from './workload.js';

const DAY_US = 86_400_000_000;
const AIM_90_DAYS_BYTES = 5e9;

interface Partition {
  name: string;
  minTimestamp: string;
  maxTimestamp: string;
  numRows: number;
  diskSize: number;
  active: boolean;
}

export interface StorageRow {
  object: string;
  kind: 'table' | 'view';
  partitionBy: string;
  ttlDays: number;
  partitions: number;
  basis: string;
  rowsPerDay: number;
  referenceRowsPerDay: number | undefined;
  bytesPerDay: number;
  bytesPerRow: number | undefined;
  partitionBytes: number;
  directoryBytes: number;
  otherBytes: number;
  bytes90Days: number;
  bytes1Year: number;
  estimateBytesPerDay: number | undefined;
  measuredOverEstimate: number | undefined;
  /** After conversion to Parquet (tables only). */
  parquetBytesPerDay?: number;
  parquetBytesPerRow?: number;
  parquetOverNative?: number;
  tiered90Days?: number;
  tiered1Year?: number;
}

const log = (line: string) => process.stderr.write(`${line}\n`);
const ttlDays = (ttl: Ttl) => ttlHours(ttl.value, ttl.unit) / 24;
const us = (iso: string) => Date.parse(iso) * 1000 + Number(/\.\d{3}(\d{3})Z$/.exec(iso)?.[1] ?? 0);

/** Bytes on disk under a directory (du, apparent sizes are not what the disk holds). */
function duBytes(path: string): number {
  const out = execFileSync('du', ['-sk', path], { encoding: 'utf8' });
  return Number(out.split(/\s/)[0]) * 1024;
}

// No top-up: a partition open for writing reports its preallocated size; after the restart every file is at its real size.
const workload = await openWorkload({ topUp: false });
const { sql } = workload;
try {
  const directories = new Map(
    (await sql.rows<{ table_name: string; directoryName: string }>('SELECT table_name, directoryName FROM tables()')).map((t) => [t.table_name, t.directoryName]),
  );
  const estimate90 = new Map(estimateStorage(tables, views, 90).map((e) => [e.object, e]));
  const objects = [
    ...tables.map((t) => ({ name: t.name, kind: 'table' as const, partitionBy: t.partitionBy, ttl: t.ttl })),
    ...views.map((v) => ({ name: v.name, kind: 'view' as const, partitionBy: v.partitionBy, ttl: v.ttl })),
  ];
  const rows: StorageRow[] = [];
  for (const o of objects) {
    const partitions = await sql.rows<Partition>(`SELECT name, minTimestamp, maxTimestamp, numRows, diskSize, active FROM table_partitions('${o.name}')`);
    const dir = directories.get(o.name);
    const directoryBytes = dir ? duBytes(join(workload.dataRoot, 'db', dir)) : 0;
    const partitionBytes = partitions.reduce((s, p) => s + Number(p.diskSize), 0);
    // Whole days only: daily partitions other than the first (the build starts mid-day) and the active one (today).
    const whole = o.partitionBy === 'DAY' ? partitions.slice(1).filter((p) => !p.active) : [];
    let bytesPerDay: number;
    let rowsPerDayMeasured: number;
    let basis: string;
    if (whole.length > 0) {
      bytesPerDay = whole.reduce((s, p) => s + Number(p.diskSize), 0) / whole.length;
      rowsPerDayMeasured = whole.reduce((s, p) => s + Number(p.numRows), 0) / whole.length;
      basis = `mean of ${whole.length} whole daily partitions`;
    } else if (o.kind === 'table' && REFERENCE_WORKLOAD[o.name]?.rowsPerDay === 0) {
      bytesPerDay = 0;
      rowsPerDayMeasured = 0;
      basis = 'no rows in the reference workload (written by schema apply only)';
    } else if (partitions.length > 0) {
      const spanDays = Math.max(1 / 24, (us(partitions.at(-1)!.maxTimestamp) - us(partitions[0]!.minTimestamp)) / DAY_US);
      bytesPerDay = partitionBytes / spanDays;
      rowsPerDayMeasured = partitions.reduce((s, p) => s + Number(p.numRows), 0) / spanDays;
      basis = `all partitions over ${spanDays.toFixed(1)} days of data`;
    } else {
      bytesPerDay = 0;
      rowsPerDayMeasured = 0;
      basis = 'empty';
    }
    // Outside the partitions: symbol dictionaries, metadata, WAL segments not purged yet. Counted once, not per day.
    const otherBytes = Math.max(0, directoryBytes - partitionBytes);
    const keep = ttlDays(o.ttl);
    const at = (horizon: number) => bytesPerDay * Math.min(horizon, keep) + otherBytes;
    const est = estimate90.get(o.name);
    rows.push({
      object: o.name,
      kind: o.kind,
      partitionBy: o.partitionBy,
      ttlDays: keep,
      partitions: partitions.length,
      basis,
      rowsPerDay: Math.round(rowsPerDayMeasured),
      referenceRowsPerDay: o.kind === 'table' ? REFERENCE_WORKLOAD[o.name]?.rowsPerDay : undefined,
      bytesPerDay: Math.round(bytesPerDay),
      bytesPerRow: rowsPerDayMeasured > 0 ? Math.round((bytesPerDay / rowsPerDayMeasured) * 10) / 10 : undefined,
      partitionBytes,
      directoryBytes,
      otherBytes,
      bytes90Days: Math.round(at(90)),
      bytes1Year: Math.round(at(365)),
      estimateBytesPerDay: est?.bytesPerDay,
      measuredOverEstimate: est && est.bytesPerDay > 0 ? Math.round((bytesPerDay / est.bytesPerDay) * 100) / 100 : undefined,
    });
    log(`${o.name}: ${(bytesPerDay / 1e6).toFixed(1)} MB/day (${basis}), ${(at(90) / 1e9).toFixed(2)} GB at 90 days`);
  }
  // Storage tiers, as `tradewatch storage compact` runs them in production: every day partition older than
  // PARQUET_AFTER_DAYS converted to Parquet (the schema's per-column encodings), then measured per day.
  log(`converting day partitions older than ${PARQUET_AFTER_DAYS} day to Parquet…`);
  const conversionStarted = performance.now();
  const converted = await compactWorkload(sql);
  const conversionSeconds = (performance.now() - conversionStarted) / 1000;
  const conversion = {
    partitions: converted.length,
    rows: converted.reduce((s, p) => s + p.rows, 0),
    nativeBytes: converted.reduce((s, p) => s + p.bytes, 0),
    parquetBytes: converted.reduce((s, p) => s + p.parquetBytes, 0),
    seconds: Math.round(conversionSeconds),
  };
  log(`  ${conversion.partitions} partitions, ${(conversion.nativeBytes / 1e9).toFixed(2)} GB → ${(conversion.parquetBytes / 1e9).toFixed(2)} GB in ${conversion.seconds} s`);
  for (const r of rows) {
    if (r.kind !== 'table' || r.bytesPerDay === 0) continue;
    const parts = await sql.rows<Partition & { isParquet: boolean }>(`SELECT name, numRows, diskSize, active, isParquet FROM table_partitions('${r.object}')`);
    const whole = parts.slice(1).filter((p) => p.isParquet);
    if (whole.length === 0) continue;
    r.parquetBytesPerDay = Math.round(whole.reduce((s, p) => s + Number(p.diskSize), 0) / whole.length);
    r.parquetOverNative = Math.round((r.parquetBytesPerDay / r.bytesPerDay) * 100) / 100;
    r.parquetBytesPerRow = Math.round((r.parquetBytesPerDay / r.rowsPerDay) * 10) / 10;
  }
  for (const r of rows) {
    const tiered = (horizon: number) => {
      const days = Math.min(horizon, r.ttlDays);
      if (r.parquetBytesPerDay === undefined) return r.bytesPerDay * days + r.otherBytes;
      const nativeDays = Math.min(days, PARQUET_AFTER_DAYS + 1);
      return r.bytesPerDay * nativeDays + r.parquetBytesPerDay * (days - nativeDays) + r.otherBytes;
    };
    r.tiered90Days = Math.round(tiered(90));
    r.tiered1Year = Math.round(tiered(365));
  }
  const sum = (list: StorageRow[], key: 'bytes90Days' | 'bytes1Year' | 'bytesPerDay' | 'tiered90Days' | 'tiered1Year') => list.reduce((s, r) => s + (r[key] ?? 0), 0);
  const viewRows = rows.filter((r) => r.kind === 'view');
  const dbDir = duBytes(join(workload.dataRoot, 'db'));
  const totals = {
    bytesPerDay: sum(rows, 'bytesPerDay'),
    bytes90Days: sum(rows, 'bytes90Days'),
    bytes1Year: sum(rows, 'bytes1Year'),
    tiered90Days: sum(rows, 'tiered90Days'),
    tiered1Year: sum(rows, 'tiered1Year'),
    rollupsTiered90Days: sum(viewRows, 'tiered90Days'),
    rollups1Year: sum(viewRows, 'bytes1Year'),
    rollupsPerDay: sum(viewRows, 'bytesPerDay'),
    estimate90Days: [...estimate90.values()].reduce((s, e) => s + e.bytes, 0),
    estimate1Year: estimateStorage(tables, views, 365).reduce((s, e) => s + e.bytes, 0),
    measuredDbDirectoryBytes: dbDir,
  };
  const result = {
    benchmark: 'storage',
    machine: describeMachine(),
    questdb: `QuestDB 9.3.4 managed by tradewatch; native partitions measured first, then every day partition older than ${PARQUET_AFTER_DAYS} day converted to Parquet by compactPartitions (tradewatch storage compact) and measured again`,
    storageTiers: { parquetAfterDays: PARQUET_AFTER_DAYS, nativeDaysKept: PARQUET_AFTER_DAYS + 1, conversion },
    workload: { days: workload.state.days, rows: workload.state.rows, rowsPerDay: rowsPerDay(), definition: WORKLOAD_DEFINITION },
    method:
      "bytes per day = mean diskSize of whole daily partitions (table_partitions()), native and again after conversion to Parquet; monthly-partitioned views: all partitions over the days they cover (views stay native: QuestDB 9 cannot convert them). Extrapolation: native bytes/day × min(horizon, TTL) + the table's bytes outside partitions (symbol maps, metadata, WAL) once; tiered: the newest parquetAfterDays + 1 days native, the rest at Parquet bytes/day.",
    aim: { bytes90Days: AIM_90_DAYS_BYTES },
    totals,
    objects: rows,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/storage.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `tiered (Parquet after ${PARQUET_AFTER_DAYS} day): 90 days ${(totals.tiered90Days / 1e9).toFixed(2)} GB, 1 year ${(totals.tiered1Year / 1e9).toFixed(2)} GB; ` +
    `native only: ${(totals.bytesPerDay / 1e6).toFixed(0)} MB/day; 90 days ${(totals.bytes90Days / 1e9).toFixed(2)} GB (aim ${AIM_90_DAYS_BYTES / 1e9} GB, estimate ${(totals.estimate90Days / 1e9).toFixed(2)} GB); rollups after 1 year ${(totals.rollups1Year / 1e9).toFixed(2)} GB; everything after 1 year ${(totals.bytes1Year / 1e9).toFixed(2)} GB`,
  );
} finally {
  await workload.close();
}
