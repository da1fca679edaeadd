// The retry policy is shared with the writer: one definition in common.
export { backoffDelay } from '@tradewatch/sdk/common';

/**
 * Sleepers per signal, woken by one abort listener per signal. Every concurrent wait adding its own listener (as
 * timers/promises does) put 20 on the daemon's signal (5 symbols x 2 datasets x 2 exchanges waiting out a
 * Retry-After together) and Node warned "MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]".
 */
const sleepers = new WeakMap<AbortSignal, Set<() => void>>();

/** Sleeps, or resolves early (false) when the signal aborts. Never rejects. Adds at most one listener per signal. */
export function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  let waiting = sleepers.get(signal);
  if (!waiting) {
    const set = new Set<() => void>();
    waiting = set;
    sleepers.set(signal, set);
    signal.addEventListener('abort', () => {
      for (const wake of [...set]) wake();
    }, { once: true });
  }
  const set = waiting;
  return new Promise<boolean>((resolve) => {
    const wake = () => {
      clearTimeout(timer);
      set.delete(wake);
      resolve(false);
    };
    const timer = setTimeout(() => {
      set.delete(wake);
      resolve(true);
    }, Math.max(0, ms));
    set.add(wake);
  });
}
