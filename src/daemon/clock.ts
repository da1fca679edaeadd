/**
 * The daemon's time source: wall-clock readings and timers. Production uses the system clock; tests inject a
 * virtual one and drive the schedule window by window, so what they check does not depend on how busy the
 * machine is. Kept minimal so that it can be swapped for the shared clock of src/common once that exists.
 */
export interface Clock {
  /** Milliseconds since the epoch (UTC). */
  now(): number;
  /** Runs `run` once after `ms`; the handle goes to clearTimeout. */
  setTimeout(run: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /**
   * True for a clock that is not the wall clock (a test's virtual time): the daemon then stamps its rows with the
   * clock's readings itself, instead of leaving `ts` to the SDK's microsecond wall clock.
   */
  readonly virtual?: boolean;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (run, ms) => setTimeout(run, Math.max(0, ms)),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout | undefined),
};

/** `{ at }` for the SDK event of a virtual clock; nothing for the wall clock (the SDK stamps in microseconds). */
export const stamp = (clock: Clock): { at?: number } => (clock.virtual ? { at: clock.now() } : {});

/** Sleeps on the clock, or resolves early (false) when the signal aborts. Never rejects; leaves no listener behind. */
export function sleepOn(clock: Clock, ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      clock.clearTimeout(handle);
      resolve(false);
    };
    const handle = clock.setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve(true);
    }, Math.max(0, ms));
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** A repeating timer on the clock (setInterval's equivalent); stop() cancels it. */
export function every(clock: Clock, ms: number, run: () => void): { stop(): void } {
  let handle: unknown;
  let stopped = false;
  const arm = () => {
    handle = clock.setTimeout(() => {
      if (stopped) return;
      arm();
      run();
    }, ms);
  };
  arm();
  return {
    stop: () => {
      stopped = true;
      clock.clearTimeout(handle);
    },
  };
}
