import { schema } from '../../schema/index.js';
import { optionalMicros, toMicros } from '../clock.js';
import { opt, type RecorderContext } from '../context.js';
import { EVENT_KEYS } from './event-keys.js';
import { SdkInputError } from '../diagnostics.js';
import { METRICS } from '../prometheus/catalog.js';
import type { HistogramSeries, Series } from '../prometheus/instruments.js';
import type { Cache1, Cache2, Cache3 } from '../prometheus/series-cache.js';
import type {
  DataGapEvent,
  FetchEvent,
  FundingRateEvent,
  LiquidationEvent,
  OpenInterestEvent,
  StorageSizeEvent,
} from '../types.js';

/** The two liquidation series of one unfolded label set; `value` stays undefined until a valueUsd > 0 arrives. */
interface LiquidationPair {
  readonly count: Series;
  value: Series | undefined;
}

/**
 * The data pipeline: fetch outcomes, data gaps, liquidations, storage size, and the market data rows themselves.
 * Each method writes its row first and updates metrics only when the row was accepted, so QuestDB and Prometheus
 * count the same events.
 */
export class PipelineRecorder {
  private readonly fetches: Cache3<Series>;
  private readonly fetchDuration: Cache2<HistogramSeries>;
  private readonly fetchRecords: Cache2<Series>;
  private readonly gaps: Cache2<Series>;
  private readonly gapSeconds: Cache2<Series>;
  private readonly liquidations: Cache3<Series>;
  private readonly liquidationValue: Cache3<Series>;
  /**
   * Both liquidation series of an unfolded (exchange, symbol, side) in one three-level look-up instead of one per
   * metric (the hot path of liquidation()). Bounded like the unfolded series themselves (maxSeries per metric).
   */
  private readonly liquidationPairs = new Map<string, Map<string, Map<string, LiquidationPair>>>();
  private readonly storageBytes: Cache1<Series>;
  private readonly storageFiles: Cache1<Series>;
  private readonly marketRows: Cache2<Series>;

  constructor(private readonly ctx: RecorderContext) {
    this.fetches = ctx.counter3(METRICS.fetches);
    this.fetchDuration = ctx.histogram2(METRICS.fetchDuration);
    this.fetchRecords = ctx.counter2(METRICS.fetchRecords);
    this.gaps = ctx.counter2(METRICS.dataGaps);
    this.gapSeconds = ctx.counter2(METRICS.dataGapSeconds);
    this.liquidations = ctx.counter3(METRICS.liquidations);
    this.liquidationValue = ctx.counter3(METRICS.liquidationValue);
    this.storageBytes = ctx.gauge1(METRICS.storageBytes);
    this.storageFiles = ctx.gauge1(METRICS.storageFiles);
    this.marketRows = ctx.counter2(METRICS.marketRows);
  }

  fetch(e: FetchEvent): void {
    try {
      this.ctx.event('fetch', e, EVENT_KEYS.fetch);
      if (typeof e.latencyMs === 'number' && e.latencyMs < 0) {
        throw new SdkInputError('latencyMs', `latencyMs must be ≥ 0 (a duration), got ${e.latencyMs}`);
      }
      const ok = this.ctx.write('fetch', schema.fetches, {
        ts: this.ctx.ts(e.at),
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        dataset: e.dataset,
        symbol: e.symbol,
        status: e.status,
        latency_ms: opt(e.latencyMs),
        records: opt(e.records),
      });
      if (!ok) return;
      this.fetches.get(e.exchange, e.dataset, e.status).value++;
      if (e.latencyMs !== undefined) this.fetchDuration.get(e.exchange, e.dataset).observe(e.latencyMs / 1000);
      if (e.records !== undefined && e.records > 0) this.fetchRecords.get(e.exchange, e.dataset).value += e.records;
    } catch (err) {
      this.ctx.diagnostics.invalid('fetch', err);
    }
  }

  dataGap(e: DataGapEvent): void {
    try {
      this.ctx.event('dataGap', e, EVENT_KEYS.dataGap);
      const start = toMicros(e.start);
      const end = toMicros(e.end);
      const duration = (end - start) / 1e6;
      const ok = this.ctx.write('dataGap', schema.dataGaps, {
        ts: this.ctx.ts(e.at),
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        dataset: e.dataset,
        symbol: e.symbol,
        gap_start: start,
        gap_end: end,
        duration_s: duration,
        reason: opt(e.reason),
      });
      if (!ok) return;
      this.gaps.get(e.exchange, e.dataset).value++;
      // A gap reported backwards still lands in QuestDB as given; it adds nothing to the seconds counter.
      if (duration > 0) this.gapSeconds.get(e.exchange, e.dataset).value += duration;
    } catch (err) {
      this.ctx.diagnostics.invalid('dataGap', err);
    }
  }

