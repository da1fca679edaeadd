import { ErrorCodes, TradewatchError, describeValue } from '../common/errors.js';
import type { Row, Writer } from '../storage/index.js';
import type { TableDef, Ttl } from '../schema/index.js';
import { ttlHours } from '../schema/index.js';
import { toMicros, type MicrosClock } from './clock.js';
import { SdkInputError, type Diagnostics } from './diagnostics.js';
import type { MetricDef } from './prometheus/catalog.js';
import type { RegistryMetrics } from './prometheus/families.js';
import type { HistogramSeries, Series } from './prometheus/instruments.js';
import { Cache0, Cache1, Cache2, Cache3, type OnFold } from './prometheus/series-cache.js';

/** The part of the storage writer the SDK uses; an injected writer only needs these (backpressure is optional). */
export type MonitorWriter = Pick<Writer, 'write' | 'flush' | 'close' | 'stats'> & Partial<Pick<Writer, 'needDrain' | 'drained'>>;

/** Caller-supplied time: a Date, or milliseconds since the epoch. */
export type TimeInput = Date | number;

/** What every domain recorder shares: identity, the two outputs, the clock and the diagnostics. */
export class RecorderContext {
  /** `service` is the first label of every SDK series; caches start from it. */
  private readonly prefix: readonly string[];

  constructor(
    readonly service: string,
    readonly instance: string,
    readonly writer: MonitorWriter,
    readonly clock: MicrosClock,
    readonly diagnostics: Diagnostics,
    readonly metrics: RegistryMetrics,
    readonly onFold: OnFold,
    private readonly retention: Readonly<Record<string, Ttl>> = {},
  ) {
    this.prefix = [service];
  }

  /** Oldest `ts` each table keeps (its TTL in µs), computed once per table. */
  private readonly ttlMicros = new Map<TableDef, number>();
  /** Unknown event keys already reported, per method. */
  private readonly unknownKeys = new Set<string>();

  /**
   * Row timestamp: the caller's `at` (Date or ms since epoch) taken as is, else (absent or null, as JavaScript
   * callers spell "none") the SDK's strictly increasing clock.
   */
  ts(at: TimeInput | undefined | null): number {
    if (at === undefined || at === null) return this.clock.now();
    if (typeof at !== 'number' && !(at instanceof Date)) {
      throw new SdkInputError('at', `at must be a Date or milliseconds since the epoch, got ${describeValue(at)}`);
    }
    return toMicros(at);
  }

  /**
   * The event argument of `method`: refused unless it is an object (a call without one would otherwise fail with
   * a TypeError about reading a property of undefined), and each key the method does not know (a typo such as
   * `latency_ms` for `latencyMs`, silently ignored otherwise) is reported once per method and key.
   */
  event<T>(method: string, e: T, known: ReadonlySet<string>): T {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) {
      throw new SdkInputError('(event)', `${method}() takes an event object ({ ${[...known].slice(0, 4).join(', ')}, … }), got ${describeValue(e)}`);
    }
    for (const key in e) {
      if (!known.has(key)) this.reportUnknownKey(method, key, known);
    }
    return e;
  }

  private reportUnknownKey(method: string, key: string, known: ReadonlySet<string>): void {
    const id = `${method}\u0000${key}`;
    if (this.unknownKeys.has(id) || this.unknownKeys.size >= 1000) return;
    this.unknownKeys.add(id);
    this.diagnostics.warn(
      { method, key },
      `tradewatch: ${method}() ignores the unknown key ${JSON.stringify(key)} (known: ${[...known].join(', ')}); reported once per method and key`,
    );
  }

  /**
   * Writes a row; on invalid input reports the call and returns false, so the caller skips the metrics and both
   * outputs stay consistent (a refused row is counted nowhere but in tradewatch_sdk_invalid_calls_total).
   */
  write(method: string, table: TableDef, row: Row): boolean {
    try {
      this.checkRow(table, row);
      this.writer.write(table, row);
      return true;
    } catch (err) {
      this.diagnostics.invalid(method, err);
      return false;
    }
  }

  /**
   * What the writer would accept but the SDK must not: a BigInt (stored, then unusable for the metrics, so the two
   * outputs would disagree), and a timestamp QuestDB's TTL would delete at once (older than the table keeps; most
   * often seconds passed as milliseconds, which lands in 1970).
   */
  private checkRow(table: TableDef, row: Row): void {
    for (const column in row) {
      if (typeof row[column] === 'bigint') {
        throw new TradewatchError(ErrorCodes.INVALID_VALUE, `${table.name}.${column} must be a number, got ${String(row[column])}n (a BigInt)`, { table: table.name, column, value: String(row[column]) });
      }
    }
    const ts = row[table.timestamp];
    if (typeof ts !== 'number') return;
    let keep = this.ttlMicros.get(table);
    if (keep === undefined) {
      const ttl = this.retention[table.name] ?? table.ttl;
      keep = ttlHours(ttl.value, ttl.unit) * 3600e6;
      this.ttlMicros.set(table, keep);
    }
    if (ts < Date.now() * 1000 - keep) {
      const when = Number.isFinite(ts) && Math.abs(ts) < 8.64e18 ? new Date(ts / 1000).toISOString() : String(ts);
      const hint = ts < 946_684_800e6 ? ' (a time in seconds where milliseconds are expected?)' : '';
      throw new TradewatchError(
        ErrorCodes.INVALID_VALUE,
        `${table.name}.${table.timestamp} is ${when}, older than the table keeps (TTL ${keep / 3600e6} hours): QuestDB would delete the row${hint}`,
        { table: table.name, column: table.timestamp, value: ts },
      );
    }
  }

  counter0(def: MetricDef, prefix = this.prefix): Cache0<Series> {
    return new Cache0(this.metrics.counter(def), prefix, this.onFold);
  }
  counter1(def: MetricDef, prefix = this.prefix): Cache1<Series> {
    return new Cache1(this.metrics.counter(def), prefix, this.onFold);
  }
  counter2(def: MetricDef, prefix = this.prefix): Cache2<Series> {
    return new Cache2(this.metrics.counter(def), prefix, this.onFold);
  }
  counter3(def: MetricDef, prefix = this.prefix): Cache3<Series> {
    return new Cache3(this.metrics.counter(def), prefix, this.onFold);
  }
  gauge0(def: MetricDef, prefix = this.prefix): Cache0<Series> {
    return new Cache0(this.metrics.gauge(def), prefix, this.onFold);
  }
  gauge1(def: MetricDef, prefix = this.prefix): Cache1<Series> {
    return new Cache1(this.metrics.gauge(def), prefix, this.onFold);
  }
  gauge2(def: MetricDef, prefix = this.prefix): Cache2<Series> {
    return new Cache2(this.metrics.gauge(def), prefix, this.onFold);
  }
  histogram2(def: MetricDef, prefix = this.prefix): Cache2<HistogramSeries> {
    return new Cache2(this.metrics.histogram(def), prefix, this.onFold);
  }
}

/** Absent optional values become null, which the writer reads as "no value" without its slower unknown-key check. */
export function opt<T>(value: T | undefined): T | null {
  return value === undefined ? null : value;
}
