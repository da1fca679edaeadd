// Bytes per day per table and view at the reference workload, read from QuestDB's partition sizes
// (table_partitions()), extrapolated to 90 days and a year with each TTL, and compared with the planning estimate
// (src/schema/estimate.ts). `npm run bench`, or alone: BENCH_DATA_ROOT=/tmp/tw-ref node --import tsx bench/storage.bench.ts
// Results: bench/results/storage.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tables, views, ttlHours, type Ttl } from '../src/schema/index.js';
import { estimateStorage, REFERENCE_WORKLOAD } from '../src/schema/estimate.js';
import { describeMachine } from './machine.js';
import { openWorkload, rowsPerDay, WORKLOAD_DEFINITION } from './workload.js';

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
  // What would bring the 90-day total down: one whole day of each of the three largest tables converted to Parquet
  // (QuestDB 9's compressed format for cold partitions), measured, and converted back.
  const parquet = [];
  for (const r of [...rows].filter((x) => x.kind === 'table').sort((a, b) => b.bytes90Days - a.bytes90Days).slice(0, 3)) {
    const parts = await sql.rows<Partition & { isParquet: boolean }>(`SELECT name, diskSize, active, isParquet FROM table_partitions('${r.object}')`);
    const day = parts.slice(1).find((p) => !p.active && !p.isParquet);
    if (!day) continue;
    const sizeOf = async () => (await sql.rows<{ diskSize: number; isParquet: boolean }>(`SELECT diskSize, isParquet FROM table_partitions('${r.object}') WHERE name = '${day.name}'`))[0]!;
    const waitFor = async (want: boolean) => {
      for (let i = 0; i < 600; i++) {
        const now = await sizeOf();
        if (now.isParquet === want) return now;
        await new Promise((res) => setTimeout(res, 100));
      }
      throw new Error(`${r.object} ${day.name}: conversion did not finish`);
    };
    await sql.execute(`ALTER TABLE ${r.object} CONVERT PARTITION TO PARQUET LIST '${day.name}'`);
    const converted = await waitFor(true);
    await sql.execute(`ALTER TABLE ${r.object} CONVERT PARTITION TO NATIVE LIST '${day.name}'`);
    await waitFor(false);
    parquet.push({ object: r.object, partition: day.name, nativeBytes: Number(day.diskSize), parquetBytes: Number(converted.diskSize), ratio: Math.round((Number(converted.diskSize) / Number(day.diskSize)) * 100) / 100 });
    log(`${r.object} ${day.name}: native ${(day.diskSize / 1e6).toFixed(1)} MB, Parquet ${(converted.diskSize / 1e6).toFixed(1)} MB`);
  }
  const sum = (list: StorageRow[], key: 'bytes90Days' | 'bytes1Year' | 'bytesPerDay') => list.reduce((s, r) => s + r[key], 0);
  const viewRows = rows.filter((r) => r.kind === 'view');
  const dbDir = duBytes(join(workload.dataRoot, 'db'));
  const totals = {
    bytesPerDay: sum(rows, 'bytesPerDay'),
    bytes90Days: sum(rows, 'bytes90Days'),
    bytes1Year: sum(rows, 'bytes1Year'),
    rollups1Year: sum(viewRows, 'bytes1Year'),
    rollupsPerDay: sum(viewRows, 'bytesPerDay'),
    estimate90Days: [...estimate90.values()].reduce((s, e) => s + e.bytes, 0),
    estimate1Year: estimateStorage(tables, views, 365).reduce((s, e) => s + e.bytes, 0),
    measuredDbDirectoryBytes: dbDir,
  };
  const result = {
    benchmark: 'storage',
    machine: describeMachine(),
    questdb: 'QuestDB 9.3.4 managed by tradewatch, default settings (no compression, no Parquet)',
    workload: { days: workload.state.days, rows: workload.state.rows, rowsPerDay: rowsPerDay(), definition: WORKLOAD_DEFINITION },
    method:
      "bytes per day = mean diskSize of whole daily partitions (table_partitions()); monthly-partitioned views: all partitions over the days they cover. Extrapolation: bytes/day × min(horizon, TTL) + the table's bytes outside partitions (symbol maps, metadata, WAL) once.",
    aim: { bytes90Days: AIM_90_DAYS_BYTES },
    totals,
    parquet,
    objects: rows,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/storage.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `total ${(totals.bytesPerDay / 1e6).toFixed(0)} MB/day; 90 days ${(totals.bytes90Days / 1e9).toFixed(2)} GB (aim ${AIM_90_DAYS_BYTES / 1e9} GB, estimate ${(totals.estimate90Days / 1e9).toFixed(2)} GB); rollups after 1 year ${(totals.rollups1Year / 1e9).toFixed(2)} GB; everything after 1 year ${(totals.bytes1Year / 1e9).toFixed(2)} GB`,
  );
} finally {
  await workload.close();
}
