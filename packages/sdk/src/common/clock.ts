/**
 * Time as a dependency. Logic that waits (flush timers, retry backoff, schedules, scrape intervals, reconnects)
 * takes a Clock instead of calling Date.now()/setTimeout itself, so that tests drive it in virtual time
 * (test/helpers/virtual-clock.ts) and do not depend on an idle machine. Production code uses `systemClock`.
 */
export interface Timer {
  /** Stops the timer; a no-op once it fired (setTimeout) or was cancelled. */
  cancel(): void;
}

export interface TimerOptions {
  /** Whether this timer alone keeps the process alive (Node's ref/unref). Default true, as in Node. */
  readonly keepAlive?: boolean;
}

export interface Clock {
  /** Wall-clock time: milliseconds since the epoch (UTC). */
  now(): number;
  /** Calls `fn` once, `ms` from now. */
  setTimeout(fn: () => void, ms: number, options?: TimerOptions): Timer;
  /** Calls `fn` every `ms` from now on, until cancelled. */
  setInterval(fn: () => void, ms: number, options?: TimerOptions): Timer;
  /** Resolves true after `ms`, or false as soon as `signal` aborts (at once if it has). Never rejects. */
  sleep(ms: number, signal?: AbortSignal, options?: TimerOptions): Promise<boolean>;
}

function nodeTimer(handle: NodeJS.Timeout, options: TimerOptions | undefined, clear: (h: NodeJS.Timeout) => void): Timer {
  if (options?.keepAlive === false) handle.unref();
  return { cancel: () => clear(handle) };
}

/** The real clock: Date.now() and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms, options) => nodeTimer(setTimeout(fn, Math.max(0, ms)), options, clearTimeout),
  setInterval: (fn, ms, options) => nodeTimer(setInterval(fn, Math.max(1, ms)), options, clearInterval),
  sleep: (ms, signal, options) => sleepOn(systemClock, ms, signal, options),
};

/** Clock.sleep in terms of Clock.setTimeout, for every Clock implementation. */
export function sleepOn(clock: Clock, ms: number, signal?: AbortSignal, options?: TimerOptions): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise<boolean>((resolve) => {
    const onAbort = () => {
      timer.cancel();
      resolve(false);
    };
    const timer = clock.setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(true);
      },
      ms,
      options,
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
