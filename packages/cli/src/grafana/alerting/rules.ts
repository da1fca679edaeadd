/**
 * The tradewatch alert rules: what each one queries (QuestDB SQL through the provisioned datasource, with the
 * plugin's macros), how Grafana reduces and compares the result, and what it says when it fires. Every table,
 * column and vocabulary value is looked up in src/schema.
 */
import { schema } from '@tradewatch/sdk/schema';
import { QueryFormat } from '../datasource.js';
import { QUESTDB_METRICS } from '../questdb-health.js';
import { tableRef } from '../sql.js';
import type { RuleSettings } from './config.js';
import { exchangeThreshold } from './exchange-thresholds.js';
import { scrapedAliveSql, spoolHoursLeftSql, SPOOL_FULL_FRACTION, writerLagSql } from './writer-evidence.js';
import { RULE_DEFAULTS, type RuleId } from './rule-defaults.js';

export type Reducer = 'last' | 'mean' | 'max' | 'min' | 'sum' | 'count';
/** Grafana's reduce modes: strict (NaN/null in, NaN out), drop non-numbers, replace non-numbers. */
export type ReduceMode = { mode: 'strict' } | { mode: 'dropNN' } | { mode: 'replaceNN'; replaceWithValue: number };
export type ThresholdOp = 'gt' | 'lt' | 'gte' | 'lte' | 'eq' | 'ne' | 'within_range' | 'outside_range';
/** What Grafana sets an alert instance to when the query returns nothing, or fails. */
export type NoDataState = 'OK' | 'Alerting' | 'NoData' | 'KeepLast';
export type ExecErrState = 'OK' | 'Alerting' | 'Error' | 'KeepLast';

export interface QuerySpec {
  readonly refId: string;
  readonly sql: string;
  readonly format: QueryFormat;
  /** Relative time range of the query: from now − lookback to now (Grafana's `relativeTimeRange.from`, seconds). */
  readonly lookbackS: number;
}

export type ConditionSpec =
  | {
      readonly kind: 'threshold';
      /** Reduce step (series → number) before the threshold; on numbers it only applies the mode. */
      readonly reduce?: { readonly reducer: Reducer } & ReduceMode;
      readonly op: ThresholdOp;
      readonly params: readonly number[];
    }
  | { readonly kind: 'math'; readonly expression: string };

export interface RuleSpec {
  readonly id: RuleId;
  readonly title: string;
  /** Evaluated in the fast group even as a warning (criticals always are). */
  readonly fast?: boolean;
  readonly queries: readonly QuerySpec[];
  readonly condition: ConditionSpec;
  readonly noDataState: NoDataState;
  readonly execErrState: ExecErrState;
  /** Annotation templates (Go templates over $labels / $values; never `${...}`, which Grafana would expand). */
  readonly summary: string;
  readonly description: string;
}

const samples = tableRef(schema.processSamples);
const events = tableRef(schema.processEvents);
const connEvents = tableRef(schema.connectionEvents);
const connSamples = tableRef(schema.connectionSamples);
const fetches = tableRef(schema.fetches);
const gaps = tableRef(schema.dataGaps);
const liquidations = tableRef(schema.liquidations);
const limits = tableRef(schema.rateLimits);
const metrics = tableRef(schema.metrics);
const pnl = tableRef(schema.strategyPnl);
const orders = tableRef(schema.orders);

/** Seconds from a timestamp expression to the end of the query's range. */
const secondsUntilTo = (ts: string) => `(cast($__toTime AS LONG) - cast(${ts} AS LONG)) / 1000000.0`;
const MIB = 1_048_576;
const table = (refId: string, sql: string, lookbackS: number): QuerySpec => ({ refId, sql, format: QueryFormat.Table, lookbackS });
const series = (refId: string, sql: string, lookbackS: number): QuerySpec => ({ refId, sql, format: QueryFormat.TimeSeries, lookbackS });
const above = (threshold: number): ConditionSpec => ({ kind: 'threshold', op: 'gt', params: [threshold] });
const value = (ref: string) => `{{ printf "%.1f" $values.${ref}.Value }}`;

/** Lookbacks: long enough that a source that stopped reporting is still seen (and keeps its alert firing). */
const DAY_S = 86_400;
const TTL_UNIT_S = { HOURS: 3600, DAYS: DAY_S, WEEKS: 7 * DAY_S, MONTHS: 30 * DAY_S, YEARS: 365 * DAY_S } as const;
/**
 * Evidence lookback: the table's whole retention. A source that stops reporting keeps its last row (and its
 * alert) for as long as QuestDB holds it, so an alert resolves on new evidence (a healthy row, a clean stop),
 * never because the evidence aged out of a shorter window.
 */
const retentionS = (t: { def: { ttl: { value: number; unit: keyof typeof TTL_UNIT_S } } }) => t.def.ttl.value * TTL_UNIT_S[t.def.ttl.unit];

/** The latest process event per service/instance in the range, to tell a clean stop from a crash. */
const latestEvent = () =>
  `(SELECT ${events.ts}, ${events.col('service')}, ${events.col('instance')}, ${events.col('event')} FROM ${events.name} WHERE $__timeFilter(${events.ts})\n` +
  `  LATEST ON ${events.ts} PARTITION BY ${events.col('service')}, ${events.col('instance')}) e`;
