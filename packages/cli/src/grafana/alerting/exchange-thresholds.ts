/**
 * Per-exchange thresholds (`alerts.rules.<rule>.exchangeThresholds`, `binanceusdm=30,bybit=60`) for the rules whose
 * instances carry an `exchange` label. Grafana's threshold expression compares every instance with one number, so
 * the exchange's own limit is applied in the rule's SQL, in a way that keeps the value the alert shows the rule's
 * real value (seconds, %) whenever it fires:
 *
 *   value > limit(exchange)  → value       (> floor, since floor is the smallest limit: fires, shows the value)
 *   otherwise                → min(value, floor)   (≤ floor: never fires)
 *
 * and the threshold expression compares with `floor`. Without overrides the SQL and the threshold are unchanged.
 */
import type { RuleSettings } from './config.js';

/** A number as a QuestDB DOUBLE literal. */
const double = (n: number) => (Number.isInteger(n) ? `${n}.0` : String(n));

export interface ExchangeThreshold {
  /** The value expression with the exchange's limit applied (the expression itself when there are no overrides). */
  readonly value: (expression: string) => string;
  /** The number the rule's threshold expression compares with. */
  readonly threshold: number;
  /** ` (binanceusdm: 30, bybit: 60)` for descriptions; empty without overrides. */
  readonly named: string;
}

export function exchangeThreshold(settings: RuleSettings, exchangeColumn: string): ExchangeThreshold {
  // Exchange ids are checked against EXCHANGE_ID (config.ts), so quoting them in SQL is safe.
  const overrides = Object.entries((settings.exchangeThresholds ?? {}) as Record<string, number>);
  if (overrides.length === 0) return { value: (e) => e, threshold: settings.threshold, named: '' };
  const floor = Math.min(settings.threshold, ...overrides.map(([, limit]) => limit));
  const limit = `CASE ${exchangeColumn} ${overrides.map(([id, n]) => `WHEN '${id}' THEN ${double(n)}`).join(' ')} ELSE ${double(settings.threshold)} END`;
  return {
    value: (e) => `CASE WHEN ${e} > ${limit} THEN ${e} WHEN ${e} < ${double(floor)} THEN ${e} ELSE ${double(floor)} END`,
    threshold: floor,
    named: ` (${overrides.map(([id, n]) => `${id}: ${n}`).join(', ')})`,
  };
}
