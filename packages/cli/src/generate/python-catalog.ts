import { ttlHours, SCHEMA_VERSION, tables } from '@tradewatch/sdk/schema';
import { MAX_SYMBOL_CHARS, MAX_VARCHAR_CHARS } from '@tradewatch/sdk/storage';
import { DEFAULT_MAX_SERIES, OVERFLOW_LABEL_VALUE, SDK_METRICS } from '@tradewatch/sdk/sdk';

/** Where the Python SDK reads its schema and metric catalog from (package data of packages/python). */
export const PYTHON_CATALOG_PATH = 'packages/python/src/tradewatch/catalog.json';

/** Earliest event time the SDKs accept: anything before is a unit mix-up (seconds for ms, ms for µs), not data. */
export const MIN_EVENT_TIME_MICROS = Date.UTC(2000, 0, 1) * 1000;

/**
 * The schema and the SDK metric catalog as one JSON document: the single source of truth (TypeScript) rendered for
 * the Python SDK, which validates rows and registers metrics from it. `npm run gen` writes it; the generated-files
 * test fails when it is stale.
 */
export function renderPythonCatalog(): string {
  const doc = {
    generatedBy: 'npm run gen (src/generate/python-catalog.ts); do not edit',
    schemaVersion: SCHEMA_VERSION,
    limits: {
      maxSymbolChars: MAX_SYMBOL_CHARS,
      maxVarcharChars: MAX_VARCHAR_CHARS,
      intMax: 2_147_483_647,
      minEventTimeMicros: MIN_EVENT_TIME_MICROS,
    },
    tables: tables.map((t) => ({
      name: t.name,
      group: t.group,
      timestamp: t.timestamp,
      partitionBy: t.partitionBy,
      ttl: { value: t.ttl.value, unit: t.ttl.unit, hours: ttlHours(t.ttl.value, t.ttl.unit) },
      dedupKeys: t.dedupKeys,
      columns: t.columns.map((c) => ({
        name: c.name,
        type: c.type,
        required: c.required === true,
        ...(c.values ? { values: c.values } : {}),
      })),
    })),
    metrics: {
      overflowLabelValue: OVERFLOW_LABEL_VALUE,
      defaultMaxSeries: DEFAULT_MAX_SERIES,
      list: SDK_METRICS.map((m) => ({
        name: m.name,
        kind: m.kind,
        help: m.help,
        labels: m.labels,
        fold: m.fold,
        ...(m.buckets ? { buckets: m.buckets } : {}),
        group: m.group,
      })),
    },
  };
  return `${JSON.stringify(doc, null, 1)}\n`;
}
