import { describeValue } from '../../common/errors.js';
import { schema } from '../../schema/index.js';
import type { RecorderContext } from '../context.js';
import { EVENT_KEYS } from './event-keys.js';
import { SdkInputError } from '../diagnostics.js';
import type { Family } from '../prometheus/families.js';
import { isLabelName, isMetricName, type Series } from '../prometheus/instruments.js';
import type { CustomMetric } from '../types.js';

/** Prefix of the SDK's own metrics; custom metrics may not use it, so they can never collide. */
const RESERVED_PREFIX = 'tradewatch_';
/** Bound on distinct custom metric names per monitor (each is a Prometheus family). */
const MAX_CUSTOM_METRICS = 1000;
/** Bound on distinct label sets per custom metric held in memory (running totals); beyond it calls are refused. */
const MAX_LABEL_SETS = 100_000;

interface Entry {
  /** Prometheus series; possibly a folded (`__other__`) one shared with other label sets. */
  readonly series: Series;
  /** Counters: the running total of this exact label set, which is what the QuestDB row stores. */
  total: number;
}

interface CustomFamily {
  readonly kind: 'gauge' | 'counter';
  /** Label names in the order of the Prometheus family (after `service`): sorted. */
  readonly labelNames: readonly string[];
  readonly labelKey: string;
  readonly labelSet: ReadonlySet<string>;
  readonly family: Family<Series>;
  /** By canonical label string. */
  readonly entries: Map<string, Entry>;
  /**
   * One-label families: canonical label string by label value, so a repeated value skips building (and hashing)
   * a new string. Bounded like `entries` (MAX_LABEL_SETS).
   */
  readonly canonicalByValue: Map<string, string> | undefined;
}

/**
 * Generic metrics for anything the domain methods do not cover: one tw_metrics row per call (labels in canonical
 * Prometheus form, sorted by name) and a Prometheus gauge or counter of the same name with `service` plus the given
 * labels. Counters take increments and store the running total, which is what tw_metrics means by a counter value.
 */
export class CustomRecorder {
  private readonly families = new Map<string, CustomFamily>();

  constructor(private readonly ctx: RecorderContext) {}

  metric(m: CustomMetric): void {
    try {
      this.ctx.event('metric', m, EVENT_KEYS.metric);
      const kind = m.kind ?? 'gauge';
      const value = m.value;
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new SdkInputError('value', `value must be a finite number, got ${describeValue(value)}`);
      if (kind === 'counter' && value < 0) throw new SdkInputError('value', `a counter takes increments ≥ 0, got ${value}`);
      const f = this.familyFor(m.name, kind, m.labels);
      const canonical = f.canonicalByValue === undefined ? canonicalLabels(f.labelNames, m.labels) : this.canonicalOne(f, m.labels![f.labelNames[0]!]!);
      let entry = f.entries.get(canonical);
      if (entry === undefined && f.entries.size >= MAX_LABEL_SETS) {
        throw new SdkInputError('labels', `metric ${m.name} has ${MAX_LABEL_SETS} label sets already; new ones are refused`);
      }
      const total = kind === 'counter' ? (entry?.total ?? 0) + value : value;
      const ok = this.ctx.write('metric', schema.metrics, {
        ts: this.ctx.ts(m.at),
        name: m.name,
        service: this.ctx.service,
        instance: this.ctx.instance,
        labels: canonical,
        kind,
        source: 'sdk',
        value: total,
      });
      if (!ok) return;
      if (entry === undefined) {
        const values = [this.ctx.service];
        for (const name of f.labelNames) values.push(m.labels![name]!);
        entry = { series: f.family.resolve(values), total: 0 };
        f.entries.set(canonical, entry);
      }
      entry.total = total;
      if (entry.series.folded) this.ctx.onFold(f.family);
      entry.series.value = kind === 'counter' ? entry.series.value + value : value;
    } catch (err) {
      this.ctx.diagnostics.invalid('metric', err);
    }
  }

