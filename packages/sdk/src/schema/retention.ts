/**
 * Retention as configured: `storage.retention.<table or view>` overrides the schema's default TTL of that object.
 * The config is the one place to set a TTL; `schema apply` brings the database to it (and says what it changed).
 */
import { ttlHours } from './ttl.js';
import type { TableDef, Ttl, TtlUnit, ViewDef } from './types.js';

/** At least this much history at some resolution (raw or a rollup) for every table (FR-008). */
export const MIN_RETENTION_DAYS = 90;

/**
 * Tables kept raw for less than 90 days by default, and why. Each still keeps 90 days or more through its rollups;
 * docs/schema.md lists them (generated).
 */
export const RETENTION_EXCEPTIONS: Readonly<Record<string, string>> = {
  tw_process_samples:
    'one row a second per process; the 1-minute rollup (a year) keeps mean and peak memory, CPU and event-loop lag, which is what the Health dashboard shows past a day. 60 more raw days would cost about 0.1 GB at the reference workload.',
  tw_connection_samples:
    'one row a second per exchange channel; the 1-minute rollup (a year) keeps messages, mean and worst latency and the last message time. 60 more raw days would cost about 0.2 GB, which the 5 GB budget for 90 days does not leave.',
};

const UNITS: Record<string, TtlUnit> = {
  h: 'HOURS', hour: 'HOURS', hours: 'HOURS',
  d: 'DAYS', day: 'DAYS', days: 'DAYS',
  w: 'WEEKS', week: 'WEEKS', weeks: 'WEEKS',
  M: 'MONTHS', month: 'MONTHS', months: 'MONTHS',
  y: 'YEARS', year: 'YEARS', years: 'YEARS',
};

/**
 * A retention as written in the config: a whole number and a unit, `90d`, `12h`, `2w`, `6M` (months), `5y`, or
 * spelled out (`90 days`). Lower-case `m` is refused: minutes or months would be a guess.
 */
export function parseTtl(text: string): Ttl {
  const m = /^\s*(\d+)\s*([A-Za-z]+)\s*$/.exec(text);
  const unit = m ? (UNITS[m[2]!] ?? (m[2]!.length > 1 ? UNITS[m[2]!.toLowerCase()] : undefined)) : undefined;
  if (!m || !unit) {
    throw new Error(`${JSON.stringify(text)} is not a retention: write a whole number and a unit, e.g. 90d, 12h, 2w, 6M, 5y`);
  }
  const value = Number(m[1]);
  if (value < 1) throw new Error(`${JSON.stringify(text)}: a retention must be at least 1 ${unit.toLowerCase().replace(/s$/, '')}`);
  return { value, unit };
}

export const ttlDays = (ttl: Ttl) => ttlHours(ttl.value, ttl.unit) / 24;

/** The longest history an object's data is kept at any resolution: its own TTL or any of its rollups'. */
export function longestRetentionDays(table: TableDef, views: readonly ViewDef[]): number {
  return Math.max(ttlDays(table.ttl), ...views.filter((v) => v.table.name === table.name).map((v) => ttlDays(v.ttl)));
}

/**
 * The schema with configured TTLs in place of the defaults. Unknown names are refused (the config schema checks
 * them first, with the field's name; this guards callers that build overrides themselves).
 */
export function withRetention(
  tables: readonly TableDef[],
  views: readonly ViewDef[],
  retention: Readonly<Record<string, Ttl | undefined>> = {},
): { tables: TableDef[]; views: ViewDef[] } {
  const known = new Set([...tables.map((t) => t.name), ...views.map((v) => v.name)]);
  for (const name of Object.keys(retention)) {
    if (!known.has(name)) throw new Error(`storage.retention.${name}: no table or view of that name`);
  }
  const outTables = tables.map((t) => (retention[t.name] ? { ...t, ttl: retention[t.name]! } : t));
  const byName = new Map(outTables.map((t) => [t.name, t]));
  const outViews = views.map((v) => ({ ...v, table: byName.get(v.table.name) ?? v.table, ttl: retention[v.name] ?? v.ttl }));
  return { tables: outTables, views: outViews };
}
