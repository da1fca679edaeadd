import type { Metric, Registry } from 'prom-client';

/**
 * The SDK's own Prometheus instruments, registered in a caller's prom-client `Registry` and rendered by it.
 *
 * Why not prom-client's Counter/Gauge/Histogram directly: their label children (`counter.labels(...)`) keep no
 * state of their own; every `inc()` rebuilds the label-set hash string and re-validates the labels (~250 ns on a
 * small server), which alone would exceed the SDK's per-call budget. Here each label set is a `Series` object the
 * SDK holds on to, so recording is a property increment; prom-client gets finished values when it renders.
 * The objects below implement the contract a prom-client registry relies on (`name`, `help`, `type`, `aggregator`,
 * `get()`, `reset()`), so `registry.metrics()` and `registry.getMetricsAsJSON()` see them like any other metric.
 */

export type InstrumentKind = 'counter' | 'gauge' | 'histogram';

export type LabelSet = Readonly<Record<string, string>>;

/** One label set of a counter or gauge. */
export class Series {
  value = 0;
  constructor(
    readonly labels: LabelSet,
    /** True when the label set was folded by the overflow policy (see families.ts). */
    readonly folded: boolean,
  ) {}
}

/** One label set of a histogram: per-bucket counts (not cumulative; summed when rendered), sum and count. */
export class HistogramSeries {
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(
    readonly labels: LabelSet,
    readonly folded: boolean,
    private readonly bounds: Float64Array,
  ) {
    this.counts = new Float64Array(bounds.length);
  }

  observe(value: number): void {
    const bounds = this.bounds;
    // Values above the last bound only count in +Inf, which is `count`.
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }

  reset(): void {
    this.counts.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

interface SampleValue {
  value: number;
  labels: Record<string, string | number>;
  metricName?: string;
}

interface MetricSnapshot {
  name: string;
  help: string;
  type: InstrumentKind;
  values: SampleValue[];
  aggregator: 'sum';
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name) && !name.startsWith('__');
}

/** A metric family: a name, its label names, and one series per label set. */
export abstract class Instrument<S extends Series | HistogramSeries> {
  abstract readonly type: InstrumentKind;
  readonly aggregator = 'sum' as const;
  protected readonly series = new Map<string, S>();
  private readonly collectors: (() => void)[] = [];

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!isMetricName(name)) throw new Error(`invalid metric name ${JSON.stringify(name)}`);
    for (const label of labelNames) {
      if (!isLabelName(label) || label === 'le' || label === 'quantile') throw new Error(`${name}: invalid label name ${JSON.stringify(label)}`);
    }
  }

  get size(): number {
    return this.series.size;
  }

  /** The series for a label set (values in labelNames order), created on first use. Slow path: once per set. */
  seriesFor(values: readonly string[], folded: boolean): S {
    const key = values.join('\u0000');
    let s = this.series.get(key);
    if (s === undefined) {
      const labels: Record<string, string> = {};
      for (let i = 0; i < this.labelNames.length; i++) labels[this.labelNames[i]!] = values[i]!;
      s = this.create(labels, folded);
      this.series.set(key, s);
    }
    return s;
  }

  has(values: readonly string[]): boolean {
    return this.series.has(values.join('\u0000'));
  }

  /** Runs `fn` before every render, for values that are read rather than recorded (writer stats, uptime). */
  onCollect(fn: () => void): void {
    this.collectors.push(fn);
  }

  protected collect(): void {
    for (const fn of this.collectors) {
      try {
        fn();
      } catch {
        // A failing reader leaves the previous value; rendering must go on.
      }
    }
  }

  register(registry: Registry): void {
    // The registry's declared parameter type is the union of prom-client's classes; it only uses the members above.
    registry.registerMetric(this as unknown as Metric);
  }

  protected abstract create(labels: LabelSet, folded: boolean): S;
  abstract reset(): void;
  abstract get(): Promise<MetricSnapshot>;
}

/** Counters and gauges: one number per series. */
abstract class ScalarInstrument extends Instrument<Series> {
  protected create(labels: LabelSet, folded: boolean): Series {
    return new Series(labels, folded);
  }

  reset(): void {
    for (const s of this.series.values()) s.value = 0;
  }

  async get(): Promise<MetricSnapshot> {
    this.collect();
    const values: SampleValue[] = [];
    for (const s of this.series.values()) values.push({ value: s.value, labels: s.labels });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

export class CounterInstrument extends ScalarInstrument {
  readonly type = 'counter' as const;
}

export class GaugeInstrument extends ScalarInstrument {
  readonly type = 'gauge' as const;
}

export class HistogramInstrument extends Instrument<HistogramSeries> {
  readonly type = 'histogram' as const;
  private readonly bounds: Float64Array;

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    const sorted = [...buckets].sort((a, b) => a - b);
    if (sorted.length === 0 || sorted.some((b, i) => !Number.isFinite(b) || (i > 0 && b === sorted[i - 1]))) {
      throw new Error(`${name}: buckets must be distinct finite numbers`);
    }
    this.bounds = Float64Array.from(sorted);
  }

  protected create(labels: LabelSet, folded: boolean): HistogramSeries {
    return new HistogramSeries(labels, folded, this.bounds);
  }

  reset(): void {
    for (const s of this.series.values()) s.reset();
  }

  /** Same shape as prom-client's Histogram: cumulative `_bucket` samples with `le`, then `_sum` and `_count`. */
  async get(): Promise<MetricSnapshot> {
    this.collect();
    const values: SampleValue[] = [];
    const bucket = `${this.name}_bucket`;
    const sum = `${this.name}_sum`;
    const count = `${this.name}_count`;
    for (const s of this.series.values()) {
      let acc = 0;
      for (let i = 0; i < this.bounds.length; i++) {
        acc += s.counts[i]!;
        values.push({ value: acc, labels: { ...s.labels, le: this.bounds[i]! }, metricName: bucket });
      }
      values.push({ value: s.count, labels: { ...s.labels, le: '+Inf' }, metricName: bucket });
      values.push({ value: s.sum, labels: s.labels, metricName: sum });
      values.push({ value: s.count, labels: s.labels, metricName: count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}