const stopped = `e.${events.col('event')} = ${events.lit('event', 'stop')}`;

/** A rule from its own settings; `all` for the rules that yield to another (one fault, one alert). */
type Builder = (s: RuleSettings, all: Readonly<Record<RuleId, RuleSettings>>) => Omit<RuleSpec, 'id'>;

const BUILDERS: { readonly [K in RuleId]: Builder } = {
  daemonDown: (s) => ({
    title: 'Daemon down or heartbeat missing',
    queries: [
      table(
        'A',
        // Seconds since the process's last sign of life: its latest sample, or the exporter's latest scrape that
        // found it answering (a process cut off from QuestDB is alive: its samples wait in its spool, and its
        // backlog is writerLag's alert). A clean stop (its latest event is `stop`) gives 0: resolved on that
        // evidence, kept as an instance.
        `SELECT s.${samples.col('service')}, s.${samples.col('instance')},\n` +
          `  CASE WHEN ${stopped} THEN 0.0 ELSE ${secondsUntilTo(`CASE WHEN a.alive_ts > s.${samples.ts} THEN a.alive_ts ELSE s.${samples.ts} END`)} END AS seconds_since_sample\n` +
          `FROM (SELECT ${samples.ts}, ${samples.col('service')}, ${samples.col('instance')} FROM ${samples.name} WHERE $__timeFilter(${samples.ts})\n` +
          `  LATEST ON ${samples.ts} PARTITION BY ${samples.col('service')}, ${samples.col('instance')}) s\n` +
          `LEFT JOIN ${latestEvent()}\n` +
          `  ON s.${samples.col('service')} = e.${events.col('service')} AND s.${samples.col('instance')} = e.${events.col('instance')}\n` +
          // Scrapes older than the threshold cannot hold the alert off: only the last minute beyond it is read.
          `LEFT JOIN (\n  ${scrapedAliveSql(Number(s.threshold) + 60)}\n) a\n` +
          `  ON s.${samples.col('service')} = a.${samples.col('service')} AND s.${samples.col('instance')} = a.${samples.col('instance')}`,
        retentionS(samples),
      ),
    ],
    condition: above(s.threshold),
    // No rows at all: nothing new is known, so nothing changes (a firing instance keeps firing).
    noDataState: 'KeepLast',
    execErrState: 'KeepLast',
    summary: '{{ $labels.service }}/{{ $labels.instance }}: no heartbeat for {{ printf "%.0f" $values.A.Value }} s',
    description: `No sign of life from {{ $labels.service }}/{{ $labels.instance }} for more than ${s.threshold} s and no clean stop: no process sample, and no scrape of its /metrics by the exporter that it answered. The process crashed or hangs (or, when no exporter scrapes it, cannot reach QuestDB). Resolves on its next sample or answered scrape, or a clean stop.`,
  }),

  memoryHigh: (s) => ({
    title: 'Memory high',
    queries: [
      table(
        'A',
        // The latest sample per process, kept while the process is dead (no evidence it recovered); 0 after a clean stop.
        `SELECT s.${samples.col('service')}, s.${samples.col('instance')},\n` +
          `  CASE WHEN ${stopped} THEN 0.0 ELSE s.${samples.col('rss_bytes')} / ${MIB}.0 END AS rss_mib\n` +
          `FROM (SELECT ${samples.ts}, ${samples.col('service')}, ${samples.col('instance')}, ${samples.col('rss_bytes')} FROM ${samples.name} WHERE $__timeFilter(${samples.ts})\n` +
          `  LATEST ON ${samples.ts} PARTITION BY ${samples.col('service')}, ${samples.col('instance')}) s\n` +
          `LEFT JOIN ${latestEvent()}\n` +
          `  ON s.${samples.col('service')} = e.${events.col('service')} AND s.${samples.col('instance')} = e.${events.col('instance')}`,
        retentionS(samples),
      ),
    ],
    condition: above(s.threshold),
    noDataState: 'KeepLast',
    execErrState: 'KeepLast',
    summary: `{{ $labels.service }}/{{ $labels.instance }}: RSS {{ printf "%.0f" $values.A.Value }} MiB`,
    description: `Resident memory of {{ $labels.service }}/{{ $labels.instance }} above ${s.threshold} MiB for ${s.for}: a leak or an unbounded buffer. If the process died meanwhile it stays firing until a new sample or a clean stop.`,
  }),

  cpuHigh: (s) => ({
    title: 'CPU high',
    queries: [
      series(
        'A',
        `SELECT ${samples.ts} AS time, ${samples.col('service')}, ${samples.col('instance')}, ${samples.col('cpu_percent')}\n` +
          `FROM ${samples.name} WHERE $__timeFilter(${samples.ts}) ORDER BY time`,
        300,
      ),
    ],
    condition: { kind: 'threshold', reduce: { reducer: 'mean', mode: 'dropNN' }, op: 'gt', params: [s.threshold] },
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: `{{ $labels.service }}/{{ $labels.instance }}: CPU ${value('B')} % (5 min mean)`,
    description: `CPU of {{ $labels.service }}/{{ $labels.instance }} averaged above ${s.threshold} % (100 = one core) over 5 minutes, for ${s.for}.`,
  }),

  errorRateSpike: (s) => {
    const failed = `sum(CASE WHEN ${fetches.col('status')} = ${fetches.lit('status', 'ok')} THEN 0 ELSE 1 END)`;
    const t = exchangeThreshold(s, fetches.col('exchange'));
    return {
      title: 'Request failure ratio high',
      queries: [
        table(
          'A',
          // A ratio of requests, not a rate: it fires at the daemon's real request rate, and has no baseline that
          // a sustained storm could absorb. Below the minimum count there is no verdict (0).
          `SELECT ${fetches.col('service')}, ${fetches.col('exchange')},\n` +
            `  ${t.value(`CASE WHEN count() >= ${Number(s.minRequests)} THEN ${failed} * 100.0 / count() ELSE 0.0 END`)} AS failed_percent\n` +
            `FROM ${fetches.name} WHERE $__timeFilter(${fetches.ts}) GROUP BY ${fetches.col('service')}, ${fetches.col('exchange')}`,
          600,
        ),
      ],
      condition: above(t.threshold),
      noDataState: 'KeepLast',
      execErrState: 'KeepLast',
      summary: `{{ $labels.service }} → {{ $labels.exchange }}: {{ printf "%.0f" $values.A.Value }} % of requests failed (10 min)`,
      description: `More than ${s.threshold} %${t.named} of the requests of {{ $labels.service }} to {{ $labels.exchange }} failed in the last 10 minutes (at least ${Number(s.minRequests)} requests): errors, timeouts or rate limiting.`,
    };
  },

  exchangeDisconnected: (s) => ({
    title: 'Exchange disconnected',
    fast: true,
    queries: [disconnectedQuery(s)],
    condition: above(disconnectedThreshold(s).threshold),
    // Judged over the retention: no rows means nothing new is known, so a firing instance keeps firing.
    noDataState: 'KeepLast',
    execErrState: 'KeepLast',
    summary: '{{ $labels.exchange }} {{ $labels.channel }} disconnected for {{ printf "%.0f" $values.A.Value }} s ({{ $labels.service }}/{{ $labels.instance }})',
    description: `The {{ $labels.channel }} connection of {{ $labels.service }}/{{ $labels.instance }} to {{ $labels.exchange }} has been down (websocket lost, or every REST request failing) for more than ${s.threshold} s${disconnectedThreshold(s).named}. Resolves when it is back or the process stops cleanly.`,
  }),

  exchangeDown: (s) => ({
    title: 'Exchange down',
    fast: true,
    queries: [disconnectedQuery(s)],
    condition: above(disconnectedThreshold(s).threshold),
    // Judged over the retention: no rows means nothing new is known, so a firing instance keeps firing.
    noDataState: 'KeepLast',
    execErrState: 'KeepLast',
    summary: '{{ $labels.exchange }} {{ $labels.channel }} down for {{ printf "%.0f" $values.A.Value }} s ({{ $labels.service }}/{{ $labels.instance }})',
    description: `The {{ $labels.channel }} connection of {{ $labels.service }}/{{ $labels.instance }} to {{ $labels.exchange }} has not recovered for ${s.threshold} s${disconnectedThreshold(s).named} (websocket lost, or every REST request failing). Resolves when it is back or the process stops cleanly.`,
  }),

  staleData: (s) => {
    const keys = ['service', 'instance', 'exchange', 'dataset'].map((k) => fetches.col(k));
    const latest = (where: string) =>
      `(SELECT ${fetches.ts}, ${keys.join(', ')} FROM ${fetches.name} WHERE $__timeFilter(${fetches.ts})${where}\n` +
      `  LATEST ON ${fetches.ts} PARTITION BY ${keys.join(', ')})`;
    const on = (a: string, b: string, cols: string[]) => cols.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
    const t = exchangeThreshold(s, `a.${fetches.col('exchange')}`);
    return {
      title: 'Stale data',
      queries: [
        table(
          'A',
          // Per dataset fetched in the retention: seconds since its last `ok` (since the range start if none), 0
          // once its process stopped cleanly. A fetcher that stops entirely keeps its dataset stale. Counted up to
          // the process's latest sample (now, when it has none): a process that stops sampling (crashed, or cut off
          // from QuestDB: daemonDown's incident) neither starts this alert nor resolves it; its last verdict stands.
          `SELECT a.${fetches.col('service')}, a.${fetches.col('exchange')}, a.${fetches.col('dataset')},\n` +
            `  ${t.value(`max(CASE WHEN ${stopped} THEN 0.0 ELSE (cast(coalesce(p.${samples.ts}, $__toTime) AS LONG) - cast(coalesce(o.${fetches.ts}, $__fromTime) AS LONG)) / 1000000.0 END)`)} AS seconds_since_ok\n` +
            `FROM ${latest('')} a\n` +
            `LEFT JOIN ${latest(` AND ${fetches.col('status')} = ${fetches.lit('status', 'ok')}`)} o ON ${on('a', 'o', keys)}\n` +
            `LEFT JOIN ${latestEvent()} ON ${on('a', 'e', [fetches.col('service'), fetches.col('instance')])}\n` +
            `LEFT JOIN (SELECT ${samples.ts}, ${samples.col('service')}, ${samples.col('instance')} FROM ${samples.name} WHERE $__timeFilter(${samples.ts})\n` +
            `  LATEST ON ${samples.ts} PARTITION BY ${samples.col('service')}, ${samples.col('instance')}) p\n` +
            `  ON a.${fetches.col('service')} = p.${samples.col('service')} AND a.${fetches.col('instance')} = p.${samples.col('instance')}\n` +
            `GROUP BY a.${fetches.col('service')}, a.${fetches.col('exchange')}, a.${fetches.col('dataset')}`,
          retentionS(fetches),
        ),
      ],
      condition: above(t.threshold),
      noDataState: 'KeepLast',
      execErrState: 'KeepLast',
      summary: '{{ $labels.exchange }} {{ $labels.dataset }}: no successful fetch for {{ printf "%.0f" $values.A.Value }} s',
      description: `{{ $labels.service }} has not fetched {{ $labels.dataset }} from {{ $labels.exchange }} successfully for more than ${s.threshold} s${t.named} (failing, or not fetching at all). Resolves on the next successful fetch or a clean stop.`,
    };
  },

  dataGaps: (s) => ({
    title: 'Data gaps',
    queries: [
      table(
        'A',
        `SELECT ${gaps.col('service')}, ${gaps.col('exchange')}, ${gaps.col('dataset')}, count() AS gaps\n` +
          `FROM ${gaps.name} WHERE $__timeFilter(${gaps.ts}) GROUP BY ${gaps.col('service')}, ${gaps.col('exchange')}, ${gaps.col('dataset')}`,
        900,
      ),
    ],
    condition: above(s.threshold),
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: '{{ $labels.exchange }} {{ $labels.dataset }}: {{ printf "%.0f" $values.A.Value }} data gap(s) in 15 min',
    description: `{{ $labels.service }} detected data gaps in {{ $labels.dataset }} from {{ $labels.exchange }} in the last 15 minutes (more than ${s.threshold}); see the Pipeline dashboard for their extent.`,
  }),

  liquidationBurst: (s) => {
    const overrides = Object.entries((s.exchangeThresholds ?? {}) as Record<string, number>);
    const exchange = liquidations.col('exchange');
    // Exchange ids are checked against EXCHANGE_ID (config.ts), so quoting them here is safe.
    const threshold = overrides.length === 0
      ? `${s.threshold}.0`
      : `CASE ${exchange} ${overrides.map(([id, usd]) => `WHEN '${id}' THEN ${usd}.0`).join(' ')} ELSE ${s.threshold}.0 END`;
    const named = overrides.length === 0 ? '' : ` (${overrides.map(([id, usd]) => `${id}: ${usd}`).join(', ')})`;
    return {
      title: 'Liquidation burst',
      queries: [
        table(
          'A',
          // Notional, not a count: Binance pushes at most one liquidation per symbol per second, so its count is
          // capped by the symbols watched while its notional is not. value_usd is optional in the SDK: price × amount
          // (quote currency) stands in for it. The value is the share of the exchange's own threshold, in %.
          `SELECT ${exchange}, sum(coalesce(${liquidations.col('value_usd')}, ${liquidations.col('price')} * ${liquidations.col('amount')})) * 100.0 / ${threshold} AS percent_of_threshold\n` +
            `FROM ${liquidations.name} WHERE $__timeFilter(${liquidations.ts}) GROUP BY ${exchange}`,
          60,
        ),
      ],
      condition: above(100),
      noDataState: 'OK',
      execErrState: 'KeepLast',
      summary: '{{ $labels.exchange }}: liquidated notional in the last minute at {{ printf "%.0f" $values.A.Value }} % of its burst threshold',
      description: `More liquidated notional per minute on {{ $labels.exchange }} than its threshold (${s.threshold} USD/min${named}): a liquidation cascade is under way.`,
    };
  },

  rateLimit: (s) => {
    const t = exchangeThreshold(s, `u.${limits.col('exchange')}`);
    const keys = ['service', 'instance', 'exchange'].map((k) => limits.col(k));
    const limited = `sum(CASE WHEN ${fetches.col('status')} = ${fetches.lit('status', 'rate_limited')} THEN 1 ELSE 0 END)`;
    const minLimited = Number(s.minLimited);
    return {
      title: 'Rate limit near exhaustion',
      queries: [
        table(
          'A',
          // Two paths, merged per process and exchange by max. The weight used of the quota (latest sample, 100 when
          // throttled) warns heavy users before the exchange refuses; the share of requests refused with HTTP 429
          // (fetch status rate_limited) over the 5 minutes fires at any scale: the reference daemon uses ~10 of
          // Binance's 2,400 weight/min, yet a shared IP or a tighter limit gets it refused. A share at or above
          // `limitedPercent` (with at least `minLimited` refusals) counts as throttled: 100.
          `SELECT ${keys.map((k) => `u.${k}`).join(', ')}, ${t.value('max(u.used_percent)')} AS used_percent\n` +
            `FROM (\n` +
            `  SELECT ${keys.join(', ')},\n` +
            `    CASE WHEN ${limits.col('throttled')} THEN 100.0 ELSE ${limits.col('used')} * 100.0 / ${limits.col('quota')} END AS used_percent\n` +
            `  FROM ${limits.name} WHERE $__timeFilter(${limits.ts})\n` +
            `  LATEST ON ${limits.ts} PARTITION BY ${keys.join(', ')}\n` +
            `  UNION ALL\n` +
            `  SELECT ${keys.join(', ')},\n` +
            `    CASE WHEN ${limited} >= ${minLimited} AND ${limited} * 100.0 / count() >= ${Number(s.limitedPercent)} THEN 100.0 ELSE 0.0 END AS used_percent\n` +
            `  FROM ${fetches.name} WHERE $__timeFilter(${fetches.ts}) GROUP BY ${keys.join(', ')}\n` +
            `) u\n` +
            `GROUP BY ${keys.map((k) => `u.${k}`).join(', ')}`,
          300,
        ),
      ],
      // A sample without a quota has no percentage: dropped, not an error.
      condition: { kind: 'threshold', reduce: { reducer: 'last', mode: 'dropNN' }, op: 'gt', params: [t.threshold] },
      noDataState: 'OK',
      execErrState: 'KeepLast',
      summary: `{{ $labels.exchange }}: ${value('B')} % of the rate limit used, 100 = throttled or refused ({{ $labels.service }}/{{ $labels.instance }})`,
      description: `{{ $labels.service }}/{{ $labels.instance }} uses more than ${s.threshold} %${t.named} of its {{ $labels.exchange }} rate limit, is being throttled, or had at least ${Number(s.limitedPercent)} % of its requests (and ${minLimited} or more) refused with HTTP 429 in 5 minutes: HTTP 418 bans come next.`,
    };
  },

  silentStream: (s) => ({
    title: 'Stream connected but silent',
    queries: [
      table(
        'A',
        // The latest sample per connection: connected, yet its last message is older than the threshold (or it never
        // had one in the range). A disconnected stream is 0 here: exchangeDisconnected / exchangeDown report it.
        // Silence is measured up to that sample, not to now: a process that stops sampling (crashed, or cut off from
        // QuestDB: daemonDown's incident) neither starts this alert nor resolves it; its last verdict stands.
        `SELECT ${connSamples.col('service')}, ${connSamples.col('instance')}, ${connSamples.col('exchange')}, ${connSamples.col('channel')},\n` +
          `  CASE WHEN ${connSamples.col('connected')} THEN (cast(${connSamples.ts} AS LONG) - cast(coalesce(${connSamples.col('last_message_ts')}, $__fromTime) AS LONG)) / 1000000.0 ELSE 0.0 END AS silent_s\n` +
          `FROM ${connSamples.name} WHERE $__timeFilter(${connSamples.ts})\n` +
          `LATEST ON ${connSamples.ts} PARTITION BY ${connSamples.col('service')}, ${connSamples.col('instance')}, ${connSamples.col('exchange')}, ${connSamples.col('channel')}`,
        DAY_S,
      ),
    ],
    condition: above(s.threshold),
    noDataState: 'KeepLast',
    execErrState: 'KeepLast',
    summary: '{{ $labels.exchange }} {{ $labels.channel }}: connected but no message for {{ printf "%.0f" $values.A.Value }} s ({{ $labels.service }}/{{ $labels.instance }})',
    description: `The {{ $labels.channel }} stream of {{ $labels.service }}/{{ $labels.instance }} from {{ $labels.exchange }} is connected (pongs arrive) but delivered no message for more than ${s.threshold} s: a stalled subscription.`,
  }),

  websocketLatency: (s) => ({
    title: 'Websocket latency high',
    queries: [
      series(
        'A',
        `SELECT ${connSamples.ts} AS time, ${connSamples.col('service')}, ${connSamples.col('instance')}, ${connSamples.col('exchange')}, ${connSamples.col('channel')}, ${connSamples.col('latency_ms_avg')}\n` +
          `FROM ${connSamples.name} WHERE $__timeFilter(${connSamples.ts}) ORDER BY time`,
        300,
      ),
    ],
    // Intervals without messages have no latency: dropped from the mean.
    condition: { kind: 'threshold', reduce: { reducer: 'mean', mode: 'dropNN' }, op: 'gt', params: [s.threshold] },
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: `{{ $labels.exchange }} {{ $labels.channel }}: websocket latency ${value('B')} ms (5 min mean)`,
    description: `Messages from {{ $labels.exchange }} ({{ $labels.channel }}) reach {{ $labels.service }}/{{ $labels.instance }} more than ${s.threshold} ms after the exchange sent them, on average over 5 minutes.`,
  }),

  writerLag: (s) => ({
    title: 'Writer lag',
    queries: [
      // The writer's health rows and, when the exporter scrapes the process, its live /metrics: whichever is newer.
      // Cut off from QuestDB the health rows wait in the backlog they describe; the scrapes do not (writer-evidence.ts).
      table('A', writerLagSql(), 300),
    ],
    condition: above(s.threshold),
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: '{{ $labels.service }}/{{ $labels.instance }}: oldest unacknowledged row is {{ printf "%.0f" $values.A.Value }} ms old',
    description: `The tradewatch writer of {{ $labels.service }}/{{ $labels.instance }} has rows older than ${s.threshold} ms that QuestDB has not acknowledged: QuestDB is down, slow or refusing writes, or unreachable from that process. Judged from its health rows and from the exporter's scrapes of its /metrics, whichever is newer.`,
  }),

  spoolFull: (s) => ({
    title: 'Writer spool filling up',
    queries: [
      // Its growth over the last hour projected to its bound: rate-independent, so it warns a writer at 2 rows/s
      // after days of outage and a busy one within minutes, each a threshold's hours before rows are given up.
      table('A', spoolHoursLeftSql(), 3600),
    ],
    condition: { kind: 'threshold', op: 'lt', params: [s.threshold] },
    // No scrapes (no exporter, no spool): nothing to project, nothing to say.
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: '{{ $labels.service }}/{{ $labels.instance }}: spool full in {{ printf "%.1f" $values.A.Value }} h',
    description: `The on-disk spool of {{ $labels.service }}/{{ $labels.instance }} reaches its bound (spool.maxBytes) in less than ${s.threshold} h at its growth of the last hour, or is full (within ${Math.round((1 - SPOOL_FULL_FRACTION) * 100)} % of it and not growing: 0 h): from then on the writer gives rows up. QuestDB has been unreachable or too slow for that long; writerLag reported the backlog when it started.`,
  }),

  questdbUnreachable: (s) => ({
    title: 'QuestDB unreachable',
    queries: [
      table(
        'A',
        // Reachable and the tradewatch schema in place: one of its tables is listed.
        `SELECT count() AS tradewatch_tables FROM tables() WHERE table_name = '${samples.name}'`,
        60,
      ),
    ],
    condition: { kind: 'threshold', op: 'lt', params: [s.threshold] },
    // The point of this rule: a failing query (QuestDB down, wrong credentials) fires it.
    noDataState: 'Alerting',
    execErrState: 'Alerting',
    summary: 'QuestDB cannot be queried by Grafana, or the tradewatch schema is missing',
    description:
      'The QuestDB datasource fails (QuestDB down, network, credentials) or tw_process_samples does not exist. Other rules keep their last state meanwhile; see docs/alerting.md.',
  }),

  // QuestDB's own WAL state from SQL (wal_tables()), not from the scraped metrics in tw_metrics: it is per table,
  // current at every evaluation, and needs neither the exporter nor fresh scrapes to judge (or to resolve).
  questdbWalSuspended: (s) => ({
    title: 'QuestDB table suspended',
    fast: true,
    queries: [table('A', `SELECT name AS table_name, CASE WHEN suspended THEN 1.0 ELSE 0.0 END AS suspended FROM wal_tables()`, 60)],
    condition: above(s.threshold),
    noDataState: 'OK',
    // QuestDB unreachable is questdbUnreachable's alert; this one keeps its state meanwhile.
    execErrState: 'KeepLast',
    summary: 'QuestDB table {{ $labels.table_name }} is suspended: WAL apply stopped (suspended = {{ printf "%.0f" $values.A.Value }})',
    description:
      'QuestDB suspended WAL table {{ $labels.table_name }}: writes are accepted but not applied. See errorTag/errorMessage in wal_tables(), fix the cause, then ALTER TABLE ... RESUME WAL.',
  }),

  questdbWalLag: (s) => ({
    title: 'QuestDB WAL apply lag',
    queries: [
      table(
        'A',
        // A suspended table is questdbWalSuspended's incident: 0 here, so one fault sends one alert.
        `SELECT name AS table_name, CASE WHEN suspended THEN 0.0 ELSE cast(sequencerTxn - writerTxn AS DOUBLE) END AS pending_txn FROM wal_tables()`,
        60,
      ),
    ],
    condition: above(s.threshold),
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: 'QuestDB table {{ $labels.table_name }}: {{ printf "%.0f" $values.A.Value }} WAL transactions not applied',
    description: `QuestDB has more than ${s.threshold} WAL transactions of {{ $labels.table_name }} waiting to be applied, for ${s.for}: its new rows become visible late.`,
  }),

  questdbDiskSize: (s) => ({
    title: 'QuestDB disk usage high',
    queries: [table('A', `SELECT sum(diskSize) / 1073741824.0 AS disk_gib FROM table_storage()`, 60)],
    condition: above(s.threshold),
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: 'QuestDB uses {{ printf "%.1f" $values.A.Value }} GiB of disk',
    description: `QuestDB's tables and views use more than ${s.threshold} GiB: the data outgrows its budget (questdbDiskFull warns of the space left on the volume).`,
  }),

  questdbDiskFull: (s) => {
    const name = metrics.col('name');
    const sumOf = (metric: string) => `sum(CASE WHEN ${name} = '${metric}' THEN ${metrics.col('value')} END)`;
    return {
      title: 'QuestDB disk nearly full',
      queries: [
        table(
          'A',
          // The exporter's latest statfs sample of the filesystem holding QuestDB's data (free and total, one
          // timestamp), per QuestDB and path. None when the exporter cannot see that directory: nothing to judge.
          `SELECT ${metrics.col('service')}, ${metrics.col('instance')}, ${metrics.col('labels')} AS path,\n` +
            `  100.0 - ${sumOf(QUESTDB_METRICS.diskFree)} * 100.0 / ${sumOf(QUESTDB_METRICS.diskTotal)} AS used_percent\n` +
            `FROM (SELECT ${metrics.ts}, ${metrics.col('service')}, ${metrics.col('instance')}, ${metrics.col('labels')}, ${name}, ${metrics.col('value')} FROM ${metrics.name}\n` +
            `  WHERE $__timeFilter(${metrics.ts}) AND ${name} IN ('${QUESTDB_METRICS.diskFree}', '${QUESTDB_METRICS.diskTotal}')\n` +
            `  LATEST ON ${metrics.ts} PARTITION BY ${metrics.col('service')}, ${metrics.col('instance')}, ${metrics.col('labels')}, ${name})\n` +
            `GROUP BY ${metrics.col('service')}, ${metrics.col('instance')}, ${metrics.col('labels')}`,
          600,
        ),
      ],
      condition: above(s.threshold),
      // Samples stopping (the exporter down) is no evidence that space was freed: the last state stands.
      noDataState: 'KeepLast',
      execErrState: 'KeepLast',
      summary: 'QuestDB {{ $labels.instance }}: its disk is {{ printf "%.1f" $values.A.Value }} % full',
      description: `The filesystem holding the data of QuestDB {{ $labels.instance }} ({{ $labels.path }}) is more than ${s.threshold} % full: when it fills, QuestDB suspends tables and writes stop.`,
    };
  },

  drawdown: (s) => ({
    title: 'Trading drawdown',
    queries: [
      table(
        'A',
        `SELECT ${pnl.col('strategy')}, ${pnl.col('run_id')}, ${pnl.col('mode')},\n` +
          `  (max(${pnl.col('equity')}) - last(${pnl.col('equity')})) * 100.0 / max(${pnl.col('equity')}) AS drawdown_percent\n` +
          `FROM ${pnl.name} WHERE $__timeFilter(${pnl.ts}) AND ${pnl.col('mode')} != ${pnl.lit('mode', 'backtest')} AND ${pnl.col('equity')} > 0\n` +
          `GROUP BY ${pnl.col('strategy')}, ${pnl.col('run_id')}, ${pnl.col('mode')}`,
        DAY_S,
      ),
    ],
    condition: above(s.threshold),
    noDataState: 'OK',
    execErrState: 'KeepLast',
    summary: '{{ $labels.strategy }} ({{ $labels.run_id }}, {{ $labels.mode }}): drawdown {{ printf "%.1f" $values.A.Value }} %',
    description: `Equity of {{ $labels.strategy }} run {{ $labels.run_id }} is more than ${s.threshold} % below its peak of the last 24 hours.`,
  }),

  orderRejectRate: (s) => {
    const submitted = `count_distinct(${orders.col('order_id')})`;
    const rejected = `sum(CASE WHEN ${orders.col('status')} = ${orders.lit('status', 'rejected')} THEN 1 ELSE 0 END)`;
    return {
      title: 'Order reject rate',
      queries: [
        table(
          'A',
          `SELECT ${orders.col('strategy')}, ${orders.col('run_id')}, ${orders.col('exchange')},\n` +
            `  CASE WHEN ${submitted} >= ${Number(s.minOrders)} THEN ${rejected} * 100.0 / ${submitted} ELSE 0.0 END AS reject_percent\n` +
            `FROM ${orders.name} WHERE $__timeFilter(${orders.ts}) AND ${orders.col('mode')} != ${orders.lit('mode', 'backtest')}\n` +
            `GROUP BY ${orders.col('strategy')}, ${orders.col('run_id')}, ${orders.col('exchange')}`,
          900,
        ),
      ],
      condition: above(s.threshold),
      noDataState: 'OK',
      execErrState: 'KeepLast',
      summary: '{{ $labels.strategy }} ({{ $labels.run_id }}) on {{ $labels.exchange }}: {{ printf "%.0f" $values.A.Value }} % of orders rejected',
      description: `More than ${s.threshold} % of the orders of {{ $labels.strategy }} run {{ $labels.run_id }} on {{ $labels.exchange }} were rejected in 15 minutes (at least ${Number(s.minOrders)} orders): balance, limits, or a broken order path.`,
    };
  },

  watchdog: () => ({
    title: 'Watchdog',
    queries: [table('A', 'SELECT 1.0 AS alive', 60)],
    condition: above(0),
    // Always firing, whatever QuestDB does: its absence at the dead-man's switch means Grafana's alerting is down.
    noDataState: 'Alerting',
    execErrState: 'Alerting',
    summary: 'tradewatch alerting is alive',
    description: "Always firing. Routed only to the dead-man's-switch webhook, which alarms when these stop arriving.",
  }),
};

