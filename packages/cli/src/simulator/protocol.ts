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
  /** Messages for one connection carrying this liquidation, given its subscriptions (none: not subscribed). */
  liquidationMessages(event: LiquidationEvent, session: WsSession): unknown[];
  /** Interval of server-initiated websocket ping frames (0: none). */
  readonly serverPingIntervalMs: number;
  /** The websocket URL to report (what a non-ccxt client would connect to). */
  wsUrl(wsBase: string): string;
  /** Constructor options that point every ccxt URL of this exchange at the simulator. */
  ccxtOptions(restBase: string, wsBase: string): Record<string, unknown>;
}

export const json = (status: number, body: unknown, headers?: Record<string, string>): HttpAnswer => ({ status, body, headers });
