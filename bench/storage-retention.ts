// Re-extrapolates the measured storage (bench/results/storage.json) to the schema's current TTLs, without
// rebuilding the 30-day workload: bytes per day are measured per partition and do not depend on the TTL; only the
// days kept do. Same formulas as bench/storage.bench.ts (native: bytes/day × min(horizon, TTL) + bytes outside
// partitions; tiered: the newest parquetAfterDays + 1 days native, the rest at Parquet bytes/day). Run after a TTL
// default changes: `node --import tsx bench/storage-retention.ts && node --import tsx bench/summary.ts`.
import { readFileSync, writeFileSync } from 'node:fs';
import { tables, ttlDays, views } from '../packages/sdk/src/schema/index.js';
import { estimateStorage } from '../packages/sdk/src/schema/estimate.js';

interface Row {
  object: string;
  kind: 'table' | 'view';
  ttlDays: number;
  bytesPerDay: number;
  otherBytes: number;
  parquetBytesPerDay?: number;
  bytes90Days: number;
  bytes1Year: number;
  tiered90Days?: number;
  tiered1Year?: number;
}

const path = 'bench/results/storage.json';
const result = JSON.parse(readFileSync(path, 'utf8')) as {
  storageTiers: { parquetAfterDays: number };
  totals: Record<string, number>;
  objects: Row[];
  retention?: unknown;
};
const ttls = new Map([...tables, ...views].map((o) => [o.name, ttlDays(o.ttl)]));
const nativeKept = result.storageTiers.parquetAfterDays + 1;
const changed: string[] = [];
for (const r of result.objects) {
  const keep = ttls.get(r.object);
  if (keep === undefined) throw new Error(`${r.object} is measured but not in the schema`);
  if (keep !== r.ttlDays) changed.push(`${r.object} ${r.ttlDays} -> ${keep} days`);
  r.ttlDays = keep;
  const native = (horizon: number) => r.bytesPerDay * Math.min(horizon, keep) + r.otherBytes;
  const tiered = (horizon: number) => {
    const days = Math.min(horizon, keep);
    if (r.parquetBytesPerDay === undefined) return native(horizon);
    const nativeDays = Math.min(days, nativeKept);
    return r.bytesPerDay * nativeDays + r.parquetBytesPerDay * (days - nativeDays) + r.otherBytes;
  };
  r.bytes90Days = Math.round(native(90));
  r.bytes1Year = Math.round(native(365));
  r.tiered90Days = Math.round(tiered(90));
  r.tiered1Year = Math.round(tiered(365));
}
const sum = (list: Row[], key: 'bytes90Days' | 'bytes1Year' | 'tiered90Days' | 'tiered1Year') => list.reduce((s, r) => s + (r[key] ?? 0), 0);
const viewRows = result.objects.filter((r) => r.kind === 'view');
Object.assign(result.totals, {
  bytes90Days: sum(result.objects, 'bytes90Days'),
  bytes1Year: sum(result.objects, 'bytes1Year'),
  tiered90Days: sum(result.objects, 'tiered90Days'),
  tiered1Year: sum(result.objects, 'tiered1Year'),
  rollupsTiered90Days: sum(viewRows, 'tiered90Days'),
  rollups1Year: sum(viewRows, 'bytes1Year'),
  estimate90Days: estimateStorage(tables, views, 90).reduce((s, e) => s + e.bytes, 0),
  estimate1Year: estimateStorage(tables, views, 365).reduce((s, e) => s + e.bytes, 0),
});
if (changed.length) result.retention = { reextrapolated: new Date().toISOString().slice(0, 10), changes: changed };
writeFileSync(path, `${JSON.stringify(result, null, 2)}\n`);
console.log(`${changed.length} TTL(s) changed${changed.length ? `: ${changed.join('; ')}` : ''}`);
console.log(`90 days: ${(result.totals.tiered90Days! / 1e9).toFixed(2)} GB tiered, ${(result.totals.bytes90Days! / 1e9).toFixed(2)} GB native`);
