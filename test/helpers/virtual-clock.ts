import { setImmediate as turn } from 'node:timers/promises';
import type { Clock } from '../../src/daemon/clock.js';

interface Pending {
  readonly id: number;
  readonly due: number;
  readonly run: () => void;
}

/**
 * Virtual time for the daemon: timers fire only when the test advances the clock, in due order, each seeing
 * now() = its due time. Network I/O (ccxt against the simulator) still takes real time; `drive` waits for it
 * between steps, so a window's fetches complete "inside" the window whatever the machine's load.
 */
export class VirtualClock implements Clock {
  readonly virtual = true;
  private pending: Pending[] = [];
  private seq = 0;

  constructor(private current: number) {}

  now(): number {
    return this.current;
  }

  setTimeout(run: () => void, ms: number): unknown {
    const timer = { id: ++this.seq, due: this.current + Math.max(0, ms), run };
    this.pending.push(timer);
    this.pending.sort((a, b) => a.due - b.due || a.id - b.id);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.pending = this.pending.filter((t) => t.id !== handle);
  }

  /** Due time of the next timer, if any. */
  nextDue(): number | undefined {
    return this.pending[0]?.due;
  }

  /** Fires the earliest timer (time jumps to its due time). */
  fireNext(): void {
    const next = this.pending.shift();
    if (!next) return;
    this.current = Math.max(this.current, next.due);
    next.run();
  }

  /** Sets the time without firing anything (only forward). */
  jumpTo(t: number): void {
    this.current = Math.max(this.current, t);
  }
}

/**
 * Advances `clock` to `to`, timer by timer. Before each step it waits until `busy()` reports no real work in flight
 * (REST requests to the simulator) for two consecutive event-loop turns, so every fetch a timer started has
 * finished, or is itself waiting on the virtual clock, before time moves on.
 */
export async function drive(clock: VirtualClock, to: number, busy: () => number, realTimeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + realTimeoutMs;
  const settle = async () => {
    let quiet = 0;
    while (quiet < 2) {
      await turn();
      if (busy() > 0) {
        quiet = 0;
        if (Date.now() > deadline) throw new Error(`drive: work still in flight after ${realTimeoutMs} ms at virtual ${new Date(clock.now()).toISOString()}`);
        await new Promise((resolve) => setTimeout(resolve, 2));
      } else quiet++;
    }
  };
  for (;;) {
    await settle();
    const next = clock.nextDue();
    if (next === undefined || next > to) break;
    clock.fireNext();
  }
  clock.jumpTo(to);
  await settle();
}
