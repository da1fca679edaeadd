import { fixed, type LiquidationEvent, type MarketModel, type SimSymbol } from '../market-data.js';
import { json, type Admission, type ExchangeProtocol, type ExchangeTiming, type HttpAnswer, type RestRoute, type WsSession } from '../protocol.js';

/**
 * Bybit v5, linear category: REST market data and the public liquidation topics
 * (`allLiquidation.<SYMBOL>`, and the older `liquidation.<SYMBOL>`), shaped as https://bybit-exchange.github.io/docs/v5 documents them.
 */

const INTERVALS: Record<string, number> = {
  '5min': 300_000,
  '15min': 900_000,
  '30min': 1_800_000,
  '1h': 3_600_000,
  '4h': 14_400_000,
  '1d': 86_400_000,
};

/** Bybit's answer to a banned IP (and, from its CDN, to a restricted region): HTTP 403 without any rate-limit header. */
const FORBIDDEN_TOO_FREQUENT: HttpAnswer = { status: 403, body: 'access too frequent' };

/**
 * Bybit's IP limiter: more than 600 requests in a 5-second window gets HTTP 403 and a ban of at least 10 minutes;
 * no header says so or for how long.
 */
function ipLimiter(timing: ExchangeTiming) {
  let windowStart = 0;
  let count = 0;
  let bannedUntil = 0;
  return (now: number): Admission => {
    if (bannedUntil > now) return { refuse: FORBIDDEN_TOO_FREQUENT };
    const window = Math.floor(now / timing.bybitIpWindowMs) * timing.bybitIpWindowMs;
    if (window !== windowStart) {
      windowStart = window;
      count = 0;
    }
    count++;
    if (count > timing.bybitIpLimit) {
      bannedUntil = now + timing.bybitBanMs;
      return { refuse: FORBIDDEN_TOO_FREQUENT };
    }
    return {};
  };
}

const CATEGORIES = ['spot', 'linear', 'inverse', 'option'] as const;

