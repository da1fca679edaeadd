import { sleepOn, type Clock, type Timer, type TimerOptions } from '../../packages/sdk/src/common/clock.js';

interface Pending {
  readonly id: number;
  due: number;
  readonly fn: () => void;
  readonly every: number | undefined;
}

/**
 * A Clock in virtual time for tests: nothing fires until the test advances it. advance() runs the due timers in
 * time order and lets the promise chains they start settle (a macrotask turn) before the next one, so async logic
 * driven by timers (a writer's pump, a daemon's schedule) makes progress as it would in real time.
 */
export class VirtualClock implements Clock {
  private current: number;
  private nextId = 1;
  private pending: Pending[] = [];

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.current = startMs;
  }

  now(): number {
    return this.current;
  }

  setTimeout(fn: () => void, ms: number, _options?: TimerOptions): Timer {
    return this.add(fn, Math.max(0, ms), undefined);
  }

  setInterval(fn: () => void, ms: number, _options?: TimerOptions): Timer {
    return this.add(fn, Math.max(1, ms), Math.max(1, ms));
  }

  sleep(ms: number, signal?: AbortSignal, options?: TimerOptions): Promise<boolean> {
    return sleepOn(this, ms, signal, options);
  }

  /** When the next timer fires (undefined: none pending). */
  get nextDue(): number | undefined {
    return this.earliest()?.due;
  }

  /** Timers waiting to fire. */
  get timerCount(): number {
    return this.pending.length;
  }

  /** Moves time forward by `ms`, firing every timer due on the way, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.current + ms;
    await settle();
    for (;;) {
      const next = this.earliest();
      if (next === undefined || next.due > end) break;
      this.current = Math.max(this.current, next.due);
      if (next.every === undefined) this.remove(next.id);
      else next.due += next.every;
      next.fn();
      await settle();
    }
    this.current = end;
    await settle();
  }

  /** Advances to the next timer and fires it (and whatever is due at the same time); false if none is pending. */
  async advanceToNext(): Promise<boolean> {
    const next = this.earliest();
    if (next === undefined) return false;
    await this.advance(Math.max(0, next.due - this.current));
    return true;
  }

  private add(fn: () => void, ms: number, every: number | undefined): Timer {
    const entry: Pending = { id: this.nextId++, due: this.current + ms, fn, every };
    this.pending.push(entry);
    return { cancel: () => this.remove(entry.id) };
  }

  private remove(id: number): void {
    this.pending = this.pending.filter((p) => p.id !== id);
  }

  private earliest(): Pending | undefined {
    let best: Pending | undefined;
    for (const p of this.pending) if (best === undefined || p.due < best.due || (p.due === best.due && p.id < best.id)) best = p;
    return best;
  }
}

/** Lets pending promise chains and I/O callbacks run: one macrotask turn. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
