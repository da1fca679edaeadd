import type { Ttl } from './types.js';

const HOURS_PER_UNIT: Record<string, number> = {
  HOUR: 1,
  DAY: 24,
  WEEK: 24 * 7,
  MONTH: 730,
  YEAR: 8760,
};

/**
 * A TTL's length in hours. QuestDB normalizes TTLs (14 DAYS reads back as 2 WEEK, 12 MONTHS as 1 YEAR), so
 * comparisons go through a common unit; a month counts as a twelfth of a year to make those two agree.
 */
export function ttlHours(value: number, unit: string): number {
  const singular = unit.toUpperCase().replace(/S$/, '');
  const hours = HOURS_PER_UNIT[singular];
  if (hours === undefined) throw new Error(`unknown TTL unit ${JSON.stringify(unit)}`);
  return value * hours;
}

export function sameTtl(a: Ttl, value: number, unit: string): boolean {
  return ttlHours(a.value, a.unit) === ttlHours(value, unit);
}
