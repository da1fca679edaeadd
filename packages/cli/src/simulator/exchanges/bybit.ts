import { fixed, type LiquidationEvent, type MarketModel, type SimSymbol } from '../market-data.js';
import { json, type ExchangeProtocol, type RestRoute, type WsSession } from '../protocol.js';

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

export function bybitProtocol(model: MarketModel): ExchangeProtocol {
  const envelope = (result: unknown, now: number, retCode = 0, retMsg = 'OK') => ({ retCode, retMsg, result, retExtInfo: {}, time: now });
  const paramError = (msg: string): RestRoute => ({ respond: (now) => json(200, envelope({}, now, 10001, msg)) });
  const limitHeaders = (now: number): Record<string, string> => ({
    'X-Bapi-Limit-Status': '599',
    'X-Bapi-Limit': '600',
    'X-Bapi-Limit-Reset-Timestamp': String(now + 1000),
  });

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
      fundingInterval: 480,
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
      nextFundingTime: String(model.nextFundingTime(now)),
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
        if (!category) return paramError('params error: Category is invalid');
        const symbolId = q.get('symbol');
        // only Trading linear perpetuals exist here: other categories and statuses (PreLaunch…) are empty lists
        const list = category === 'linear' && (q.get('status') ?? 'Trading') === 'Trading' ? model.symbols : [];
        const selected = symbolId ? list.filter((s) => s.id === symbolId.toUpperCase()) : list;
        return {
          respond: (now) =>
            json(200, envelope({ category, list: selected.map(instrument), nextPageCursor: '' }, now), limitHeaders(now)),
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
    rateLimited: (retryAfterSec, status) =>
      json(status, { retCode: 10006, retMsg: 'Too many visits!', result: {}, retExtInfo: {}, time: Date.now() }, {
        'Retry-After': String(retryAfterSec),
        'X-Bapi-Limit-Status': '0',
        'X-Bapi-Limit': '600',
        'X-Bapi-Limit-Reset-Timestamp': String(Date.now() + retryAfterSec * 1000),
      }),
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
    liquidationMessages: (event: LiquidationEvent, session) => {
      const out: unknown[] = [];
      const side = event.side === 'buy' ? 'Buy' : 'Sell';
      if (session.subscriptions.has(`allLiquidation.${event.symbolId}`)) {
        out.push({
          topic: `allLiquidation.${event.symbolId}`,
          type: 'snapshot',
          ts: event.ts + 3,
          data: [{ T: event.ts, s: event.symbolId, S: side, v: event.qty, p: event.price }],
        });
      }
      if (session.subscriptions.has(`liquidation.${event.symbolId}`)) {
        out.push({
          topic: `liquidation.${event.symbolId}`,
          type: 'snapshot',
          ts: event.ts + 3,
          data: { price: event.price, side, size: event.qty, symbol: event.symbolId, updatedTime: event.ts },
        });
      }
      return out;
    },
    serverPingIntervalMs: 0,
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
      options: { fetchMarkets: { types: ['linear'] }, adjustForTimeDifference: false, defaultType: 'swap', defaultSubType: 'linear' },
    }),
  };
}
