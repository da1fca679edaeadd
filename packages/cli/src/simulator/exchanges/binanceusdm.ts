import { fixed, type LiquidationEvent, type MarketModel, type SimSymbol } from '../market-data.js';
import { json, type Admission, type ExchangeProtocol, type ExchangeTiming, type HttpAnswer, type RestRoute, type WsSession } from '../protocol.js';

/**
 * Binance USD-M futures (fapi): REST market data and the liquidation (`forceOrder`) websocket streams,
 * shaped as https://developers.binance.com/docs/derivatives/usds-margined-futures documents them.
 */

const REST_KEYS: Record<string, string> = {
  sapi: '/sapi/v1',
  sapiV2: '/sapi/v2',
  sapiV3: '/sapi/v3',
  sapiV4: '/sapi/v4',
  dapiPublic: '/dapi/v1',
  dapiPrivate: '/dapi/v1',
  eapiPublic: '/eapi/v1',
  eapiPrivate: '/eapi/v1',
  dapiPrivateV2: '/dapi/v2',
  dapiData: '/futures/data',
  fapiPublic: '/fapi/v1',
  fapiPublicV2: '/fapi/v2',
  fapiPublicV3: '/fapi/v3',
  fapiPrivate: '/fapi/v1',
  fapiPrivateV2: '/fapi/v2',
  fapiPrivateV3: '/fapi/v3',
  fapiData: '/futures/data',
  public: '/api/v3',
  private: '/api/v3',
  v1: '/api/v1',
  papi: '/papi/v1',
  papiV2: '/papi/v2',
};

const WS_KEYS: Record<string, string> = {
  spot: '/ws',
  margin: '/ws',
  future: '/ws',
  delivery: '/ws',
  stock: '/equity/ws',
  option: '/public/ws',
  optionMarket: '/market/ws',
  optionPrivate: '/private/ws',
  papi: '/pm/ws',
};

const WS_API_KEYS: Record<string, string> = { spot: '/ws-api/v3', future: '/ws-fapi/v1', delivery: '/ws-dapi/v1' };

const ERR_INVALID_SYMBOL = { code: -1121, msg: 'Invalid symbol.' };

const MAX_BAN_MS = 3 * 86_400_000;

/**
 * Binance's IP limiter: every request adds its weight to the IP's count for the current minute (sent back as
 * X-MBX-USED-WEIGHT-1M). Over the limit: 429 with Retry-After (the rest of the minute). A client that keeps
 * sending during that Retry-After (more than binanceTolerated429s refused requests; Binance publishes no figure)
 * gets 418, an IP ban of 2 minutes, doubling with each repeat up to 3 days.
 */
function weightLimiter(timing: ExchangeTiming) {
  let windowStart = 0;
  let used = 0;
  let retryUntil = 0;
  let refused = 0;
  let bannedUntil = 0;
  let banMs = timing.binanceBanMs;
  const ip = '127.0.0.1';
  return (weight: number, now: number): Admission => {
    const window = Math.floor(now / timing.binanceWeightWindowMs) * timing.binanceWeightWindowMs;
    if (window !== windowStart) {
      windowStart = window;
      used = 0;
    }
    const headers = () => ({ 'X-MBX-USED-WEIGHT-1M': String(used) });
    if (bannedUntil > now) {
      return { refuse: banned(bannedUntil, now, ip) };
    }
    if (retryUntil > now && refused >= timing.binanceTolerated429s) {
      bannedUntil = now + banMs;
      banMs = Math.min(MAX_BAN_MS, banMs * 2);
      return { refuse: banned(bannedUntil, now, ip) };
    }
    used += weight;
    if (used > timing.binanceWeightLimit || retryUntil > now) {
      if (retryUntil <= now) refused = 0;
      refused++;
      retryUntil = Math.max(retryUntil, windowStart + timing.binanceWeightWindowMs);
      const retryAfter = Math.max(1, Math.ceil((retryUntil - now) / 1000));
      return {
        refuse: json(
          429,
          { code: -1003, msg: `Too many requests; current limit of IP(${ip}) is ${timing.binanceWeightLimit} requests per minute. Please use the websocket for live updates to avoid polling the API.` },
          { 'Retry-After': String(retryAfter) },
        ),
        headers: headers(),
      };
    }
    return { headers: headers() };
  };
}

