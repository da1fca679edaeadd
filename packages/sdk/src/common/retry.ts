/**
 * The one retry policy of tradewatch: the writer's probes of an unreachable QuestDB and the daemon's reconnects
 * (REST retries, websocket reconnects) back off the same way.
 *
 * Exponential with "equal jitter": attempt n waits min(max, initial · 2^(n−1)), half of it fixed and half random,
 * so many producers do not probe a recovering server in lockstep while each still waits at least half the step.
 */
export interface RetrySettings {
  /** Step of the first retry, ms; doubles per failure. */
  readonly initialDelayMs: number;
  /** The longest step, ms. */
  readonly maxDelayMs: number;
}

/** The pause before retry `attempt` (1 = after the first failure), in ms. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const step = Math.min(maxMs, baseMs * 2 ** Math.min(30, Math.max(0, attempt - 1)));
  return Math.round(step / 2 + random() * (step / 2));
}

/** Counts consecutive failures and yields the next pause; reset() on success. */
export class Backoff {
  private failures = 0;

  constructor(
    private readonly settings: RetrySettings,
    private readonly random: () => number = Math.random,
  ) {}

  /** Consecutive failures so far. */
  get attempts(): number {
    return this.failures;
  }

  /** Records a failure and returns how long to wait before the next attempt. */
  next(): number {
    this.failures++;
    return backoffDelay(this.failures, this.settings.initialDelayMs, this.settings.maxDelayMs, this.random);
  }

  reset(): void {
    this.failures = 0;
  }
}
