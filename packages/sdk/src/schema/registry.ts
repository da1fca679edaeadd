import { ErrorCodes, TradewatchError } from '../common/errors.js';
import { errors, processEvents, processSamples, storageSize, writerStats } from './tables/health.js';
import { dataGaps, fetches, liquidations } from './tables/pipeline.js';
import { fundingRates, openInterest } from './tables/market.js';
import { connectionEvents, connectionSamples, rateLimits } from './tables/exchange.js';
import { fills, orders, positions, strategyPnl } from './tables/trading.js';
import { metrics, schemaChanges } from './tables/generic.js';
import { alertEvents } from './tables/alerts.js';
import { buildViews } from './views.js';
import type { TableDef, ViewDef } from './types.js';

/**
 * Bumped whenever a table, column, key, TTL, Parquet encoding or view changes (2: Parquet encodings for cold partitions; 3: tw_alert_events). `schema apply` records the version it applied, and
 * producers can compare it with what they were built against.
 */
export const SCHEMA_VERSION = 3;

export function findTable(name: string): TableDef | undefined {
  return byName.get(name);
}

export function getTable(name: string): TableDef {
  const table = byName.get(name);
  if (!table) {
    throw new TradewatchError(
      ErrorCodes.UNKNOWN_TABLE,
      `unknown table ${JSON.stringify(name)}; tradewatch tables are: ${tables.map((t) => t.name).join(', ')}`,
      { table: name },
    );
  }
  return table;
}

/** Named handles for code that writes a specific table (typed, no string look-ups on the hot path). */
export const schema = {
  processSamples,
  processEvents,
  errors,
  storageSize,
  fetches,
  dataGaps,
  liquidations,
  openInterest,
  fundingRates,
  connectionEvents,
  connectionSamples,
  rateLimits,
  strategyPnl,
  orders,
  fills,
  positions,
  metrics,
  writerStats,
  alertEvents,
  schemaChanges,
} as const;

/** Every table, in the order `schema apply` creates them and the docs list them. */
export const tables: readonly TableDef[] = Object.values(schema);

export const views: readonly ViewDef[] = tables.flatMap(buildViews);

const byName = new Map(tables.map((t) => [t.name, t]));