export function bybitProtocol(model: MarketModel, timing: ExchangeTiming): ExchangeProtocol {
  const envelope = (result: unknown, now: number, retCode = 0, retMsg = 'OK') => ({ retCode, retMsg, result, retExtInfo: {}, time: now });
  const paramError = (msg: string): RestRoute => ({ respond: (now) => json(200, envelope({}, now, 10001, msg)) });
  // Public market endpoints carry no X-Bapi-Limit-* headers (Bybit sends them on private, per-UID limits only).
  const limitHeaders = (_now: number): Record<string, string> => ({});
  const limiter = ipLimiter(timing);

  const spotInstrument = (s: SimSymbol) => ({
    symbol: s.id,
    baseCoin: s.base,
    quoteCoin: 'USDT',
    innovation: '0',
    status: 'Trading',
    marginTrading: 'both',
    lotSizeFilter: {
      basePrecision: fixed(10 ** -Math.max(s.qtyDecimals, 2), Math.max(s.qtyDecimals, 2)),
      quotePrecision: '0.00000001',
      minOrderQty: fixed(10 ** -s.qtyDecimals, s.qtyDecimals),
      maxOrderQty: fixed(1e7 / s.price0, s.qtyDecimals),
      minOrderAmt: '1',
      maxOrderAmt: '4000000',
    },
    priceFilter: { tickSize: fixed(10 ** -s.priceDecimals, s.priceDecimals) },
  });

  const inverseInstrument = (s: SimSymbol) => ({
    ...instrument(s),
    symbol: `${s.base}USD`,
    contractType: 'InversePerpetual',
    quoteCoin: 'USD',
    settleCoin: s.base,
    lotSizeFilter: { maxOrderQty: '1000000', minOrderQty: '1', qtyStep: '1', postOnlyMaxOrderQty: '5000000', maxMktOrderQty: '500000', minNotionalValue: '0' },
  });

  /** The instruments of one category and status, as Bybit lists them: BTC and ETH have inverse perpetuals too; options: none here. */
  const instrumentsOf = (category: string, status: string): unknown[] => {
    if (status !== 'Trading') return [];
    switch (category) {
      case 'linear':
        return model.symbols.map(instrument);
      case 'spot':
        return model.symbols.map(spotInstrument);
      case 'inverse':
        return model.symbols.filter((s) => s.base === 'BTC' || s.base === 'ETH').map(inverseInstrument);
      default:
        return [];
    }
  };

  const instrument = (s: SimSymbol) => {
    const tick = fixed(10 ** -s.priceDecimals, s.priceDecimals);
    const step = fixed(10 ** -s.qtyDecimals, s.qtyDecimals);
    return {
      symbol: s.id,
      contractType: 'LinearPerpetual',
      status: 'Trading',
      baseCoin: s.base,
      quoteCoin: 'USDT',
      launchTime: '1585526400000',
      deliveryTime: '0',
      deliveryFeeRate: '',
      priceScale: String(s.priceDecimals),
      leverageFilter: { minLeverage: '1', maxLeverage: '100.00', leverageStep: '0.01' },
      priceFilter: { minPrice: tick, maxPrice: fixed(s.price0 * 30, s.priceDecimals), tickSize: tick },
      lotSizeFilter: {
        maxOrderQty: fixed(1e8 / s.price0, s.qtyDecimals),
        minOrderQty: step,
        qtyStep: step,
        postOnlyMaxOrderQty: fixed(1e9 / s.price0, s.qtyDecimals),
        maxMktOrderQty: fixed(5e7 / s.price0, s.qtyDecimals),
        minNotionalValue: '5',
      },
      unifiedMarginTrade: true,
      fundingInterval: model.fundingIntervalHours(s) * 60,
      settleCoin: 'USDT',
      copyTrading: 'both',
      upperFundingRate: '0.005',
      lowerFundingRate: '-0.005',
      isPreListing: false,
      preListingInfo: null,
    };
  };

  const ticker = (s: SimSymbol, now: number) => {
    const mark = model.markPrice(s, now);
    const prev24 = model.markPrice(s, now - 86_400_000);
    const oi = model.openInterest(s, now);
    return {
      symbol: s.id,
      lastPrice: fixed(mark, s.priceDecimals),
      indexPrice: fixed(model.indexPrice(s, now), s.priceDecimals),
      markPrice: fixed(mark, s.priceDecimals),
      prevPrice24h: fixed(prev24, s.priceDecimals),
      price24hPcnt: fixed(mark / prev24 - 1, 6),
      highPrice24h: fixed(Math.max(mark, prev24) * 1.01, s.priceDecimals),
      lowPrice24h: fixed(Math.min(mark, prev24) * 0.99, s.priceDecimals),
      prevPrice1h: fixed(model.markPrice(s, now - 3_600_000), s.priceDecimals),
      openInterest: fixed(oi, s.qtyDecimals),
      openInterestValue: fixed(oi * mark, 2),
      turnover24h: fixed(s.oiUsd * 1.7, 4),
      volume24h: fixed((s.oiUsd * 1.7) / mark, s.qtyDecimals),
      fundingRate: fixed(model.fundingRate(s, now), 8),
      nextFundingTime: String(model.nextFundingTime(s, now)),
      predictedDeliveryPrice: '',
      basisRate: '',
      deliveryFeeRate: '',
      deliveryTime: '0',
      ask1Size: '1.0',
      bid1Price: fixed(mark * 0.99995, s.priceDecimals),
      ask1Price: fixed(mark * 1.00005, s.priceDecimals),
      bid1Size: '1.0',
      basis: '',
    };
  };

  const route = (method: string, url: URL): RestRoute | undefined => {
    if (method !== 'GET') return undefined;
    const q = url.searchParams;
    const category = q.get('category');
    switch (url.pathname) {
      case '/v5/market/time':
        return {
          respond: (now) =>
            json(200, envelope({ timeSecond: String(Math.floor(now / 1000)), timeNano: `${now}000000` }, now), limitHeaders(now)),
        };
      case '/v5/market/instruments-info': {
        if (!category || !(CATEGORIES as readonly string[]).includes(category)) return paramError('params error: Category is invalid');
        const symbolId = q.get('symbol');
        const baseCoin = q.get('baseCoin');
        let list = instrumentsOf(category, q.get('status') ?? 'Trading') as { symbol: string; baseCoin: string }[];
        if (symbolId) list = list.filter((i) => i.symbol === symbolId.toUpperCase());
        if (baseCoin) list = list.filter((i) => i.baseCoin === baseCoin.toUpperCase());
        // Paginated by cursor: `limit` per page (at most the page size), `nextPageCursor` empty on the last page.
        const limit = Math.max(1, Math.min(timing.bybitInstrumentsPageSize, Number(q.get('limit') ?? 500) || 500));
        const cursor = q.get('cursor');
        const offset = cursor ? Number(Buffer.from(cursor, 'base64url').toString('utf8').replace(/^offset:/, '')) || 0 : 0;
        const page = list.slice(offset, offset + limit);
        const next = offset + limit < list.length ? Buffer.from(`offset:${offset + limit}`).toString('base64url') : '';
        return {
          respond: (now) =>
            json(200, envelope({ category, list: page, nextPageCursor: next }, now), limitHeaders(now)),
        };
      }
      case '/v5/market/tickers': {
        if (!category) return paramError('params error: Category is invalid');
        const symbolId = q.get('symbol');
        const sym = symbolId ? model.find(symbolId) : undefined;
        if (symbolId && (!sym || sym.id !== symbolId.toUpperCase())) return paramError('params error: symbol invalid');
        const list = category === 'linear' ? (sym ? [sym] : model.symbols) : [];
        return {
          data: 'funding',
          symbolIds: sym ? [sym.id] : undefined,
          respond: (now) => json(200, envelope({ category, list: list.map((s) => ticker(s, now)) }, now), limitHeaders(now)),
        };
      }
      case '/v5/market/open-interest': {
        const symbolId = q.get('symbol');
        const sym = symbolId ? model.find(symbolId) : undefined;
        if (category !== 'linear' && category !== 'inverse') return paramError('params error: Category is invalid');
        if (!sym || sym.id !== symbolId?.toUpperCase() || category !== 'linear') return paramError('params error: symbol invalid');
        const intervalName = q.get('intervalTime') ?? '';
        const interval = INTERVALS[intervalName];
        if (!interval) return paramError('params error: intervalTime invalid');
        const limit = Math.min(200, Math.max(1, Number(q.get('limit') ?? 50) || 50));
        const start = q.get('startTime') ? Number(q.get('startTime')) : undefined;
        const end = q.get('endTime') ? Number(q.get('endTime')) : undefined;
        return {
          data: 'open_interest',
          symbolIds: [sym.id],
          respond: (now) => {
            const newest = Math.floor(Math.min(end ?? now, now) / interval) * interval;
            const list: { openInterest: string; timestamp: string }[] = [];
            for (let t = newest; list.length < limit && (start === undefined || t >= start); t -= interval) {
              list.push({ openInterest: fixed(model.openInterest(sym, t), sym.qtyDecimals), timestamp: String(t) });
            }
            return json(200, envelope({ symbol: sym.id, category, list, nextPageCursor: '' }, now), limitHeaders(now));
          },
        };
      }
      default:
        return undefined;
    }
  };

  const TOPIC = /^(allLiquidation|liquidation)\.([A-Z0-9]+)$/;

  return {
    id: 'bybit',
    model,
    route,
    notFound: () => ({ status: 404, body: '<html><body><h1>404 Not Found</h1></body></html>' }),
    // retCode 10006 (the per-UID limit) comes with HTTP 200 and, on public endpoints, without any X-Bapi-* header.
    rateLimited: () => json(200, { retCode: 10006, retMsg: 'Too many visits!', result: {}, retExtInfo: {}, time: Date.now() }),
    missing: (r, mode, now) => {
      if (mode === 'error') return json(200, envelope({}, now, 10016, 'System error. Please try again later.'));
      if (r.data === 'open_interest') return json(200, envelope({ symbol: r.symbolIds?.[0] ?? '', category: 'linear', list: [], nextPageCursor: '' }, now));
      return json(200, envelope({ category: 'linear', list: [] }, now));
    },
    acceptsWsPath: (url) => url.pathname.startsWith('/v5/'),
    onWsOpen: () => undefined,
    onWsMessage: (session: WsSession, text: string) => {
      let message: { op?: unknown; args?: unknown; req_id?: unknown };
      try {
        message = JSON.parse(text) as typeof message;
      } catch {
        session.send({ success: false, ret_msg: 'error:request not json', conn_id: session.id, op: '' }, 'ack');
        return;
      }
      const reqId = typeof message.req_id === 'string' || typeof message.req_id === 'number' ? String(message.req_id) : '';
      const base = { conn_id: session.id, req_id: reqId };
      const args = Array.isArray(message.args) ? message.args.filter((a): a is string => typeof a === 'string') : [];
      switch (message.op) {
        case 'ping':
          session.send({ success: true, ret_msg: 'pong', ...base, op: 'ping' }, 'pong');
          return;
        case 'subscribe': {
          const linear = session.url.pathname === '/v5/public/linear';
          const bad = args.find((topic) => {
            const m = TOPIC.exec(topic);
            return !m || !linear || !model.find(m[2] as string) || model.find(m[2] as string)?.id !== m[2];
          });
          if (bad !== undefined || args.length === 0) {
            session.send({ success: false, ret_msg: `error:handler not found,topic:${bad ?? ''}`, ...base, op: 'subscribe' }, 'ack');
            return;
          }
          for (const topic of args) session.subscriptions.add(topic);
          session.send({ success: true, ret_msg: '', ...base, op: 'subscribe' }, 'ack');
          return;
        }
        case 'unsubscribe':
          for (const topic of args) session.subscriptions.delete(topic);
          session.send({ success: true, ret_msg: '', ...base, op: 'unsubscribe' }, 'ack');
          return;
        default:
          session.send({ success: false, ret_msg: `error:unsupported op ${JSON.stringify(message.op ?? null)}`, ...base, op: '' }, 'ack');
      }
    },
    liquidationMessages: (events: readonly LiquidationEvent[], session) => {
      const out: unknown[] = [];
      const first = events[0];
      if (!first) return out;
      // S is the liquidated POSITION's side ("a Buy update means a long position has been liquidated"): the opposite
      // of the liquidation order's side; p is the position's bankruptcy price.
      const positionSide = (e: LiquidationEvent) => (e.side === 'sell' ? 'Buy' : 'Sell');
      const last = events.at(-1) as LiquidationEvent;
      if (session.subscriptions.has(`allLiquidation.${first.symbolId}`)) {
        out.push({
          topic: `allLiquidation.${first.symbolId}`,
          type: 'snapshot',
          ts: last.ts + 3,
          data: events.map((e) => ({ T: e.ts, s: e.symbolId, S: positionSide(e), v: e.qty, p: model.bankruptcyPrice(e) })),
        });
      }
      if (session.subscriptions.has(`liquidation.${first.symbolId}`)) {
        for (const e of events) {
          out.push({
            topic: `liquidation.${e.symbolId}`,
            type: 'snapshot',
            ts: e.ts + 3,
            data: { price: model.bankruptcyPrice(e), side: positionSide(e), size: e.qty, symbol: e.symbolId, updatedTime: e.ts },
          });
        }
      }
      return out;
    },
    liquidationDelivery: { mode: 'batch', windowMs: timing.bybitLiquidationBatchMs },
    wsRules: { serverPingIntervalMs: 0, pongTimeoutMs: 0, maxConnectionAgeMs: 0, idleTimeoutMs: timing.bybitIdleTimeoutMs },
    admit: (_route, _url, now) => limiter(now),
    blockedAnswer: (kind, _retryAfterSec, now) => {
      switch (kind) {
        case 'ip_ban':
        case 'waf_block':
          return FORBIDDEN_TOO_FREQUENT;
        case 'region_block':
          // Bybit's CDN refuses restricted regions with its own 403 page, no JSON and no headers.
          return {
            status: 403,
            body: '<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY><H1>403 ERROR</H1><H2>The request could not be satisfied.</H2>The Amazon CloudFront distribution is configured to block access from your country.</BODY></HTML>',
          };
        case 'maintenance':
          return { status: 503, body: `<html><body><h1>503 Service Unavailable</h1><p>System maintenance (${new Date(now).toISOString()})</p></body></html>` };
      }
    },
    wsUrl: (wsBase) => `${wsBase}/v5/public/linear`,
    ccxtOptions: (restBase, wsBase) => ({
      urls: {
        api: {
          spot: restBase,
          futures: restBase,
          v2: restBase,
          public: restBase,
          private: restBase,
          ws: {
            public: {
              spot: `${wsBase}/v5/public/spot`,
              inverse: `${wsBase}/v5/public/inverse`,
              option: `${wsBase}/v5/public/option`,
              linear: `${wsBase}/v5/public/linear`,
            },
            private: {
              spot: { unified: `${wsBase}/v5/private`, nonUnified: `${wsBase}/spot/private/v3` },
              contract: `${wsBase}/v5/private`,
              usdc: `${wsBase}/trade/option/usdc/private/v1`,
              trade: `${wsBase}/v5/trade`,
            },
          },
        },
      },
      // loadMarkets reads what ccxt reads from Bybit (every category, paginated) unless the client narrows it.
      options: { adjustForTimeDifference: false, defaultType: 'swap', defaultSubType: 'linear' },
    }),
  };
}
