import { Agent } from 'node:http';
import ccxt from 'ccxt';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { envName } from '@tradewatch/sdk/common';
import type { DaemonConfig, DaemonExchangeConfig } from './config-schema.js';

/** The part of a ccxt.pro exchange instance the daemon uses (ccxt's typings do not cover its websocket hooks). */
export interface ProExchange {
  readonly id: string;
  readonly has: Record<string, boolean | string | undefined>;
  markets?: Record<string, unknown>;
  marketsLoading?: Promise<unknown>;
  last_response_headers?: Record<string, unknown>;
  clients?: Record<string, WsClientLike>;
  streaming: Record<string, unknown>;
  loadMarkets(): Promise<unknown>;
  fetchOpenInterest(symbol: string): Promise<OpenInterestLike>;
  fetchFundingRate(symbol: string): Promise<FundingRateLike>;
  watchLiquidations(symbol: string): Promise<unknown>;
  watchLiquidationsForSymbols(symbols: string[]): Promise<unknown>;
  setSandboxMode(enabled: boolean): void;
  close(): Promise<void>;
  handleMessage(client: WsClientLike, message: unknown): void;
  parseWsLiquidation(raw: unknown, market?: unknown): LiquidationLike;
  onConnected(client: WsClientLike, message?: unknown): void;
  onClose(client: WsClientLike, event: { code?: number; reason?: unknown } | undefined): void;
  onError(client: WsClientLike, error: unknown): void;
}

export interface WsClientLike {
  readonly url: string;
  lastPong?: number;
  connection?: { terminate?: () => void; close?: (code?: number) => void };
  close(): unknown;
}

export interface OpenInterestLike {
  readonly symbol?: string;
  readonly openInterestAmount?: number;
  readonly openInterestValue?: number;
  readonly timestamp?: number;
}

export interface FundingRateLike {
  readonly fundingRate?: number;
  readonly markPrice?: number;
  readonly indexPrice?: number;
  readonly timestamp?: number;
  readonly fundingTimestamp?: number;
  readonly nextFundingTimestamp?: number;
}

export interface LiquidationLike {
  readonly symbol?: string;
  readonly side?: string;
  readonly price?: number;
  readonly contracts?: number;
  readonly contractSize?: number;
  readonly baseValue?: number;
  readonly quoteValue?: number;
  readonly timestamp?: number;
}

type Options = Record<string, unknown>;
/** Plain objects only: class instances (an http.Agent) are values, kept by reference. */
const isObject = (v: unknown): v is Options =>
  typeof v === 'object' && v !== null && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** Deep merge of plain objects; later wins; arrays and other values are replaced. */
export function deepMerge(...sources: (Options | undefined)[]): Options {
  const out: Options = {};
  for (const source of sources) {
    if (!source) continue;
    for (const [key, value] of Object.entries(source)) {
      out[key] = isObject(value) && isObject(out[key]) ? deepMerge(out[key], value) : isObject(value) ? deepMerge(value) : value;
    }
  }
  return out;
}

/** `TRADEWATCH_DAEMON_BINANCEUSDM_API_KEY`, `..._SECRET`, `..._PASSWORD`: credentials come from the environment only. */
export function credentialEnvNames(exchangeId: string): { apiKey: string; secret: string; password: string } {
  const prefix = envName(`daemon.${exchangeId}`);
  return { apiKey: `${prefix}_API_KEY`, secret: `${prefix}_SECRET`, password: `${prefix}_PASSWORD` };
}

const proClasses = ccxt.pro as unknown as Record<string, (new (options: Options) => ProExchange) | undefined>;

/**
 * Checks what the daemon needs of each configured exchange against ccxt itself (id known to ccxt.pro, the fetch
 * and watch methods supported) and throws TW_INVALID_CONFIG naming the field.
 */