/** REST channel: judged over this recent window (≥ the daemon's longest default fetch interval, 60 s). */
const REST_WINDOW_S = 60;
/** REST channel: failed fetches in the window before a failing exchange counts as down (a lone error does not). */
const REST_MIN_FAILED = 3;

/**
 * Seconds each (service, instance, exchange, channel) has been down at the end of the range, judged over the
 * tables' whole retention so that a connection that stays down keeps its evidence (and its alert) however long it
 * lasts: resolved only by evidence of health (a `connected` row, an ok fetch) or a clean stop of the process.
 *
 * Two sources, merged per channel by max:
 * - Connection state changes (websocket streams, and the daemon's own `rest` state for connectivity errors):
 *   0 when the latest change is `connected`, else since the first loss after the last `connected` (reconnect
 *   attempts do not restart the clock); never connected: since the first event.
 * - The exchange's fetches, as channel `rest`: a REST API that answers only errors (ccxt ExchangeError), times out
 *   or blocks is down even though nothing was "disconnected". Down when the latest fetch failed, no fetch succeeded
 *   in the last REST_WINDOW_S and at least REST_MIN_FAILED fetches failed in it (or none was attempted since: the
 *   last evidence stands); down since the last ok fetch. `rate_limited` is not a failure here (rateLimit reports
 *   it), and a single failing dataset is not either (the others keep succeeding; staleData reports it).
 */
