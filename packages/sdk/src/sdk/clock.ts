import { performance } from 'node:perf_hooks';

/**
 * The SDK's time source: microseconds since the epoch (UTC), strictly increasing within one clock.
 *
 * Why strictly increasing: rows of one process instance are told apart by `ts` in the dedup keys, so two events in
 * the same microsecond would upsert each other. Bumping by 1 µs when a reading equals (or, after a wall-clock step
 * back, falls below) the previous one makes every row of the instance distinct.
 *
 * Why anchored to `performance.now()`: `Date.now()` has millisecond resolution only. The clock reads the monotonic
 * high-resolution timer on every call and re-anchors it to the wall clock once a second, so it follows NTP
 * corrections within a second while each reading costs one timer call.
 */
export class MicrosClock {
  private anchorWallUs = 0;
  private anchorHr = 0;
  private last = 0;

  constructor(
    private readonly wallMs: () => number = Date.now,
    private readonly hrMs: () => number = () => performance.now(),
  ) {
    this.reanchor(this.hrMs());
  }

  /** Now, in whole microseconds since the epoch; greater than every earlier reading of this clock. */
  now(): number {
    const hr = this.hrMs();
    if (hr - this.anchorHr >= 1000) this.reanchor(hr);
    let us = Math.floor(this.anchorWallUs + (hr - this.anchorHr) * 1000);
    if (us <= this.last) us = this.last + 1;
    this.last = us;
    return us;
  }

  /**
   * Pairs a wall-clock reading with the monotonic time it was taken at. The wall clock is read between two monotonic
   * readings and paired with their midpoint; a pair split by a descheduling (a busy machine) is read again, and the
   * tightest of a few tries kept: otherwise every reading until the next re-anchoring would be off by the delay.
   */
  private reanchor(hr: number): void {
    let best = Number.POSITIVE_INFINITY;
    let before = hr;
    for (let attempt = 0; attempt < 4 && best > 0.05; attempt++) {
      const wall = this.wallMs();
      const after = this.hrMs();
      if (after - before < best) {
        best = after - before;
        this.anchorHr = (before + after) / 2;
        this.anchorWallUs = wall * 1000;
      }
      before = this.hrMs();
    }
  }
}

/**
 * The SDK's one rule for caller-supplied times (`at`, `exchangeTime`, gap `start`/`end`, ...): a `Date`, or a number
 * of milliseconds since the epoch (what `Date.now()` and ccxt's `timestamp` fields give). Fractions of a millisecond
 * are kept to the microsecond. Anything else yields NaN, which the writer then refuses, naming the field.
 */
export function toMicros(value: Date | number): number {
  if (typeof value === 'number') return Math.round(value * 1000);
  if (value instanceof Date) return value.getTime() * 1000;
  return Number.NaN;
}

/** Like `toMicros`, but absent stays absent (null: the writer's "no value"). */
export function optionalMicros(value: Date | number | undefined | null): number | null {
  return value === undefined || value === null ? null : toMicros(value);
}
