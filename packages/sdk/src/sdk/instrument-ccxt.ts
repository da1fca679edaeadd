import type { FetchStatus, Monitor } from './types.js';

/**
 * ccxt auto-instrumentation: `instrumentCcxt(exchange, monitor)` wraps a ccxt (or ccxt.pro) exchange instance the
 * caller created, in place, so that
 * - every REST call (`fetch*`, `create*`, `cancel*`, `edit*`) records a tw_fetches row: the dataset from the method
 *   (`fetchOpenInterest` → `open_interest`), the symbol argument (`*` for exchange-wide calls), latency, a status
 *   from ccxt's error classes, the records returned; a failure also records a tw_errors row, and the response's
 *   rate-limit headers a tw_rate_limits row;
 * - every `watch*` call (ccxt.pro's websocket loops) counts a message on its channel (the dataset), with the
 *   exchange time for latency when the result carries one; the first message after start or after a network failure
 *   records `connected` (the monitor computes the downtime), a network failure records `disconnected`.
 *
 * It does not import ccxt (the SDK does not depend on it): errors are classified by ccxt's class names along the
 * prototype chain (its hierarchy). The call itself is unchanged: same result, same exception. Recording never throws.
 * The Python SDK's `instrument_ccxt` does the same (packages/python/src/tradewatch/instrument.py).
 */

const REST = /^(fetch|create|cancel|edit)[A-Z]/;
const WATCH = /^watch[A-Z]/;
/** ccxt's own machinery behind every call: not datasets. */
const PLUMBING = new Set(['watchMultiple', 'watchTopics']);
const KNOWN_QUOTAS: Readonly<Record<string, number>> = { binanceusdm: 2400, binancecoinm: 2400, binance: 6000 };
const MARK = Symbol.for('tradewatch.instrumented');

/** `fetchOpenInterest` → `open_interest`; `watchLiquidationsForSymbols` → `liquidations`. */
export function datasetOf(method: string): string {
  const name = method
    .replace(/^(fetch|watch)/, '')
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/^_/, '')
    .replace(/_for_symbols$/, '');
  return name || method;
}

/** The class names of an error and its ancestors (ccxt: `RateLimitExceeded` → `NetworkError` → `BaseError` ...). */
function classNames(err: unknown): Set<string> {
  const names = new Set<string>();
  let proto: unknown = typeof err === 'object' && err !== null ? Object.getPrototypeOf(err) : undefined;
  while (proto && proto !== Object.prototype) {
    const ctor = (proto as { constructor?: { name?: string } }).constructor;
    if (ctor?.name) names.add(ctor.name);
    proto = Object.getPrototypeOf(proto);
  }
  const own = (err as { name?: unknown })?.name;
  if (typeof own === 'string') names.add(own);
  return names;
}

export interface CcxtErrorClass {
  readonly status: Exclude<FetchStatus, 'ok'>;
  readonly kind: string;
  /** A connectivity problem (the connection state changes), not a refusal of the request. */
  readonly connectivity: boolean;
}

/** ccxt's error hierarchy → fetch status; RateLimitExceeded and RequestTimeout are NetworkErrors too, so first. */
export function classifyCcxtError(err: unknown): CcxtErrorClass {
  const names = classNames(err);
  const kind = (err as { constructor?: { name?: string } })?.constructor?.name || (err as { name?: string })?.name || 'Error';
  if (names.has('RateLimitExceeded') || names.has('DDoSProtection')) return { status: 'rate_limited', kind, connectivity: false };
  if (names.has('RequestTimeout')) return { status: 'timeout', kind: 'RequestTimeout', connectivity: true };
  if (names.has('NetworkError')) return { status: 'error', kind, connectivity: true };
  return { status: 'error', kind, connectivity: false };
}

const num = (raw: unknown): number | undefined => {
  if (raw === undefined || raw === null || String(raw).trim() === '') return undefined;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
};

/** Rate-limit budget from response headers, as the reference daemon reads them. */
export function readRateLimitHeaders(exchangeId: string, headers: Record<string, unknown> | undefined): { used?: number; quota?: number; retryAfterSeconds?: number } {
  if (!headers) return {};
  const h: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(headers)) h[k.toLowerCase()] = v;
  const retryAfterSeconds = num(h['retry-after']);
  const binance = num(h['x-mbx-used-weight-1m']) ?? num(h['x-mbx-used-weight']);
  if (binance !== undefined) return { used: binance, quota: KNOWN_QUOTAS[exchangeId], retryAfterSeconds };
  const remaining = num(h['x-bapi-limit-status']);
  const limit = num(h['x-bapi-limit']);
  if (remaining !== undefined) return limit !== undefined ? { used: Math.max(0, limit - remaining), quota: limit, retryAfterSeconds } : { retryAfterSeconds };
  const quota = num(h['x-ratelimit-limit']);
  const used = num(h['x-ratelimit-used']);
  const left = num(h['x-ratelimit-remaining']);
  if (used !== undefined) return { used, quota, retryAfterSeconds };
  if (quota !== undefined && left !== undefined) return { used: Math.max(0, quota - left), quota, retryAfterSeconds };
  return { retryAfterSeconds };
}

