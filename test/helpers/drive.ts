import type { VirtualClock } from './virtual-clock.js';

/**
 * Advances `clock` to `to`, timer by timer, for logic whose timers start real I/O (the daemon's fetches against the
 * simulator over loopback). Before each step it waits until `busy()` reports no such work in flight for two
 * consecutive event-loop turns, so everything a timer started has finished, or is itself waiting on the virtual
 * clock, before time moves on: a window's requests complete inside the window however loaded the machine is.
 */
export async function drive(clock: VirtualClock, to: number, busy: () => number, realTimeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + realTimeoutMs;
  const turn = () => new Promise<void>((resolve) => setImmediate(resolve));
  const quiet = async () => {
    let calm = 0;
    while (calm < 2) {
      await turn();
      if (busy() === 0) {
        calm++;
        continue;
      }
      calm = 0;
      if (Date.now() > deadline) throw new Error(`drive: work still in flight after ${realTimeoutMs} ms at virtual ${new Date(clock.now()).toISOString()}`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  };
  for (;;) {
    await quiet();
    const next = clock.nextDue;
    if (next === undefined || next > to) break;
    await clock.advance(Math.max(0, next - clock.now()));
  }
  await clock.advance(Math.max(0, to - clock.now()));
  await quiet();
}