export function validateExchanges(config: DaemonConfig): void {
  const problems: string[] = [];
  config.exchanges.forEach((exchange, index) => {
    const field = `daemon.exchanges.${index}`;
    const Pro = proClasses[exchange.id];
    if (!Object.hasOwn(ccxt.pro, exchange.id) || typeof Pro !== 'function') {
      problems.push(`${field}.id: ${JSON.stringify(exchange.id)} is not a ccxt exchange with websocket support (ccxt.pro.exchanges)`);
      return;
    }
    const has = new Pro({}).has;
    for (const method of ['fetchOpenInterest', 'fetchFundingRate'] as const) {
      if (!has[method]) problems.push(`${field}.id: ${exchange.id} does not support ${method} in ccxt`);
    }
    if (liquidationsEnabled(config, exchange) && !has.watchLiquidations && !has.watchLiquidationsForSymbols) {
      problems.push(`${field}.liquidations: ${exchange.id} has no liquidation stream in ccxt; set liquidations: false for it`);
    }
  });
  if (problems.length > 0) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `invalid configuration:\n  ${problems.join('\n  ')}`, { problems });
  }
}

export const liquidationsEnabled = (config: DaemonConfig, exchange: DaemonExchangeConfig): boolean =>
  exchange.liquidations ?? config.liquidations;

/**
 * Bybit's loadMarkets fetches every category by default (spot, linear, inverse, and options per base coin: about ten
 * paginated requests, any of which can fail start-up). Only the categories of the configured symbols are loaded:
 * `BTC/USDT:USDT` linear, `BTC/USD:BTC` inverse, `ETH/USDT` spot, `BTC/USDT:USDT-250627-60000-C` option.
 */
export function bybitMarketTypes(symbols: readonly string[]): string[] {
  const types = new Set<string>();
  for (const symbol of symbols) {
    const [pair = '', contract] = symbol.split(':', 2) as [string, string?];
    if (contract === undefined) {
      types.add('spot');
      continue;
    }
    const [settle = '', ...rest] = contract.split('-');
    if (rest.length >= 3 && /^[CP]$/.test(rest.at(-1) ?? '')) types.add('option');
    else types.add(settle === pair.split('/')[1] ? 'linear' : 'inverse');
  }
  return [...types].sort();
}

function marketTypeOptions(exchange: DaemonExchangeConfig): Options {
  return exchange.id === 'bybit' ? { fetchMarkets: { types: bybitMarketTypes(exchange.symbols) } } : {};
}

/**
 * A ccxt.pro instance for one configured exchange: rate limiting on, request timeout from the config, ccxt's own
 * websocket reconnect backoff off (the daemon runs its own, and reports every attempt), credentials from the
 * environment, then the file's `ccxt` options and the caller's overrides (the simulator's URLs) on top.
 */
export function createCcxtExchange(
  config: DaemonConfig,
  exchange: DaemonExchangeConfig,
  override: Options | undefined,
  env: NodeJS.ProcessEnv,
): ProExchange {
  const Pro = proClasses[exchange.id];
  if (!Pro) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `daemon.exchanges: unknown ccxt exchange ${exchange.id}`);
  const names = credentialEnvNames(exchange.id);
  const credentials: Options = {};
  if (env[names.apiKey]) credentials.apiKey = env[names.apiKey];
  if (env[names.secret]) credentials.secret = env[names.secret];
  if (env[names.password]) credentials.password = env[names.password];
  const options = deepMerge(
    {
      enableRateLimit: true,
      timeout: config.requestTimeoutMs,
      options: { ws: { backoff: { base: 0 } }, ...marketTypeOptions(exchange) },
      ...(exchange.rateLimitMs !== undefined ? { rateLimit: exchange.rateLimitMs } : {}),
    },
    credentials,
    exchange.ccxt,
    override,
  );
  // ccxt in Node refuses plain ws:// URLs (a simulator or proxy named in the config file) without an http agent.
  if (options.httpAgent === undefined) options.httpAgent = new Agent({ keepAlive: true });
  const instance = new Pro(options);
  if (exchange.sandbox) instance.setSandboxMode(true);
  // Keepalive pings at least three times per staleStreamMs, so that a quiet but healthy stream shows activity (pongs).
  const keepAlive = Number(instance.streaming.keepAlive);
  const wanted = Math.max(50, Math.floor(config.staleStreamMs / 3));
  instance.streaming.keepAlive = Number.isFinite(keepAlive) && keepAlive > 0 ? Math.min(keepAlive, wanted) : wanted;
  return instance;
}
