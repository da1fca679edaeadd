import type { Registry } from 'prom-client';
import { DEFAULT_MAX_SERIES, OTHER, type MetricDef } from './catalog.js';
import {
  CounterInstrument,
  GaugeInstrument,
  HistogramInstrument,
  type HistogramSeries,
  type Instrument,
  type InstrumentKind,
  type Series,
} from './instruments.js';

/**
 * A metric with its cardinality bound: the overflow policy lives here.
 *
 * Policy: a metric holds `maxSeries` label sets (default 2000, per registry, shared by every monitor using it).
 * Once it is full, a call with a label set it has not seen before is recorded under a folded set: its open-vocabulary
 * labels (the def's `fold` list, most specific first: symbol, then run_id, channel, exchange, strategy, ...) are
 * replaced by `__other__` one at a time, keeping as many as a reserve of extra folded series allows (10% of
 * maxSeries, at least 10): `{exchange="bybit", symbol="__other__"}` first, `{exchange="__other__",
 * symbol="__other__"}` when the reserve is used up too. Closed vocabularies (status, side, mode, state) and
 * `service` are never folded, so the worst case is bounded. Totals stay exact: counters and histograms add into the
 * folded series, and a folded gauge shows the last value any folded set reported. Every folded call adds 1 to
 * `tradewatch_sdk_series_overflow_total{metric}`, and the first fold of each metric is logged. Label sets seen before
 * the limit keep their own series. QuestDB rows always keep the real values.
 */
export class Family<S extends Series | HistogramSeries> {
  /** Label positions to fold, in folding order. */
  private readonly foldOrder: readonly number[];
  private readonly reserve: number;

  constructor(
    readonly instrument: Instrument<S>,
    readonly maxSeries: number,
    fold: readonly string[],
  ) {
    this.foldOrder = fold.map((l) => instrument.labelNames.indexOf(l)).filter((i) => i >= 0);
    this.reserve = Math.max(10, Math.floor(maxSeries / 10));
  }

  get name(): string {
    return this.instrument.name;
  }

  /** The series for a label set (values in label order). Slow path: callers cache what it returns. */
  resolve(values: readonly string[]): S {
    if (this.foldOrder.length === 0 || this.instrument.size < this.maxSeries || this.instrument.has(values)) {
      return this.instrument.seriesFor(values, false);
    }
    const folded = [...values];
    for (let k = 0; k < this.foldOrder.length; k++) {
      folded[this.foldOrder[k]!] = OTHER;
      const fullyFolded = k === this.foldOrder.length - 1;
      if (fullyFolded || this.instrument.has(folded) || this.instrument.size < this.maxSeries + this.reserve) {
        return this.instrument.seriesFor(folded, true);
      }
    }
    throw new Error('unreachable: the last stage always returns');
  }
}

type AnyInstrument = Instrument<Series> | Instrument<HistogramSeries>;

interface Entry {
  readonly family: Family<Series> | Family<HistogramSeries>;
  readonly kind: InstrumentKind;
  readonly labels: string;
}

/**
 * The SDK's instruments in one prom-client registry. Several monitors (one per service, say) may share a registry:
 * they share its instruments, told apart by the `service` label, and the series limit applies to the sum.
 */
export class RegistryMetrics {
  private static readonly byRegistry = new WeakMap<Registry, RegistryMetrics>();
  private readonly entries = new Map<string, Entry>();

  private constructor(
    readonly registry: Registry,
    readonly maxSeries: number,
  ) {}

  static for(registry: Registry, maxSeries = DEFAULT_MAX_SERIES): RegistryMetrics {
    let metrics = RegistryMetrics.byRegistry.get(registry);
    if (metrics === undefined) {
      metrics = new RegistryMetrics(registry, maxSeries);
      RegistryMetrics.byRegistry.set(registry, metrics);
    }
    return metrics;
  }

  counter(def: MetricDef): Family<Series> {
    return this.family(def.name, 'counter', def.labels, def.fold, def.help) as Family<Series>;
  }

  gauge(def: MetricDef): Family<Series> {
    return this.family(def.name, 'gauge', def.labels, def.fold, def.help) as Family<Series>;
  }

  histogram(def: MetricDef): Family<HistogramSeries> {
    return this.family(def.name, 'histogram', def.labels, def.fold, def.help, def.buckets) as Family<HistogramSeries>;
  }

  /**
   * Get or create a family. Throws (a configuration error, raised at createMonitor or on the first use of a custom
   * metric) when the name is taken in the registry by another metric or with other labels.
   */
  family(
    name: string,
    kind: InstrumentKind,
    labels: readonly string[],
    fold: readonly string[],
    help: string,
    buckets?: readonly number[],
  ): Family<Series> | Family<HistogramSeries> {
    const labelKey = labels.join(',');
    const existing = this.entries.get(name);
    if (existing) {
      if (existing.kind !== kind || existing.labels !== labelKey) {
        throw new Error(`metric ${name} is already registered as a ${existing.kind} with labels (${existing.labels}); asked for a ${kind} with (${labelKey})`);
      }
      return existing.family;
    }
    if (this.registry.getSingleMetric(name) !== undefined) {
      throw new Error(`metric ${name} is already registered in this registry by other code`);
    }
    const instrument: AnyInstrument =
      kind === 'counter'
        ? new CounterInstrument(name, help, labels)
        : kind === 'gauge'
          ? new GaugeInstrument(name, help, labels)
          : new HistogramInstrument(name, help, labels, buckets ?? []);
    instrument.register(this.registry);
    const family =
      kind === 'histogram'
        ? new Family(instrument as Instrument<HistogramSeries>, this.maxSeries, fold)
        : new Family(instrument as Instrument<Series>, this.maxSeries, fold);
    this.entries.set(name, { family, kind, labels: labelKey });
    return family;
  }
}
