import type { Row, Writer } from '../storage/index.js';
import type { TableDef } from '../schema/index.js';
import { toMicros, type MicrosClock } from './clock.js';
import type { Diagnostics } from './diagnostics.js';
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
  ) {
    this.prefix = [service];
  }

  /** Row timestamp: the caller's `at` (Date or ms since epoch) taken as is, else the SDK's strictly increasing clock. */
  ts(at: TimeInput | undefined): number {
    return at === undefined ? this.clock.now() : toMicros(at);
  }

  /**
   * Writes a row; on invalid input reports the call and returns false, so the caller skips the metrics and both
   * outputs stay consistent (a refused row is counted nowhere but in tradewatch_sdk_invalid_calls_total).
   */
  write(method: string, table: TableDef, row: Row): boolean {
    try {
      this.writer.write(table, row);
      return true;
    } catch (err) {
      this.diagnostics.invalid(method, err);
      return false;
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