type AnyFn = (...args: unknown[]) => unknown;

/** Wraps the instance's REST and watch methods in place (idempotent) and returns it. */
export function instrumentCcxt<E extends object>(exchange: E, monitor: Monitor, options: { exchangeId?: string } = {}): E {
  const target = exchange as E & Record<string | symbol, unknown>;
  if (target[MARK]) return exchange;
  const id = options.exchangeId ?? String((target as { id?: unknown }).id ?? 'unknown');
  const up = new Map<string, boolean>();

  const restDone = (method: string, args: unknown[], started: number, result: unknown, err: unknown, failed: boolean) => {
    try {
      const latencyMs = performance.now() - started;
      const first = args[0];
      const symbol = typeof first === 'string' && first.length > 0 ? first : '*';
      const dataset = datasetOf(method);
      let throttled = false;
      if (!failed) {
        const records = Array.isArray(result) ? result.length : result === undefined || result === null ? 0 : 1;
        monitor.fetch({ exchange: id, dataset, symbol, status: 'ok', latencyMs, records });
      } else {
        const c = classifyCcxtError(err);
        throttled = c.status === 'rate_limited';
        monitor.fetch({ exchange: id, dataset, symbol, status: c.status, latencyMs });
        monitor.error(err, { component: 'rest', exchange: id, kind: c.kind });
      }
      const rl = readRateLimitHeaders(id, target.last_response_headers as Record<string, unknown> | undefined);
      if (rl.used !== undefined || throttled) {
        monitor.rateLimit({ exchange: id, used: rl.used, quota: rl.quota, throttled, retryAfterSeconds: throttled ? rl.retryAfterSeconds : undefined });
      }
    } catch {
      // Recording never throws into the caller.
    }
  };

  const watchDone = (method: string, result: unknown, err: unknown, failed: boolean) => {
    try {
      const channel = datasetOf(method);
      if (!failed) {
        if (!up.get(channel)) {
          up.set(channel, true);
          monitor.connectionState({ exchange: id, channel, state: 'connected' });
        }
        const items = Array.isArray(result) ? result : [result];
        for (const item of items.length ? items : [undefined]) {
          const ts = (item as { timestamp?: unknown } | undefined)?.timestamp;
          monitor.message(id, channel, typeof ts === 'number' ? ts : undefined);
        }
        return;
      }
      const c = classifyCcxtError(err);
      monitor.error(err, { component: 'websocket', exchange: id, kind: c.kind });
      if (c.connectivity && up.get(channel) !== false) {
        up.set(channel, false);
        monitor.connectionState({ exchange: id, channel, state: 'disconnected', reason: String((err as Error)?.message ?? c.kind).slice(0, 500) });
      }
    } catch {
      // Recording never throws into the caller.
    }
  };

  const names = new Set<string>();
  for (let proto = Object.getPrototypeOf(target); proto && proto !== Object.prototype; proto = Object.getPrototypeOf(proto)) {
    for (const name of Object.getOwnPropertyNames(proto)) if ((REST.test(name) || WATCH.test(name)) && !PLUMBING.has(name)) names.add(name);
  }
  for (const name of names) {
    const original = target[name];
    if (typeof original !== 'function') continue;
    const fn = original as AnyFn;
    const watch = WATCH.test(name);
    const wrapped = function (this: unknown, ...args: unknown[]): unknown {
      const started = performance.now();
      let out: unknown;
      try {
        out = fn.apply(this, args);
      } catch (err) {
        if (watch) watchDone(name, undefined, err, true);
        else restDone(name, args, started, undefined, err, true);
        throw err;
      }
      if (out instanceof Promise) {
        return out.then(
          (result: unknown) => {
            if (watch) watchDone(name, result, undefined, false);
            else restDone(name, args, started, result, undefined, false);
            return result;
          },
          (err: unknown) => {
            if (watch) watchDone(name, undefined, err, true);
            else restDone(name, args, started, undefined, err, true);
            throw err;
          },
        );
      }
      if (watch) watchDone(name, out, undefined, false);
      else restDone(name, args, started, out, undefined, false);
      return out;
    };
    Object.defineProperty(target, name, { value: wrapped, configurable: true, writable: true });
  }
  Object.defineProperty(target, MARK, { value: true });
  return exchange;
}
