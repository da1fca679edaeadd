/**
 * Setting types that every part's zod config schema shares (the lowest part of the CLI: it imports only zod).
 * They live in the CLI, not in the SDK's common, so that the SDK does not depend on zod.
 */
export { booleanSetting } from './boolean-setting.js';
