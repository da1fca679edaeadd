import { createTableSql, createViewSql, ttlSql } from './ddl.js';
import { estimateStorage } from './estimate.js';
import { MIN_RETENTION_DAYS, RETENTION_EXCEPTIONS } from './retention.js';
import { PARQUET_CODEC } from './ddl.js';
import type { ColumnDef, TableDef, TableGroup, ViewDef } from './types.js';

const GROUP_TITLES: Record<TableGroup, string> = {
  health: 'Process health',
  pipeline: 'Data pipeline',
  market: 'Market data',
  exchange: 'Exchange connectivity',
  trading: 'Trading',
  generic: 'Generic metrics',
  internal: 'tradewatch internals',
};

const ILP_KIND: Record<ColumnDef['type'], string> = {
  SYMBOL: 'tag (symbol)',
  VARCHAR: 'string field',
  DOUBLE: 'float field',
  FLOAT: 'float field',
  LONG: 'integer field (`i`)',
  INT: 'integer field (`i`)',
  BOOLEAN: 'boolean field',
  TIMESTAMP: 'timestamp field (`t`, µs)',
};

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

const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');

function columnRow(table: TableDef, c: ColumnDef): string {
  const notes = [
    c.name === table.timestamp ? 'designated timestamp' : '',
    table.dedupKeys.includes(c.name) ? 'dedup key' : '',
    c.required ? 'required' : '',
    c.values ? `one of ${c.values.map((v) => `\`${v}\``).join(', ')}` : '',
    c.unit ? `unit: ${c.unit}` : '',
  ].filter(Boolean);
  const ilp = c.name === table.timestamp ? 'line timestamp (ns)' : ILP_KIND[c.type];
  return `| \`${c.name}\` | ${c.type} | ${ilp} | ${cell(c.description)}${notes.length ? ` (${notes.join('; ')})` : ''} |`;
}

function tableSection(table: TableDef, views: readonly ViewDef[]): string {
  const own = views.filter((v) => v.table === table);
  const lines = [
    `### \`${table.name}\``,
    '',
    cell(table.description),
    '',
    `Partitioned by ${table.partitionBy}, WAL, TTL ${ttlSql(table.ttl)}, DEDUP UPSERT KEYS(${table.dedupKeys.join(', ')}); about ${rowBytes(table)} bytes per row on disk.`,
    '',
    '| column | type | ILP | meaning |',
    '| --- | --- | --- | --- |',
    ...table.columns.map((c) => columnRow(table, c)),
  ];
  if (table.rollup && own.length) {
    lines.push(
      '',
      `Rollups, grouped by ${table.rollup.groupBy.map((g) => `\`${g}\``).join(', ')}: ` +
        own.map((v) => `\`${v.name}\` (TTL ${ttlSql(v.ttl)})`).join(', ') +
        '. Averages are stored as sums with a count, so the hourly view is exact.',
      '',
      '| rollup column | aggregate | meaning |',
      '| --- | --- | --- |',
      ...table.rollup.measures.map(
        (m) => `| \`${m.name}\` | ${m.fn}${m.column ? `(${m.column})` : '()'} | ${cell(m.description)} |`,
      ),
    );
  }
  return lines.join('\n');
}

const gb = (bytes: number) => (bytes / 1e9).toFixed(2);

