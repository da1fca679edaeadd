import { describeValue, isTradewatchError } from '../common/errors.js';
import type { Series } from './prometheus/instruments.js';
import type { Cache2 } from './prometheus/series-cache.js';

/** What the SDK logs through: pino's call shape (`logger.warn(context, message)`), so a pino instance fits as is. */
export interface SdkLogger {
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
  info?(context: object, message: string): void;
}

/** Bound on distinct (method, field) problems remembered for log-once; beyond it new problems are counted only. */
const MAX_DISTINCT_PROBLEMS = 1000;

/**
 * Invalid input never reaches the caller as an exception: each refused call is counted in
 * `tradewatch_sdk_invalid_calls_total{method,field}`, and the first occurrence of each (method, field) is logged with
 * the reason and the offending value. A stream of the same bad call therefore costs a counter increment, not a log
 * line per event.
 */
export class Diagnostics {
  private readonly seen = new Set<string>();
  private saturated = false;

  constructor(
    readonly logger: SdkLogger,
    private readonly invalidCalls: Cache2<Series>,
    private readonly context: Readonly<Record<string, string>>,
  ) {}

  /** Reports a refused call, naming the option the caller wrote (`latencyMs`), not the column (`latency_ms`). */
  invalid(method: string, err: unknown): void {
    try {
      let field = '(arguments)';
      let reason: string;
      if (isTradewatchError(err)) {
        const column = err.details.column;
        if (typeof column === 'string') field = fieldName(column);
        else if (err.code === 'TW_WRITER_CLOSED') field = '(writer)';
        reason = err.message;
      } else if (err instanceof SdkInputError) {
        field = err.field;
        reason = err.message;
      } else {
        reason = err instanceof Error ? err.message : describeValue(err);
      }
      this.invalidCalls.get(method, field).value++;
      this.once(`${method}\u0000${field}`, { method, field, reason }, `tradewatch: ${method}() call refused (${field}): ${reason}; further ${method}/${field} problems are only counted in tradewatch_sdk_invalid_calls_total`);
    } catch {
      // Reporting must never turn into an exception for the caller.
    }
  }

  /** Logs `message` the first time `key` is seen (bounded memory). */
  once(key: string, context: object, message: string): void {
    if (this.seen.has(key)) return;
    if (this.seen.size >= MAX_DISTINCT_PROBLEMS) {
      if (!this.saturated) {
        this.saturated = true;
        this.warn({}, `tradewatch: more than ${MAX_DISTINCT_PROBLEMS} distinct SDK problems; new ones are counted but no longer logged`);
      }
      return;
    }
    this.seen.add(key);
    this.warn(context, message);
  }

  warn(context: object, message: string): void {
    try {
      this.logger.warn({ ...this.context, ...context }, message);
    } catch {
      // A failing logger must not break recording.
    }
  }
}

/** An input problem the SDK itself detects (before the writer sees the row), naming the caller's field. */
export class SdkInputError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'SdkInputError';
  }
}

/** Columns whose SDK option is not simply the camelCase of the column name. */
const FIELD_NAMES: Readonly<Record<string, string>> = {
  ts: 'at',
  exchange_ts: 'exchangeTime',
  gap_start: 'start',
  gap_end: 'end',
  duration_s: 'end',
  next_funding_ts: 'nextFundingTime',
  retry_after_s: 'retryAfterSeconds',
};

function fieldName(column: string): string {
  return FIELD_NAMES[column] ?? column.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** A label value the SDK accepts without the writer's help: what QuestDB accepts as a SYMBOL. */
export function checkLabel(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 256) {
    throw new SdkInputError(field, `${field} must be a non-empty string of at most 256 characters, got ${describeValue(value)}`);
  }
  return value;
}