const disconnectedThreshold = (s: RuleSettings) => exchangeThreshold(s, `d.${connEvents.col('exchange')}`);

function disconnectedQuery(s: RuleSettings): QuerySpec {
  const t = disconnectedThreshold(s);
  const keys = ['service', 'instance', 'exchange', 'channel'].map((k) => connEvents.col(k));
  const on = keys.map((k) => `e.${k} = u.${k}`).join(' AND ');
  const epoch = 'cast(0 AS TIMESTAMP)';
  const fkeys = ['service', 'instance', 'exchange'].map((k) => fetches.col(k));
  const fon = (a: string, b: string) => fkeys.map((k) => `${a}.${k} = ${b}.${k}`).join(' AND ');
  const failure = `${fetches.col('status')} IN (${(['error', 'timeout', 'blocked'] as const).map((v) => fetches.lit('status', v)).join(', ')})`;
  const latestFetch = (where: string, cols: string) =>
    `(SELECT ${fetches.ts}, ${cols} FROM ${fetches.name} WHERE $__timeFilter(${fetches.ts})${where}\n` +
    `    LATEST ON ${fetches.ts} PARTITION BY ${fkeys.join(', ')})`;
  const windowStart = `dateadd('s', -${REST_WINDOW_S}, $__toTime)`;
  const transport =
    `  SELECT ${keys.map((k) => `e.${k}`).join(', ')},\n` +
    `    CASE WHEN max(e.${connEvents.ts}) = max(u.up_ts) THEN 0.0\n` +
    `    ELSE ${secondsUntilTo(`min(CASE WHEN e.${connEvents.ts} > coalesce(u.up_ts, ${epoch}) THEN e.${connEvents.ts} END)`)} END AS down_s\n` +
    `  FROM ${connEvents.name} e\n` +
    `  LEFT JOIN (SELECT ${keys.join(', ')}, max(${connEvents.ts}) AS up_ts FROM ${connEvents.name}\n` +
    `    WHERE $__timeFilter(${connEvents.ts}) AND ${connEvents.col('state')} = ${connEvents.lit('state', 'connected')}) u ON ${on}\n` +
    `  WHERE $__timeFilter(e.${connEvents.ts})\n` +
    `  GROUP BY ${keys.map((k) => `e.${k}`).join(', ')}`;
  const rest =
    `  SELECT ${fkeys.map((k) => `l.${k}`).join(', ')}, 'rest' AS ${connEvents.col('channel')},\n` +
    `    CASE WHEN l.${failure} AND (o.${fetches.ts} IS NULL OR o.${fetches.ts} < ${windowStart}) AND (r.failed IS NULL OR r.failed >= ${REST_MIN_FAILED})\n` +
    `    THEN ${secondsUntilTo(`coalesce(o.${fetches.ts}, r.first_failed, l.${fetches.ts})`)} ELSE 0.0 END AS down_s\n` +
    `  FROM ${latestFetch('', `${fkeys.join(', ')}, ${fetches.col('status')}`)} l\n` +
    `  LEFT JOIN ${latestFetch(` AND ${fetches.col('status')} = ${fetches.lit('status', 'ok')}`, fkeys.join(', '))} o ON ${fon('l', 'o')}\n` +
    `  LEFT JOIN (SELECT ${fkeys.join(', ')}, sum(CASE WHEN ${failure} THEN 1 ELSE 0 END) AS failed, min(CASE WHEN ${failure} THEN ${fetches.ts} END) AS first_failed\n` +
    `    FROM ${fetches.name} WHERE ${fetches.ts} > ${windowStart} AND ${fetches.ts} <= $__toTime) r ON ${fon('l', 'r')}`;
  const dkeys = keys.map((k) => `d.${k}`);
  return table(
    'A',
    `SELECT ${dkeys.join(', ')}, ${t.value(`max(CASE WHEN ${stopped} THEN 0.0 ELSE d.down_s END)`)} AS disconnected_s\n` +
      `FROM (\n${transport}\n  UNION ALL\n${rest}\n) d\n` +
      `LEFT JOIN ${latestEvent()} ON d.${connEvents.col('service')} = e.${events.col('service')} AND d.${connEvents.col('instance')} = e.${events.col('instance')}\n` +
      `GROUP BY ${dkeys.join(', ')}`,
    Math.max(retentionS(connEvents), retentionS(fetches)),
  );
}

/** Every rule as configured (disabled ones too: they are provisioned paused). */
export function ruleSpecs(rules: Readonly<Record<RuleId, RuleSettings>>): (RuleSpec & { settings: RuleSettings })[] {
  return (Object.keys(RULE_DEFAULTS) as RuleId[]).map((id) => ({ id, settings: rules[id], ...BUILDERS[id](rules[id], rules) }));
}