const banned = (until: number, now: number, ip: string): HttpAnswer =>
  json(
    418,
    { code: -1003, msg: `Way too many requests; IP(${ip}) banned until ${until}. Please use the websocket for live updates to avoid bans.` },
    { 'Retry-After': String(Math.max(1, Math.ceil((until - now) / 1000))) },
  );

export function binanceUsdmProtocol(model: MarketModel, timing: ExchangeTiming): ExchangeProtocol {
  // Answers carry X-MBX-USED-WEIGHT-1M from the limiter (admit); the routes only say what they weigh.
  const weightHeaders = (_weight: number): Record<string, string> => ({});
  const limiter = weightLimiter(timing);

  const symbolInfo = (s: SimSymbol) => {
    const tick = fixed(10 ** -s.priceDecimals, s.priceDecimals);
    const step = fixed(10 ** -s.qtyDecimals, s.qtyDecimals);
    return {
      symbol: s.id,
      pair: s.id,
      contractType: 'PERPETUAL',
      deliveryDate: 4133404800000,
      onboardDate: 1569398400000,
      status: 'TRADING',
      maintMarginPercent: '2.5000',
      requiredMarginPercent: '5.0000',
      baseAsset: s.base,
      quoteAsset: 'USDT',
      marginAsset: 'USDT',
      pricePrecision: s.priceDecimals,
      quantityPrecision: s.qtyDecimals,
      baseAssetPrecision: 8,
      quotePrecision: 8,
      underlyingType: 'COIN',
      underlyingSubType: [],
      settlePlan: 0,
      triggerProtect: '0.0500',
      liquidationFee: '0.012500',
      marketTakeBound: '0.05',
      maxMoveOrderLimit: 10000,
      filters: [
        { filterType: 'PRICE_FILTER', maxPrice: fixed(s.price0 * 100, s.priceDecimals), minPrice: tick, tickSize: tick },
        { filterType: 'LOT_SIZE', maxQty: fixed(1e9 / s.price0, s.qtyDecimals), minQty: step, stepSize: step },
        { filterType: 'MARKET_LOT_SIZE', maxQty: fixed(1e8 / s.price0, s.qtyDecimals), minQty: step, stepSize: step },
        { filterType: 'MAX_NUM_ORDERS', limit: 200 },
        { filterType: 'MAX_NUM_ALGO_ORDERS', limit: 10 },
        { filterType: 'MIN_NOTIONAL', notional: '5' },
        { filterType: 'PERCENT_PRICE', multiplierUp: '1.0500', multiplierDown: '0.9500', multiplierDecimal: '4' },
      ],
      orderTypes: ['LIMIT', 'MARKET', 'STOP', 'STOP_MARKET', 'TAKE_PROFIT', 'TAKE_PROFIT_MARKET', 'TRAILING_STOP_MARKET'],
      timeInForce: ['GTC', 'IOC', 'FOK', 'GTX', 'GTD'],
    };
  };

  const premiumIndex = (s: SimSymbol, now: number) => {
    const index = model.indexPrice(s, now);
    return {
      symbol: s.id,
      markPrice: fixed(model.markPrice(s, now), 8),
      indexPrice: fixed(index, 8),
      estimatedSettlePrice: fixed(index, 8),
      lastFundingRate: fixed(model.fundingRate(s, now), 8),
      interestRate: '0.00010000',
      nextFundingTime: model.nextFundingTime(s, now),
      time: now,
    };
  };

  /** Resolves `symbol=` or answers Binance's -1121; `required` says whether omitting it is an error. */
  const withSymbol = (url: URL, required: boolean): { sym?: SimSymbol; error?: HttpAnswer } => {
    const id = url.searchParams.get('symbol');
    if (id === null) return required ? { error: json(400, { code: -1102, msg: "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed." }) } : {};
    const sym = model.find(id);
    return sym && sym.id === id.toUpperCase() ? { sym } : { error: json(400, ERR_INVALID_SYMBOL) };
  };
  const fail = (answer: HttpAnswer): RestRoute => ({ respond: () => answer });

  const route = (method: string, url: URL): RestRoute | undefined => {
    if (method !== 'GET') return undefined;
    switch (url.pathname) {
      case '/fapi/v1/ping':
        return { respond: () => json(200, {}, weightHeaders(1)) };
      case '/fapi/v1/time':
        return { respond: (now) => json(200, { serverTime: now }, weightHeaders(1)) };
      case '/fapi/v1/exchangeInfo':
        return {
          respond: (now) =>
            json(
              200,
              {
                timezone: 'UTC',
                serverTime: now,
                futuresType: 'U_MARGINED',
                rateLimits: [
                  { rateLimitType: 'REQUEST_WEIGHT', interval: 'MINUTE', intervalNum: 1, limit: timing.binanceWeightLimit },
                  { rateLimitType: 'ORDERS', interval: 'MINUTE', intervalNum: 1, limit: 1200 },
                  { rateLimitType: 'ORDERS', interval: 'SECOND', intervalNum: 10, limit: 300 },
                ],
                exchangeFilters: [],
                assets: [{ asset: 'USDT', marginAvailable: true, autoAssetExchange: '-10000' }],
                symbols: model.symbols.map(symbolInfo),
              },
              weightHeaders(1),
            ),
        };
      case '/fapi/v1/openInterest': {
        const { sym, error } = withSymbol(url, true);
        if (!sym) return fail(error as HttpAnswer);
        return {
          data: 'open_interest',
          symbolIds: [sym.id],
          respond: (now) =>
            json(200, { symbol: sym.id, openInterest: fixed(model.openInterest(sym, now), sym.qtyDecimals), time: now }, weightHeaders(1)),
        };
      }
      case '/fapi/v1/premiumIndex': {
        const { sym, error } = withSymbol(url, false);
        if (error) return fail(error);
        return {
          data: 'funding',
          symbolIds: sym ? [sym.id] : undefined,
          weight: sym ? 1 : 10,
          respond: (now) => json(200, sym ? premiumIndex(sym, now) : model.symbols.map((s) => premiumIndex(s, now)), weightHeaders(sym ? 1 : 10)),
        };
      }
      case '/fapi/v1/fundingInfo': {
        // Only symbols whose funding interval or caps were adjusted are listed (here: those not on 8 h).
        return {
          respond: () =>
            json(
              200,
              model.symbols
                .filter((s) => model.fundingIntervalHours(s) !== 8)
                .map((s) => ({
                  symbol: s.id,
                  adjustedFundingRateCap: '0.02000000',
                  adjustedFundingRateFloor: '-0.02000000',
                  fundingIntervalHours: model.fundingIntervalHours(s),
                  disclaimer: false,
                })),
            ),
        };
      }
      default:
        return undefined;
    }
  };

  /** `btcusdt@forceOrder` or `!forceOrder@arr`; anything else is accepted and stays silent, as for unknown streams on Binance. */
  const subscribeStreams = (session: WsSession, streams: string[]) => {
    for (const stream of streams) session.subscriptions.add(stream);
  };

  return {
    id: 'binanceusdm',
    model,
    route,
    notFound: () => ({ status: 404, body: '<html><body><h2>404 Not found</h2></body></html>' }),
    rateLimited: (retryAfterSec, status) =>
      json(
        status,
        status === 418
          ? { code: -1003, msg: `Way too many requests; IP(127.0.0.1) banned until ${Date.now() + retryAfterSec * 1000}. Please use the websocket for live updates to avoid bans.` }
          : { code: -1003, msg: 'Too many requests; current limit of IP(127.0.0.1) is 2400 requests per minute. Please use the websocket for live updates to avoid polling the API.' },
        { 'Retry-After': String(retryAfterSec), ...weightHeaders(2400) },
      ),
    missing: (r, mode) => {
      if (mode === 'error') return json(503, { code: -1001, msg: 'Internal error; unable to process your request. Please try again.' });
      // empty: 200 with no data, the way Binance answers for a symbol without open interest or mark price yet
      if (r.data === 'open_interest') return json(200, {}, weightHeaders(1));
      return json(200, r.symbolIds ? {} : [], weightHeaders(1));
    },
    acceptsWsPath: (url) => /^\/(?:(?:market|public)\/)?(?:ws|stream)(?:\/|$)/.test(url.pathname),
    onWsOpen: (session) => {
      // raw streams in the path (/ws/btcusdt@forceOrder) or combined (/stream?streams=a/b)
      const fromPath = session.url.pathname.split('/').filter((part) => part.includes('@'));
      const fromQuery = session.url.searchParams.get('streams')?.split('/').filter(Boolean) ?? [];
      subscribeStreams(session, [...fromPath, ...fromQuery]);
    },
    onWsMessage: (session, text) => {
      let message: { method?: unknown; params?: unknown; id?: unknown };
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        session.send({ error: { code: 3, msg: 'Invalid JSON: expected value at line 1 column 1' } }, 'ack');
        return;
      }
      const id = message.id ?? null;
      const params = Array.isArray(message.params) ? message.params.filter((p): p is string => typeof p === 'string') : [];
      switch (message.method) {
        case 'SUBSCRIBE':
          subscribeStreams(session, params);
          session.send({ result: null, id }, 'ack');
          return;
        case 'UNSUBSCRIBE':
          for (const p of params) session.subscriptions.delete(p);
          session.send({ result: null, id }, 'ack');
          return;
        case 'LIST_SUBSCRIPTIONS':
          session.send({ result: [...session.subscriptions], id }, 'ack');
          return;
        default:
          session.send({ error: { code: 2, msg: `Invalid request: unknown method ${JSON.stringify(message.method)}` }, id }, 'ack');
      }
    },
    liquidationMessages: (events: readonly LiquidationEvent[], session) => {
      // forceOrder carries one order: the window's latest (the server passes only that one)
      const event = events.at(-1);
      if (!event) return [];
      const stream = `${event.symbolId.toLowerCase()}@forceOrder`;
      const matched = [stream, '!forceOrder@arr'].filter((s) => session.subscriptions.has(s));
      if (matched.length === 0) return [];
      const payload = {
        e: 'forceOrder',
        E: event.ts + 2,
        o: {
          s: event.symbolId,
          S: event.side === 'buy' ? 'BUY' : 'SELL',
          o: 'LIMIT',
          f: 'IOC',
          q: event.qty,
          p: event.price,
          ap: event.price,
          X: 'FILLED',
          l: event.qty,
          z: event.qty,
          T: event.ts,
        },
      };
      // one message per connection (a connection subscribed to both streams gets it on each, as on Binance)
      const combined = session.url.pathname.startsWith('/stream');
      return matched.map((s) => (combined ? { stream: s, data: payload } : payload));
    },
    liquidationDelivery: { mode: 'latest', windowMs: timing.binanceLiquidationWindowMs },
    wsRules: {
      serverPingIntervalMs: timing.binancePingIntervalMs,
      pongTimeoutMs: timing.binancePongTimeoutMs,
      maxConnectionAgeMs: timing.binanceMaxConnectionAgeMs,
      idleTimeoutMs: 0,
    },
    admit: (r, url, now) => limiter(r?.weight ?? (url.pathname.startsWith('/fapi/') ? 1 : 0), now),
    blockedAnswer: (kind, retryAfterSec, now) => {
      switch (kind) {
        case 'ip_ban':
          return banned(now + retryAfterSec * 1000, now, '127.0.0.1');
        case 'region_block':
          return json(451, {
            code: 0,
            msg: "Service unavailable from a restricted location according to 'b. Eligibility' in https://www.binance.com/en/terms. Please contact customer service if you believe you received this message in error.",
          });
        case 'waf_block':
          return { status: 403, body: '<html><head><title>403 Forbidden</title></head><body><center><h1>403 Forbidden</h1></center></body></html>' };
        case 'maintenance':
          return json(503, { code: -1, msg: 'System is under maintenance.' });
      }
    },
    wsUrl: (wsBase) => `${wsBase}/ws`,
    ccxtOptions: (restBase, wsBase) => ({
      urls: {
        api: {
          ...Object.fromEntries(Object.entries(REST_KEYS).map(([key, path]) => [key, restBase + path])),
          ws: {
            ...Object.fromEntries(Object.entries(WS_KEYS).map(([key, path]) => [key, wsBase + path])),
            'ws-api': Object.fromEntries(Object.entries(WS_API_KEYS).map(([key, path]) => [key, wsBase + path])),
          },
        },
      },
      options: { fetchMarkets: { types: ['linear'] }, fetchCurrencies: false, adjustForTimeDifference: false },
    }),
  };
}
