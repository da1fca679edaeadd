// Every panel and variable query of every generated dashboard, timed against BENCH_DAYS (default 30) of the reference
// workload at the 15-minute, 24-hour and 30-day ranges ending now, and 24 hours ending 7 days ago (a dashboard zoomed
// into the past, US6.3), All selected, expanded as the QuestDB datasource
// expands them. `npm run bench`, or alone: BENCH_DATA_ROOT=/tmp/tw-ref node --import tsx bench/queries.bench.ts
// (a given data root is built once and reused). Results: bench/results/queries.json. A dashboard's load total is
// what Grafana runs when it opens the dashboard: its variables and the panels outside collapsed rows; each collapsed
// row's panels are totalled apart, as what opening that row costs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { buildDashboards, dashboardPanels, type QuestDbQuery } from '../packages/cli/src/grafana/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { tableSizes, type SqlClient } from '../packages/sdk/src/storage/index.js';
import { expandQuery, grafanaIntervalMs, type VariableSelection } from '../test/support/grafana-model/macros.js';
import { describeMachine } from './machine.js';
import { compactWorkload, openWorkload, PARQUET_AFTER_DAYS, rowsPerDay, SYMBOLS, WORKLOAD_DEFINITION } from './workload.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
const RANGES = { '15m': 15 * MINUTE, '24h': DAY, '30d': 30 * DAY, '24h-7d-ago': DAY } as const;
type RangeName = keyof typeof RANGES;
/** How long before now a range ends (0 unless listed). */
const ENDS_AGO: Partial<Record<RangeName, number>> = { '24h-7d-ago': 7 * DAY };
const WARM_RUNS = 5;
const AIMS = { dashboard24hMs: 300, dashboard30dMs: 1000, oi30dMs: 100 };

const log = (line: string) => process.stderr.write(`${line}\n`);
/** Whether Grafana runs the query when the dashboard opens (a variable, or a panel outside collapsed rows). */
const onLoad = (r: { collapsedRow?: string }) => r.collapsedRow === undefined;
/** The collapsed rows these results came from, in dashboard order. */
const collapsedRowsOf = (rs: { collapsedRow?: string }[]) => [...new Set(rs.flatMap((r) => (r.collapsedRow === undefined ? [] : [r.collapsedRow])))];
const round = (ms: number) => Math.round(ms * 10) / 10;

interface Timed {
  coldMs: number;
  warmMs: number;
  warmRunsMs: number[];
  rows: number;
}

/** First run (cold: nothing of this query cached yet), then the median of WARM_RUNS runs; client-side, HTTP and JSON included. */
async function time(sql: SqlClient, query: string): Promise<Timed> {
  let started = performance.now();
  const first = await sql.query(query);
  const coldMs = performance.now() - started;
  const runs: number[] = [];
  for (let i = 0; i < WARM_RUNS; i++) {
    started = performance.now();
    await sql.query(query);
    runs.push(performance.now() - started);
  }
  const sorted = [...runs].sort((a, b) => a - b);
  return { coldMs: round(coldMs), warmMs: round(sorted[Math.floor(sorted.length / 2)]!), warmRunsMs: runs.map(round), rows: first.dataset.length };
}

/** Tables and views the plan scans (the resolution-aware queries keep one branch and plan the others as empty). */
async function scans(sql: SqlClient, query: string): Promise<string[]> {
  const plan = (await sql.query(`EXPLAIN ${query}`)).dataset.map((r) => String(r[0])).join('\n');
  return [...new Set([...plan.matchAll(/(?:scan on|Frame \w+ scan on|on): (\w+)/g)].map((m) => m[1]!))];
}

/** QuestDB's own timings for a query (compile, execute, count; ms) and its plan: the profile of a slow query. */
async function profile(baseUrl: string, sql: SqlClient, query: string) {
  const response = await fetch(`${baseUrl}/exec?${new URLSearchParams({ query, timings: 'true', count: 'true' })}`);
  const body = (await response.json()) as { timings?: Record<string, number> };
  const timings = Object.fromEntries(Object.entries(body.timings ?? {}).map(([k, v]) => [k, round(v / 1e6)]));
  const plan = (await sql.query(`EXPLAIN ${query}`)).dataset.map((r) => String(r[0]));
  return { serverMs: timings, plan };
}