/** The planning estimate that the TTLs were chosen with; `npm run bench` measures the real sizes. */
function storageSection(tables: readonly TableDef[], views: readonly ViewDef[]): string[] {
  const at90 = estimateStorage(tables, views, 90);
  const at365 = estimateStorage(tables, views, 365);
  const rows = at90
    .map((e, i) => ({ ...e, year: at365[i]!.bytes }))
    .filter((e) => e.bytesPerDay > 0)
    .sort((a, b) => b.bytes - a.bytes);
  const total = (list: { bytes: number }[]) => gb(list.reduce((sum, e) => sum + e.bytes, 0));
  const tiered = (list: { tieredBytes: number }[]) => gb(list.reduce((sum, e) => sum + e.tieredBytes, 0));
  return [
    '## Retention',
    '',
    `Every table keeps at least ${MIN_RETENTION_DAYS} days at some resolution (FR-008), raw by default. The TTLs above are defaults: set \`storage.retention.<table or view>\` in the config (\`90d\`, \`12h\`, \`2w\`, \`6M\`, \`5y\`; env \`TRADEWATCH_STORAGE_RETENTION_<NAME>\`) and \`tradewatch schema apply\` (also run by \`daemon\` and \`demo\` on start) sets it, printing each TTL it changes with the old and new value. A TTL changed by hand (\`ALTER TABLE ... SET TTL\`) is put back to the configured value on the next apply, visibly: the config is the one place to set it.`,
    '',
    `Kept raw for less than ${MIN_RETENTION_DAYS} days by default (each keeps its rollups a year or more):`,
    '',
    ...Object.entries(RETENTION_EXCEPTIONS).map(([name, why]) => `- \`${name}\` (${ttlSql(tables.find((t) => t.name === name)!.ttl)} raw): ${why}`),
    '',
    '## Storage estimate',
    '',
    'Fixed-width column bytes at the reference workload (5 exchanges × 50 symbols, open interest every 30 s, funding every 60 s, ~5 liquidations/s, 3 strategies, 1 Hz process and connection samples, ~200 scraped series every 15 s), with each TTL applied. It leaves out symbol dictionaries, VARCHAR text and WAL files, so it is a lower bound for planning; the benchmarks measure partition sizes on a real QuestDB.',
    '',
    `Total after 90 days: **${total(at90)} GB** native, **${tiered(at90)} GB** with storage tiers (below: day partitions older than a day in Parquet, at the Parquet/native ratio the storage benchmark measured per table); after a year: ${total(at365)} GB native, ${tiered(at365)} GB tiered.`,
    '',
    '| table or view | MB per day | kept (days, at 90 / 365) | GB after 90 days | GB after 90 days, tiered | GB after 1 year |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows.map(
      (e) =>
        `| \`${e.object}\` | ${(e.bytesPerDay / 1e6).toFixed(1)} | ${e.retainedDays} / ${Math.round(at365.find((y) => y.object === e.object)!.retainedDays)} | ${gb(e.bytes)} | ${gb(e.tieredBytes)} | ${gb(e.year)} |`,
    ),
    '',
    '## Storage tiers',
    '',
    `These are native sizes: QuestDB writes partitions as uncompressed column files. \`tradewatch storage compact\` (run hourly by the compose stack) converts every day partition older than \`storage.parquetAfterDays\` (default 1) to Parquet in place; the partitions stay queryable by the same SQL, and late rows (spool replay, backtests) are still deduplicated into them. Each column above declares its Parquet encoding in the DDL, so the result does not depend on the server's defaults: timestamps and integers \`delta_binary_packed\`, every column \`${PARQUET_CODEC}\`-compressed (the codec comparison is in BENCHMARKS.md). Materialized views stay native (QuestDB 9 cannot convert them). BENCHMARKS.md measures the sizes before and after.`,
    '',
  ];
}

/** docs/schema.md: generated from the schema definition by `npm run gen`; a test fails when it is stale. */
export function renderSchemaDoc(version: number, tables: readonly TableDef[], views: readonly ViewDef[]): string {
  const groups = [...new Set(tables.map((t) => t.group))];
  const out = [
    '<!-- Generated by `npm run gen` from packages/sdk/src/schema. Do not edit by hand. -->',
    '',
    `# tradewatch schema (version ${version})`,
    '',
    'The contract for every producer, in any language. Tables are created and upgraded by `tradewatch schema apply`.',
    '',
    '## Rules for producers',
    '',
    '- Write over ILP (HTTP) to QuestDB, to the tables below only; `schema apply` creates them first, with the right types.',
    '- Every timestamp is UTC. The designated timestamp `ts` is in microseconds (send nanoseconds over ILP, as the clients do by default).',
    '- Set `ts` yourself (never leave it to the server): a retried or replayed batch must carry the same timestamps so that DEDUP turns it into a no-op.',
    '- Within one `service` + `instance`, rows of one table need distinct `ts` unless they differ in another dedup key (the tradewatch SDK uses a strictly increasing microsecond clock).',
    '- Label columns are SYMBOLs: keep their cardinality bounded (exchanges, symbols, strategies, runs — not order ids).',
    '',
    '## Tables',
    '',
    '| table | group | TTL | rollups |',
    '| --- | --- | --- | --- |',
    ...tables.map(
      (t) =>
        `| [\`${t.name}\`](#${t.name}) | ${GROUP_TITLES[t.group]} | ${ttlSql(t.ttl)} | ${
          views
            .filter((v) => v.table === t)
            .map((v) => `\`${v.name}\``)
            .join(', ') || '—'
        } |`,
    ),
    '',
  ];
  for (const group of groups) {
    out.push(`## ${GROUP_TITLES[group]}`, '');
    for (const table of tables.filter((t) => t.group === group)) out.push(tableSection(table, views), '');
  }
  out.push(...storageSection(tables, views));
  out.push(
    '## DDL',
    '',
    'What `tradewatch schema apply` runs on an empty database:',
    '',
    '```sql',
    ...tables.map((t) => `${createTableSql(t)};\n`),
    ...views.map((v) => `${createViewSql(v)};\n`),
    '```',
    '',
  );
  return out.join('\n');
}
