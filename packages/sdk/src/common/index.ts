/** Shared by every part of tradewatch: coded errors, the three spellings of a setting, seeded randomness. */
export { TradewatchError, ErrorCodes, isTradewatchError, describeValue, type ErrorCode } from './errors.js';
export { envName, flagName } from './naming.js';
export { booleanSetting } from './settings.js';
export { seededRandom } from './random.js';
