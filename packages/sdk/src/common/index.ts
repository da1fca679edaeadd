/** Shared by every part of tradewatch: coded errors, the three spellings of a setting, seeded randomness, the clock and the retry policy. */
export { TradewatchError, ErrorCodes, isTradewatchError, describeValue, type ErrorCode } from './errors.js';
export { envName, flagName } from './naming.js';
export { seededRandom } from './random.js';
export { systemClock, sleepOn, type Clock, type Timer, type TimerOptions } from './clock.js';
export { Backoff, backoffDelay, type RetrySettings } from './retry.js';
