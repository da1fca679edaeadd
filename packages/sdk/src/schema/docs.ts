import { createTableSql, createViewSql, ttlSql } from './ddl.js';
import { estimateStorage, rowBytes } from './estimate.js';
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

/** A dashboard variable and the tables its query reads (given by the generator, which knows the dashboards). */
export interface DashboardVariableSource {
  readonly dashboard: string;
  readonly variable: string;
  readonly tables: readonly string[];
}

/**
 * What a producer writing ILP by hand must know beyond the column lists: how QuestDB's DEDUP, TTL and error handling
 * behave with these tables (each point verified on QuestDB 9.3 by the tests named in docs/python.md).
 */
function producerSemantics(tables: readonly TableDef[], variables: readonly DashboardVariableSource[]): string[] {
  const optionalKeys = tables.flatMap((t) =>
    t.dedupKeys
      .filter((k) => k !== t.timestamp)
      .map((k) => t.columns.find((c) => c.name === k)!)
      .filter((c) => !c.required)
      .map((c) => `\`${t.name}.${c.name}\``),
  );
  const lines = [
    '## Dedup keys: what makes two rows "the same"',
    '',
    'Every table has DEDUP UPSERT KEYS. Two rows with equal values in all of a table\'s keys are one row: the later write replaces the earlier one (**upsert, last write wins**). Replaying a batch with the same values is therefore harmless, but a replay with *changed* values overwrites what was stored; it is not a no-op. Rows that differ in any key are all kept, so a producer that sends the same event with a different `ts` stores it twice.',
    '',
    '| table | dedup keys |',
    '| --- | --- |',
    ...tables.map((t) => `| \`${t.name}\` | ${t.dedupKeys.map((k) => `\`${k}\``).join(', ')} |`),
    '',
    'The market tables (`tw_open_interest`, `tw_funding_rates`) are keyed by the exchange\'s own observation time, exchange and symbol, not by producer: two producers that fetch the same observation store it once. The trading tables are keyed by strategy and run (and the order, fill or position), not by `service` or `instance`.',
    '',
    '## Empty string versus NULL',
    '',
    `A key column that is absent from a line is NULL, and NULL is a different key value from \`""\`. The same sample sent once with \`labels=""\` and once without \`labels\` is stored twice. Dedup key columns that may be absent: ${optionalKeys.join(', ') || 'none'}. Send them the same way every time; the tradewatch SDKs send \`labels=""\` when a metric has no labels, and omit an absent optional symbol.`,
    '',
    '## Rows older than the TTL are accepted, then dropped',
    '',
    'QuestDB acknowledges (HTTP 204) a row whose timestamp is older than its table\'s TTL, and removes it when partitions expire, soon after. A unit mix-up (seconds or milliseconds sent as nanoseconds) lands in 1970 and disappears the same way. A backtest over history older than the TTL is dropped the same way (the trading tables keep ten years for that reason). A row far in the future (microseconds sent where milliseconds belong) is kept in a partition years ahead. The tradewatch SDKs refuse such timestamps with a message naming the table, the TTL and the value: before 2000, older than the TTL, or more than a day ahead.',
    '',
    '## What one rejected row does to its request',
    '',
    'QuestDB refuses an ILP/HTTP request as a whole when one line is invalid (a value of the wrong type for the column, a malformed line): HTTP 400 with a JSON body naming the first bad line (`line`, `errorId`), and nothing of the request is committed. A producer must take that line out and send the rest again; resending is safe because of the dedup keys. The tradewatch writers do this and quarantine the rejected line with QuestDB\'s error. Unknown columns are not rejected: QuestDB adds them to the table, and a misspelt table name creates a new table, so validate names before sending.',
    '',
  ];
  if (variables.length) {
    const byTable = new Map<string, string[]>();
    for (const v of variables) for (const t of v.tables) byTable.set(t, [...(byTable.get(t) ?? []), `${v.dashboard}: \`$${v.variable}\``]);
    lines.push(
      '## Which tables feed the dashboards\' variables',
      '',
      'A producer\'s rows show up in a dashboard only when the dashboard\'s variables list its service, exchange, strategy or run. These are read from:',
      '',
      '| table or view | dashboard variables it feeds |',
      '| --- | --- |',
      ...[...byTable].sort(([a], [b]) => a.localeCompare(b)).map(([t, vs]) => `| \`${t}\` | ${vs.join(', ')} |`),
      '',
      'Rollup views (`*_1m`, `*_1h`) are refreshed by QuestDB after the base table commits, so a variable fed by a view lists a new service or run a little after its first rows.',
      '',
    );
  }
  lines.push(
    '## Writer panels and producers without a tradewatch writer',
    '',
    'The writer panel of the Health dashboard ("tradewatch writer backlog") and the writer rows of the Alerts overview read `tw_writer_stats`, which only the tradewatch writers (TypeScript and Python SDKs) write. A producer that sends ILP itself leaves them empty: an empty writer panel means "no tradewatch writer here", not "no data".',
    '',
  );
  return lines;
}

/** docs/schema.md: generated from the schema definition by `npm run gen`; a test fails when it is stale. */
export function renderSchemaDoc(
  version: number,
  tables: readonly TableDef[],
  views: readonly ViewDef[],
  variables: readonly DashboardVariableSource[] = [],
): string {
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
    '- Set `ts` yourself (never leave it to the server): a retried or replayed batch must carry the same timestamps, so that DEDUP rewrites the same rows instead of adding new ones.',
    '- Rows of one table that agree on every *other* dedup key need distinct `ts` (see [the dedup keys of each table](#dedup-keys-what-makes-two-rows-the-same); the tradewatch SDKs use a strictly increasing microsecond clock per process).',
    '- Label columns are SYMBOLs: keep their cardinality bounded (exchanges, symbols, strategies, runs — not order ids).',
    '',
    ...producerSemantics(tables, variables),
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