  private canonicalOne(f: CustomFamily, value: string): string {
    let canonical = f.canonicalByValue!.get(value);
    if (canonical === undefined) {
      canonical = canonicalLabels(f.labelNames, { [f.labelNames[0]!]: value });
      if (f.canonicalByValue!.size < MAX_LABEL_SETS) f.canonicalByValue!.set(value, canonical);
    }
    return canonical;
  }

  private familyFor(name: unknown, kind: string, labels: Readonly<Record<string, string>> | undefined): CustomFamily {
    // Fast path for a known metric: compare the label names without sorting or allocating.
    const known = typeof name === 'string' ? this.families.get(name) : undefined;
    if (known !== undefined && known.kind === kind && sameLabels(known, labels)) return known;
    if (typeof name !== 'string' || !isMetricName(name)) throw new SdkInputError('name', `name must be a Prometheus metric name, got ${describeValue(name)}`);
    if (name.startsWith(RESERVED_PREFIX)) throw new SdkInputError('name', `the ${RESERVED_PREFIX} prefix is reserved for the SDK's own metrics, got ${name}`);
    if (kind !== 'gauge' && kind !== 'counter') throw new SdkInputError('kind', `kind must be gauge or counter, got ${describeValue(kind)}`);
    const labelNames = labels === undefined ? [] : Object.keys(labels).sort();
    for (const label of labelNames) {
      if (!isLabelName(label) || label === 'service' || label === 'le' || label === 'quantile') {
        throw new SdkInputError('labels', `label name ${JSON.stringify(label)} is not allowed (Prometheus label syntax; not service, le, quantile or __*)`);
      }
      const v = labels![label];
      if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new SdkInputError('labels', `label ${label} must be a non-empty string of at most 256 characters, got ${describeValue(v)}`);
    }
    const labelKey = labelNames.join(',');
    const existing = this.families.get(name);
    if (existing) {
      if (existing.kind !== kind || existing.labelKey !== labelKey) {
        throw new SdkInputError('labels', `metric ${name} was first recorded as a ${existing.kind} with labels (${existing.labelKey}); got a ${kind} with (${labelKey})`);
      }
      return existing;
    }
    if (this.families.size >= MAX_CUSTOM_METRICS) throw new SdkInputError('name', `more than ${MAX_CUSTOM_METRICS} custom metric names; ${name} refused`);
    let family: Family<Series>;
    try {
      family = this.ctx.metrics.family(name, kind, ['service', ...labelNames], labelNames, `Custom metric ${name} (tradewatch SDK).`) as Family<Series>;
    } catch (err) {
      throw new SdkInputError('name', (err as Error).message);
    }
    const created: CustomFamily = {
      kind,
      labelNames,
      labelKey,
      labelSet: new Set(labelNames),
      family,
      entries: new Map(),
      canonicalByValue: labelNames.length === 1 ? new Map() : undefined,
    };
    this.families.set(name, created);
    return created;
  }
}

/** True when `labels` has exactly the family's label names, each a valid value. */
function sameLabels(f: CustomFamily, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (labels === undefined) return f.labelNames.length === 0;
  let count = 0;
  for (const key in labels) {
    const v = labels[key];
    if (!f.labelSet.has(key) || typeof v !== 'string' || v.length === 0 || v.length > 256) return false;
    count++;
  }
  return count === f.labelNames.length;
}

const NEEDS_ESCAPE = /[\\"\n]/;

/** `a="1",b="x"`: label names sorted, values escaped as in the Prometheus text format. */
function canonicalLabels(names: readonly string[], labels: Readonly<Record<string, string>> | undefined): string {
  let out = '';
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    let value = labels![name]!;
    if (NEEDS_ESCAPE.test(value)) value = value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    out += (i > 0 ? ',' : '') + name + '="' + value + '"';
  }
  return out;
}
