import type { Family } from './families.js';
import type { HistogramSeries, Series } from './instruments.js';

/** Called for every recording that landed on a folded (`__other__`) series. */
export type OnFold = (family: { readonly name: string; readonly maxSeries: number }) => void;

/**
 * Per-monitor caches from label values to series, so the hot path does a few Map look-ups on the caller's own
 * strings (no key string is built, nothing is allocated) and then increments a number.
 *
 * A cache has fixed leading label values (`service`, and for a strategy handle strategy/run_id/mode) and one nested
 * Map level per varying label. Entries for folded label sets are memoised only up to a bound, so a caller sending
 * unbounded distinct symbols cannot grow the cache without limit; beyond it, those calls take the slow path.
 */
abstract class CacheBase<S extends Series | HistogramSeries> {
  protected entries = 0;
  private readonly memoLimit: number;

  constructor(
    protected readonly family: Family<S>,
    protected readonly prefix: readonly string[],
    private readonly onFold: OnFold,
  ) {
    this.memoLimit = family.maxSeries * 2;
  }

  protected resolve(values: readonly string[]): { series: S; memo: boolean } {
    const series = this.family.resolve(this.prefix.length ? [...this.prefix, ...values] : values);
    const memo = !series.folded || this.entries < this.memoLimit;
    if (memo) this.entries++;
    return { series, memo };
  }

  protected hit(series: S): S {
    if (series.folded) this.onFold(this.family);
    return series;
  }
}

export class Cache0<S extends Series | HistogramSeries> extends CacheBase<S> {
  private series: S | undefined;

  get(): S {
    return this.hit((this.series ??= this.resolve([]).series));
  }
}

export class Cache1<S extends Series | HistogramSeries> extends CacheBase<S> {
  private readonly root = new Map<string, S>();

  get(a: string): S {
    const s = this.root.get(a);
    return this.hit(s ?? this.miss(a));
  }

  private miss(a: string): S {
    const { series, memo } = this.resolve([a]);
    if (memo) this.root.set(a, series);
    return series;
  }
}

export class Cache2<S extends Series | HistogramSeries> extends CacheBase<S> {
  private readonly root = new Map<string, Map<string, S>>();

  get(a: string, b: string): S {
    const s = this.root.get(a)?.get(b);
    return this.hit(s ?? this.miss(a, b));
  }

  private miss(a: string, b: string): S {
    const { series, memo } = this.resolve([a, b]);
    if (memo) {
      let level = this.root.get(a);
      if (level === undefined) this.root.set(a, (level = new Map()));
      level.set(b, series);
    }
    return series;
  }
}

export class Cache3<S extends Series | HistogramSeries> extends CacheBase<S> {
  private readonly root = new Map<string, Map<string, Map<string, S>>>();

  get(a: string, b: string, c: string): S {
    const s = this.root.get(a)?.get(b)?.get(c);
    return this.hit(s ?? this.miss(a, b, c));
  }

  private miss(a: string, b: string, c: string): S {
    const { series, memo } = this.resolve([a, b, c]);
    if (memo) {
      let l1 = this.root.get(a);
      if (l1 === undefined) this.root.set(a, (l1 = new Map()));
      let l2 = l1.get(b);
      if (l2 === undefined) l1.set(b, (l2 = new Map()));
      l2.set(c, series);
    }
    return series;
  }
}
