import type { ExchangeId } from './faults.js';
import type { LiquidationEvent, MarketModel } from './market-data.js';

/** What an exchange answers to one HTTP request. A string body is sent as is (text/html), anything else as JSON. */
export interface HttpAnswer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
}

/** A REST endpoint the protocol knows. `data` and `symbolIds` let the missing_window fault find the requests it affects. */
export interface RestRoute {
  data?: 'open_interest' | 'funding';
  /** Request weight (Binance); default 1. */
  weight?: number;
  /** Market ids the request is about; undefined: all of them. */
  symbolIds?: string[];
  respond(now: number): HttpAnswer;
}

/** Message classes, because faults treat them differently (a stall drops data and acks, and pongs unless answerPings). */
export type WsMessageKind = 'data' | 'ack' | 'pong';

export interface WsSession {
  readonly id: string;
  readonly url: URL;
  /** Topics / streams this connection is subscribed to, in the exchange's own spelling. */
  readonly subscriptions: Set<string>;
  send(message: unknown, kind: WsMessageKind): void;
  close(code?: number, reason?: string): void;
}

/**
 * The exchanges' own rules, at their documented values by default; tests shorten them (StartSimulatorOptions.timing).
 * docs/simulator.md names the exchange document each one follows.
 */
export interface ExchangeTiming {
  /** Binance forceOrder: per symbol, only the latest liquidation of each window is pushed. 1000 ms. */
  binanceLiquidationWindowMs: number;
  /** Bybit allLiquidation: events are pushed in batches (several in data[]) this often. 500 ms. */
  bybitLiquidationBatchMs: number;
  /** Binance: the server pings every 3 minutes... */
  binancePingIntervalMs: number;
  /** ...and disconnects a connection without a pong for 10 minutes. */
  binancePongTimeoutMs: number;
  /** Binance: a connection is closed after 24 hours. */
  binanceMaxConnectionAgeMs: number;
  /** Bybit: a connection that sends no ping (nor anything else) and receives no data for 10 minutes is dropped. */
  bybitIdleTimeoutMs: number;
  /** Binance: REQUEST_WEIGHT per minute per IP (exchangeInfo.rateLimits). 2400. */
  binanceWeightLimit: number;
  /** Binance: the weight window (1 minute). */
  binanceWeightWindowMs: number;
  /** Binance: the first ban (418) for requests after a 429; each further ban doubles, up to 3 days. 2 minutes. */
  binanceBanMs: number;
  /** Binance: requests refused with 429 during one Retry-After before the next one bans (418). Binance gives no figure: 5. */
  binanceTolerated429s: number;
  /** Bybit: requests per IP per window (600 per 5 s); a breach is an HTTP 403 ban. */
  bybitIpLimit: number;
  bybitIpWindowMs: number;
  /** Bybit: the IP ban after a breach ("at least 10 minutes"). */
  bybitBanMs: number;
  /** Bybit instruments-info: the largest page (the API's maximum `limit` is 1000). */
  bybitInstrumentsPageSize: number;
}

export const REAL_TIMING: ExchangeTiming = {
  binanceLiquidationWindowMs: 1000,
  bybitLiquidationBatchMs: 500,
  binancePingIntervalMs: 180_000,
  binancePongTimeoutMs: 600_000,
  binanceMaxConnectionAgeMs: 86_400_000,
  bybitIdleTimeoutMs: 600_000,
  binanceWeightLimit: 2400,
  binanceWeightWindowMs: 60_000,
  binanceBanMs: 120_000,
  binanceTolerated429s: 5,
  bybitIpLimit: 600,
  bybitIpWindowMs: 5000,
  bybitBanMs: 600_000,
  bybitInstrumentsPageSize: 1000,
};

/** How liquidations reach the connections: the latest per symbol per window (Binance), or batches (Bybit). */
export interface LiquidationDelivery {
  readonly mode: 'latest' | 'batch';
  readonly windowMs: number;
}

/** What the exchange's own REST limiter says about one request. */
export interface Admission {
  /** Set: the request is refused with this answer (429, 418, 403...). */
  readonly refuse?: HttpAnswer;
  /** Headers every answer carries (Binance X-MBX-USED-WEIGHT-1M). */
  readonly headers?: Record<string, string>;
}

/** Keepalive and lifetime rules the server enforces on every websocket (0: not enforced). */
export interface WsRules {
  readonly serverPingIntervalMs: number;
  /** Close a connection whose last pong (to a server ping) is older than this. */
  readonly pongTimeoutMs: number;
  readonly maxConnectionAgeMs: number;
  /** Close a connection with neither a client message nor data sent to it for this long. */
  readonly idleTimeoutMs: number;
}

export type BlockKind = 'ip_ban' | 'region_block' | 'waf_block' | 'maintenance';

export interface ExchangeProtocol {
  readonly id: ExchangeId;
  readonly model: MarketModel;
  /** Undefined for an unknown path (the server answers the exchange's 404). */
  route(method: string, url: URL): RestRoute | undefined;
  notFound(url: URL): HttpAnswer;
  rateLimited(retryAfterSec: number, status: number): HttpAnswer;
  /** The answer of a data endpoint inside a missing window. */
  missing(route: RestRoute, mode: 'error' | 'empty', now: number): HttpAnswer;
  acceptsWsPath(url: URL): boolean;
  onWsOpen(session: WsSession): void;
  onWsMessage(session: WsSession, text: string): void;
  /** Messages for one connection carrying these liquidations of one symbol, given its subscriptions (none: not subscribed). */
  liquidationMessages(events: readonly LiquidationEvent[], session: WsSession): unknown[];
  readonly liquidationDelivery: LiquidationDelivery;
  readonly wsRules: WsRules;
  /** The exchange's own request limiter; called once per request, with the route (undefined: unknown path). */
  admit(route: RestRoute | undefined, url: URL, now: number): Admission;
  /** The exchange's answer while a ban, block or maintenance fault is active. */
  blockedAnswer(kind: BlockKind, retryAfterSec: number, now: number): HttpAnswer;
  /** The websocket URL to report (what a non-ccxt client would connect to). */
  wsUrl(wsBase: string): string;
  /** Constructor options that point every ccxt URL of this exchange at the simulator. */
  ccxtOptions(restBase: string, wsBase: string): Record<string, unknown>;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): HttpAnswer => ({ status, body, headers });