export interface QueryResult extends Timed {
  dashboard: string;
  kind: 'variable' | 'panel';
  name: string;
  /** The collapsed row holding the panel: its query runs when a viewer opens that row, not when the dashboard loads. */
  collapsedRow?: string;
  range: RangeName;
  intervalMs: number;
  scans: string[];
  sql: string;
}

/**
 * native: every partition as written. tiered: first what production runs hourly (`tradewatch storage compact`):
 * day partitions older than a day converted to Parquet, so 30-day ranges read Parquet for all but the newest days.
 */
const TIER = process.env.BENCH_STORAGE_TIER === 'tiered' ? 'tiered' : 'native';

const loadAtStart = loadavg();
const workload = await openWorkload();
const { sql } = workload;
try {
  if (TIER === 'tiered') {
    log(`storage tiers: converting day partitions older than ${PARQUET_AFTER_DAYS} day to Parquet (if not done yet)…`);
    await compactWorkload(sql);
  }
  const [oiSize] = await tableSizes(sql, [schema.openInterest]);
  const results: QueryResult[] = [];
  // BENCH_DASHBOARDS=market,trading: only those (a quick look at one dashboard; the summary needs all of them).
  const only = process.env.BENCH_DASHBOARDS?.split(',').filter(Boolean);
  const dashboards = buildDashboards().filter((d) => !only || only.includes(d.file));
  for (const range of Object.keys(RANGES) as RangeName[]) {
    const rangeMs = RANGES[range];
    const intervalMs = grafanaIntervalMs(rangeMs);
    for (const { file, model } of dashboards) {
      const to = Date.now() - (ENDS_AGO[range] ?? 0); // one "now" per dashboard refresh, as Grafana does
      const from = to - rangeMs;
      const values: Record<string, VariableSelection> = {};
      const run = async (kind: QueryResult['kind'], name: string, raw: string, collapsedRow?: string) => {
        const expanded = expandQuery(raw, { from, to, intervalMs, variables: values });
        const timed = await time(sql, expanded);
        const where = collapsedRow === undefined ? {} : { collapsedRow };
        results.push({ dashboard: file, kind, name, ...where, range, intervalMs, ...timed, scans: await scans(sql, expanded), sql: expanded });
        return expanded;
      };
      // Variables first, in dashboard order, each with All of the ones before it (how Grafana loads a dashboard).
      // Fixed (custom) variables have no query: their options are the comma-separated list. A single-value variable
      // holds its first value (Grafana's default), a multi-value one without All every value.
      for (const variable of model.templating?.list ?? []) {
        const list =
          variable.type === 'custom'
            ? String(variable.query).split(',')
            : (await sql.query(await run('variable', `$${variable.name}`, String(variable.query)))).dataset.map((r) => String(r[0]));
        values[variable.name!] = !variable.multi ? list[0] ?? '' : variable.includeAll ? { all: list } : list;
      }
      // Every panel, those in collapsed rows too (marked: they are counted apart).
      for (const { panel, collapsedRow } of dashboardPanels(model)) {
        const targets = (panel.targets ?? []) as QuestDbQuery[];
        for (const [i, target] of targets.entries()) {
          if (!target.rawSql) continue;
          await run('panel', targets.length > 1 ? `${panel.title} (${target.refId ?? i})` : String(panel.title), target.rawSql, collapsedRow);
        }
      }
      const mine = results.filter((r) => r.dashboard === file && r.range === range);
      const parts: [string, QueryResult[]][] = [['load', mine.filter(onLoad)], ...collapsedRowsOf(mine).map((row): [string, QueryResult[]] => [`on opening "${row}"`, mine.filter((r) => r.collapsedRow === row)])];
      for (const [what, rs] of parts) {
        log(`${file} ${range} ${what}: ${rs.length} queries, ${round(rs.reduce((s, r) => s + r.warmMs, 0))} ms warm, ${round(rs.reduce((s, r) => s + r.coldMs, 0))} ms cold`);
      }
    }
  }

  // Open interest over 30 days, the historical read a user runs (the Market dashboard's panel reads the raw table at
  // 30 days): one market on every exchange, from the raw table and from the hourly view, and every market raw.
  const to = Date.now();
  const from = to - RANGES['30d'];
  const market = SYMBOLS[0]!;
  const oiQueries = {
    rollup: `SELECT ts AS time, exchange AS series, last(open_interest) AS open_interest FROM tw_open_interest_1h WHERE $__timeFilter(ts) AND symbol = '${market}' SAMPLE BY $__sampleByInterval ORDER BY time`,
    raw: `SELECT ts AS time, exchange AS series, last(open_interest) AS open_interest FROM tw_open_interest WHERE $__timeFilter(ts) AND symbol = '${market}' SAMPLE BY $__sampleByInterval ORDER BY time`,
    rawAllMarkets: `SELECT ts AS time, exchange || ' ' || symbol AS series, last(open_interest) AS open_interest FROM tw_open_interest WHERE $__timeFilter(ts) SAMPLE BY $__sampleByInterval ORDER BY time`,
  };
  const oi: Record<string, Timed & { sql: string; scans: string[] }> = {};
  for (const [name, raw] of Object.entries(oiQueries)) {
    const expanded = expandQuery(raw, { from, to, intervalMs: grafanaIntervalMs(RANGES['30d']), variables: {} });
    oi[name] = { ...(await time(sql, expanded)), sql: expanded, scans: await scans(sql, expanded) };
    log(`open interest 30d (${name}): ${oi[name].warmMs} ms warm, ${oi[name].coldMs} ms cold, ${oi[name].rows} rows`);
  }
  // Zoomed into the past, a panel that has rows for the last 24 h must have rows 7 days ago too (the workload covers
  // both): a panel judged against now() instead of the range end, or reading only recent data, shows up here.
  const key = (r: QueryResult) => `${r.dashboard}\u0000${r.kind}\u0000${r.name}`;
  const pastRows = new Map(results.filter((r) => r.range === '24h-7d-ago').map((r) => [key(r), r.rows]));
  const emptyInPast = results.filter((r) => r.range === '24h' && r.rows > 0 && pastRows.get(key(r)) === 0).map((r) => `${r.dashboard} / ${r.name}`);
  log(emptyInPast.length === 0 ? 'past range: every query with rows now has rows 7 days ago' : `past range: empty 7 days ago: ${emptyInPast.join('; ')}`);
  const oiFetchPanel = results.find((r) => r.dashboard === 'pipeline' && r.range === '30d' && r.name === 'Open-interest fetches / hour');

  /** Per range: how many queries, their warm and cold sums, the slowest. */
  const totalsOf = (rs: QueryResult[]) =>
    Object.fromEntries(
      (Object.keys(RANGES) as RangeName[]).map((range) => {
        const mine = rs.filter((r) => r.range === range);
        return [range, {
          queries: mine.length,
          warmMs: round(mine.reduce((s, r) => s + r.warmMs, 0)),
          coldMs: round(mine.reduce((s, r) => s + r.coldMs, 0)),
          slowest: [...mine].sort((a, b) => b.warmMs - a.warmMs)[0]?.name,
        }];
      }),
    ) as Record<RangeName, { queries: number; warmMs: number; coldMs: number; slowest?: string }>;
  const dashboardTotals = dashboards.map(({ file, model }) => {
    const mine = results.filter((r) => r.dashboard === file);
    return {
      file,
      title: model.title ?? file,
      // What opening the dashboard (and each refresh) runs: the aims apply to this.
      ranges: totalsOf(mine.filter(onLoad)),
      // What opening each collapsed row runs on top.
      collapsedRows: collapsedRowsOf(mine).map((title) => ({ title, ranges: totalsOf(mine.filter((r) => r.collapsedRow === title)) })),
    };
  });

  // Profiles where an aim is missed: the three slowest queries of each dashboard's load over its budget, and the OI query.
  const profiles: { where: string; warmMs: number; serverMs: Record<string, number>; plan: string[] }[] = [];
  for (const d of dashboardTotals) {
    for (const [range, aim] of [['24h', AIMS.dashboard24hMs], ['30d', AIMS.dashboard30dMs]] as const) {
      if (d.ranges[range].warmMs <= aim) continue;
      const slow = results.filter((r) => r.dashboard === d.file && r.range === range && onLoad(r)).sort((a, b) => b.warmMs - a.warmMs).slice(0, 3);
      for (const q of slow) profiles.push({ where: `${d.file} / ${q.name} (${range})`, warmMs: q.warmMs, ...(await profile(workload.server.httpUrl, sql, q.sql)) });
    }
  }
  for (const [name, q] of Object.entries(oi)) {
    if (q.warmMs > AIMS.oi30dMs) profiles.push({ where: `open interest 30d (${name})`, warmMs: q.warmMs, ...(await profile(workload.server.httpUrl, sql, q.sql)) });
  }

  const result = {
    benchmark: 'queries',
    machine: describeMachine(),
    load: { atStart: loadAtStart.map((l) => Math.round(l * 100) / 100), atEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    questdb: 'QuestDB 9.3.4 managed by tradewatch on the same machine (default 1 GiB heap), loopback HTTP /exec',
    storage: {
      tier: TIER,
      description: TIER === 'tiered' ? `day partitions older than ${PARQUET_AFTER_DAYS} day in Parquet (tradewatch storage compact)` : 'every partition native, as written',
      openInterestPartitions: { parquet: oiSize!.parquetPartitions, native: oiSize!.partitions - oiSize!.parquetPartitions },
    },
    workload: {
      days: workload.state.days,
      rows: workload.state.rows,
      rowsPerDay: rowsPerDay(),
      buildSeconds: Math.round(workload.state.buildSeconds),
      writeRowsPerSecond: Math.round(workload.state.rowsPerSecond),
      definition: WORKLOAD_DEFINITION,
      // Which build of the workload: the summary compares native and tiered results only when both ran on the same one.
      startUs: workload.state.startUs,
    },
    settings: {
      method: `each query run once cold (its first run), then ${WARM_RUNS} times; warm = median of those ${WARM_RUNS}; client-side time over HTTP incl. JSON`,
      ranges: Object.fromEntries(Object.entries(RANGES).map(([name, ms]) => [name, { rangeMs: ms, intervalMs: grafanaIntervalMs(ms) }])),
      variables: 'All selected (every value the variable query returned)',
      totals: 'sum over the dashboard\'s variable and panel queries (Grafana runs panels concurrently; the sum is the CPU the dashboard costs); panels in a row collapsed by default are left out of the dashboard\'s total (Grafana runs their queries only when the row is opened) and totalled apart as what opening that row costs',
    },
    aims: AIMS,
    dashboards: dashboardTotals,
    oi: {
      definition: `30 days of open interest for ${market} on every exchange at the 30-day request interval (30 min; hourly points from the hourly view)`,
      ...oi,
      fetchesPanel: oiFetchPanel ? { warmMs: oiFetchPanel.warmMs, coldMs: oiFetchPanel.coldMs, scans: oiFetchPanel.scans } : undefined,
    },
    queries: results.map(({ sql: text, ...r }) => ({ ...r, sql: text })),
    pastRange: { range: '24h ending 7 days ago', emptyInPast },
    profiles,
  };
  mkdirSync('bench/results', { recursive: true });
  // A partial run (BENCH_DASHBOARDS) goes to its own file: the summary reads only complete runs.
  const name = `${TIER === 'tiered' ? 'queries-tiered' : 'queries'}${only ? `-only-${only.join('-')}` : ''}`;
  writeFileSync(`bench/results/${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  const warmByRange = (ranges: Record<string, { warmMs: number }>) => Object.fromEntries(Object.entries(ranges).map(([r, v]) => [r, v.warmMs]));
  console.table(
    Object.fromEntries(
      dashboardTotals.flatMap((d) => [[d.file, warmByRange(d.ranges)], ...d.collapsedRows.map((row) => [`${d.file}, on opening "${row.title}"`, warmByRange(row.ranges)])]),
    ),
  );
  console.log(`open interest 30d: rollup ${oi.rollup!.warmMs} ms, raw ${oi.raw!.warmMs} ms (aim ${AIMS.oi30dMs} ms)`);
} finally {
  await workload.close();
}
