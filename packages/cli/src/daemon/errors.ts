import ccxt from 'ccxt';
import type { FetchStatus } from '@tradewatch/sdk/sdk';

/** How the daemon treats a failed request or stream. */
export interface ErrorClass {
  /** `status` of the tw_fetches row. */
  readonly status: Exclude<FetchStatus, 'ok'>;
  /**
   * The exchange refuses this client for a while: an IP ban (Binance 418, Binance's WAF 403, Bybit's 403 "access too
   * frequent") or a restricted region (HTTP 451; Bybit's CDN answers such regions 403 too). Requests are paused.
   */
  readonly block?: 'ban' | 'region';
  /** The HTTP status, when the error carries one. */
  readonly httpStatus?: number;
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

/** A usable answer that carries no value (e.g. an empty list): a failed fetch for gap purposes. */
export class EmptyResponse extends Error {
  constructor(what: string) {
    super(what);
    this.name = 'EmptyResponse';
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
  const httpStatus = httpStatusOf(err);
  if (httpStatus === 418 || httpStatus === 403) return { status: 'blocked', kind, connectivity: false, block: 'ban', httpStatus };
  if (httpStatus === 451) return { status: 'blocked', kind, connectivity: false, block: 'region', httpStatus };
  if (err instanceof ccxt.RateLimitExceeded || err instanceof ccxt.DDoSProtection) return { status: 'rate_limited', kind, connectivity: false };
  if (err instanceof ccxt.RequestTimeout || err instanceof WindowDeadline) return { status: 'timeout', kind: 'RequestTimeout', connectivity: true };
  if (err instanceof ccxt.NetworkError) return { status: 'error', kind, connectivity: true };
  return { status: 'error', kind, connectivity: false };
}

/**
 * The HTTP status in a ccxt error message: `binanceusdm 418 I'm a teapot {...}` (the exchange's own handler) or
 * `bybit GET https://... 403 Forbidden ...` (ccxt's generic one). Undefined for errors without one (HTTP 200 with an
 * error code, network failures).
 */
export function httpStatusOf(err: unknown): number | undefined {
  if (!(err instanceof ccxt.BaseError)) return undefined;
  const match = /^\S+ (?:[A-Z]+ \S+ )?([1-5]\d\d)(?: |$)/.exec(err.message);
  return match ? Number(match[1]) : undefined;
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
