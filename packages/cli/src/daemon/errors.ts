import ccxt from 'ccxt';
import type { FetchStatus } from '@tradewatch/sdk/sdk';

/** How the daemon treats a failed request or stream. */
export interface ErrorClass {
  /** `status` of the tw_fetches row. */
  readonly status: Exclude<FetchStatus, 'ok'>;
  /** `kind` of the tw_errors row: the ccxt error class (`RateLimitExceeded`, `RequestTimeout`, ...). */
  readonly kind: string;
  /** The exchange is unreachable or failing (not a refused request): the REST connection counts as down. */
  readonly connectivity: boolean;
}

/** Thrown by the daemon's own deadline (the rest of the window, or requestTimeoutMs), like ccxt's RequestTimeout. */
export class WindowDeadline extends Error {
  constructor(ms: number) {
    super(`no answer within ${Math.round(ms)} ms (the rest of the fetch window)`);
    this.name = 'RequestTimeout';
  }
}

export function kindOf(err: unknown): string {
  if (err instanceof Error) return err.constructor.name !== 'Error' ? err.constructor.name : err.name;
  return typeof err;
}

/**
 * ccxt's error hierarchy → fetch status. Order matters: RateLimitExceeded and RequestTimeout are NetworkErrors too.
 * DDoSProtection (HTTP 418 and some 429s) is a rate limit; OnMaintenance is an ExchangeNotAvailable.
 */
export function classify(err: unknown): ErrorClass {
  const kind = kindOf(err);
  if (err instanceof ccxt.RateLimitExceeded || err instanceof ccxt.DDoSProtection) return { status: 'rate_limited', kind, connectivity: false };
  if (err instanceof ccxt.RequestTimeout || err instanceof WindowDeadline) return { status: 'timeout', kind: 'RequestTimeout', connectivity: true };
  if (err instanceof ccxt.NetworkError) return { status: 'error', kind, connectivity: true };
  return { status: 'error', kind, connectivity: false };
}

/** Reads a header case-insensitively from ccxt's `last_response_headers` (keys are Capitalized-Dash-Case). */
export function header(headers: Record<string, unknown> | undefined, name: string): string | undefined {
  if (!headers) return undefined;
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === wanted && value !== undefined && value !== null) return String(value);
  }
  return undefined;
}

/**
 * Retry-After in seconds: the header (delta-seconds or an HTTP date), else a hint in the error message
 * (`retry after 12 s`, Binance's `banned until 1700000000000`). Undefined when nothing says.
 */
export function retryAfterSeconds(headers: Record<string, unknown> | undefined, err: unknown, now = Date.now()): number | undefined {
  const raw = header(headers, 'Retry-After');
  if (raw !== undefined) {
    const seconds = Number(raw);
    if (Number.isFinite(seconds) && seconds >= 0) return seconds;
    const date = Date.parse(raw);
    if (Number.isFinite(date)) return Math.max(0, (date - now) / 1000);
  }
  const message = err instanceof Error ? err.message : '';
  const banned = /banned until (\d{12,})/i.exec(message);
  if (banned) return Math.max(0, (Number(banned[1]) - now) / 1000);
  const hint = /retry[- ]after[":\s]*([\d.]+)/i.exec(message);
  if (hint) return Number(hint[1]);
  return undefined;
}

export function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