  liquidation(e: LiquidationEvent): void {
    try {
      this.ctx.event('liquidation', e, EVENT_KEYS.liquidation);
      const ok = this.ctx.write('liquidation', schema.liquidations, {
        ts: this.ctx.ts(e.at),
        service: this.ctx.service,
        instance: this.ctx.instance,
        exchange: e.exchange,
        symbol: e.symbol,
        side: e.side,
        price: e.price,
        amount: e.amount,
        value_usd: opt(e.valueUsd),
        exchange_ts: optionalMicros(e.exchangeTime),
      });
      if (!ok) return;
      const valueUsd = e.valueUsd;
      const pair = this.liquidationPairs.get(e.exchange)?.get(e.symbol)?.get(e.side);
      if (pair === undefined) {
        this.liquidationSlow(e.exchange, e.symbol, e.side, valueUsd);
        return;
      }
      pair.count.value++;
      if (valueUsd !== undefined && valueUsd > 0) {
        if (pair.value !== undefined) pair.value.value += valueUsd;
        else this.liquidationValueSlow(pair, e.exchange, e.symbol, e.side, valueUsd);
      }
    } catch (err) {
      this.ctx.diagnostics.invalid('liquidation', err);
    }
  }

  /**
   * A label set not in `liquidationPairs` yet: both metrics through their caches, exactly as for any other call
   * (series resolution, overflow folding and its counting). A pair is kept only for an unfolded count series, so
   * every call that lands on a folded series keeps going through the caches and is counted as folded.
   */
  private liquidationSlow(exchange: string, symbol: string, side: string, valueUsd: number | undefined): void {
    const count = this.liquidations.get(exchange, symbol, side);
    count.value++;
    let pair: LiquidationPair | undefined;
    if (!count.folded) {
      pair = { count, value: undefined };
      let bySymbol = this.liquidationPairs.get(exchange);
      if (bySymbol === undefined) this.liquidationPairs.set(exchange, (bySymbol = new Map()));
      let bySide = bySymbol.get(symbol);
      if (bySide === undefined) bySymbol.set(symbol, (bySide = new Map()));
      bySide.set(side, pair);
    }
    if (valueUsd !== undefined && valueUsd > 0) {
      if (pair !== undefined) this.liquidationValueSlow(pair, exchange, symbol, side, valueUsd);
      else this.liquidationValue.get(exchange, symbol, side).value += valueUsd;
    }
  }

  /**
   * The value series of a pair, resolved on the first liquidation with a positive valueUsd (never before: a label
   * set that only ever reports no value has no value series). Kept in the pair only when unfolded.
   */
  private liquidationValueSlow(pair: LiquidationPair, exchange: string, symbol: string, side: string, valueUsd: number): void {
    const value = this.liquidationValue.get(exchange, symbol, side);
    value.value += valueUsd;
    if (!value.folded) pair.value = value;
  }

  storageSize(e: StorageSizeEvent): void {
    try {
      this.ctx.event('storageSize', e, EVENT_KEYS.storageSize);
      const ok = this.ctx.write('storageSize', schema.storageSize, {
        ts: this.ctx.ts(e.at),
        service: this.ctx.service,
        instance: this.ctx.instance,
        store: e.store,
        bytes: e.bytes,
        files: opt(e.files),
      });
      if (!ok) return;
      this.storageBytes.get(e.store).value = e.bytes;
      if (e.files !== undefined) this.storageFiles.get(e.store).value = e.files;
    } catch (err) {
      this.ctx.diagnostics.invalid('storageSize', err);
    }
  }

  openInterest(e: OpenInterestEvent): void {
    try {
      this.ctx.event('openInterest', e, EVENT_KEYS.openInterest);
      const ok = this.ctx.write('openInterest', schema.openInterest, {
        ts: this.ctx.ts(e.at),
        exchange: e.exchange,
        symbol: e.symbol,
        service: this.ctx.service,
        open_interest: e.openInterest,
        open_interest_value: opt(e.openInterestValue),
      });
      if (ok) this.marketRows.get(e.exchange, 'open_interest').value++;
    } catch (err) {
      this.ctx.diagnostics.invalid('openInterest', err);
    }
  }

  fundingRate(e: FundingRateEvent): void {
    try {
      this.ctx.event('fundingRate', e, EVENT_KEYS.fundingRate);
      const ok = this.ctx.write('fundingRate', schema.fundingRates, {
        ts: this.ctx.ts(e.at),
        exchange: e.exchange,
        symbol: e.symbol,
        service: this.ctx.service,
        funding_rate: e.fundingRate,
        mark_price: opt(e.markPrice),
        index_price: opt(e.indexPrice),
        next_funding_ts: optionalMicros(e.nextFundingTime),
      });
      if (ok) this.marketRows.get(e.exchange, 'funding_rate').value++;
    } catch (err) {
      this.ctx.diagnostics.invalid('fundingRate', err);
    }
  }
}
