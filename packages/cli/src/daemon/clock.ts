import { systemClock, type Clock } from '@tradewatch/sdk/common';

/*
 * The daemon's time source is common's Clock (DaemonOptions.clock; systemClock in production). Schedules, retries,
 * pauses, stream timers and reconnect waits read it, so tests drive the daemon in virtual time.
 */
export { systemClock, type Clock, type Timer } from '@tradewatch/sdk/common';

/**
 * `{ at }` for an SDK event under a clock other than the system clock (a test's virtual time): rows then carry the
 * clock's time. Under the system clock nothing: the SDK stamps rows with its own microsecond clock.
 */
export const stamp = (clock: Clock): { at?: number } => (clock === systemClock ? {} : { at: clock.now() });
