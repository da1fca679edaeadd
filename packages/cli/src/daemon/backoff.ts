import { setTimeout as delay } from 'node:timers/promises';

// The retry policy is shared with the writer: one definition in common.
export { backoffDelay } from '@tradewatch/sdk/common';

/** Sleeps, or resolves early (false) when the signal aborts. Never rejects. */
export async function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await delay(Math.max(0, ms), undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
