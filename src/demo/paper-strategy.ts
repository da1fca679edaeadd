import { seededRandom } from '../common/random.js';
import type { Monitor } from '../sdk/index.js';

/**
 * Synthetic but plausible activity for the demo, recorded through the SDK exactly as a real daemon would:
 * two exchanges, a handful of symbols, fetch cycles with the odd error, liquidations with bursts, a websocket
 * that drops now and then, and one paper strategy trading. Deterministic for a given seed.
 */
export interface SampleProducerOptions {
  readonly seed?: number;
  /** One fetch cycle (open interest + funding for every symbol) every this many ms. */
  readonly cycleMs?: number;
}

const EXCHANGES = ['binanceusdm', 'bybit'] as const;
const SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT', 'SOL/USDT:USDT', 'XRP/USDT:USDT', 'DOGE/USDT:USDT'] as const;
const BASE_PRICE: Record<string, number> = {
  'BTC/USDT:USDT': 91_000,
  'ETH/USDT:USDT': 3_050,
  'SOL/USDT:USDT': 140,
  'XRP/USDT:USDT': 2.2,
  'DOGE/USDT:USDT': 0.16,
};

export function startSampleProducer(monitor: Monitor, options: SampleProducerOptions = {}): { stop(): void } {
  const random = seededRandom(options.seed ?? 42);
  const cycleMs = options.cycleMs ?? 2000;
  const strategy = monitor.strategy({ strategy: 'demo-momentum', runId: `demo-${Date.now().toString(36)}`, mode: 'paper' });
  const price = (symbol: string) => BASE_PRICE[symbol]! * (1 + (random() - 0.5) * 0.01);
  let cycle = 0;
  let realized = 0;
  let orderSeq = 0;

  for (const exchange of EXCHANGES) {
    monitor.connectionState({ exchange, channel: 'liquidations', state: 'connected', reason: 'demo start' });
  }

  const fetchCycle = () => {
    cycle++;
    for (const exchange of EXCHANGES) {
      for (const symbol of SYMBOLS) {
        const latencyMs = 40 + random() * 120;
        const failed = random() < 0.02;
        monitor.fetch({ exchange, dataset: 'open_interest', symbol, status: failed ? 'error' : 'ok', latencyMs, records: failed ? 0 : 1 });
        if (failed) {
          monitor.error(new Error(`${exchange} GET openInterest failed: 502 Bad Gateway`), { component: 'fetcher', exchange, kind: 'ExchangeNotAvailable' });
        } else {
          const oi = (1e9 / BASE_PRICE[symbol]!) * (1 + Math.sin(cycle / 50) * 0.05);
          monitor.openInterest({ exchange, symbol, openInterest: oi, openInterestValue: oi * price(symbol) });
        }
        if (cycle % 2 === 0) {
          monitor.fetch({ exchange, dataset: 'funding_rate', symbol, status: 'ok', latencyMs: latencyMs * 0.8, records: 1 });
          monitor.fundingRate({ exchange, symbol, fundingRate: 0.0001 * (1 + (random() - 0.5)), markPrice: price(symbol) });
        }
      }
      monitor.rateLimit({ exchange, used: 300 + random() * 600, quota: 2400, throttled: false });
    }
  };

  const streamTick = () => {
    const burst = random() < 0.03;
    for (const exchange of EXCHANGES) {
      monitor.message(exchange, 'liquidations', Date.now() - 20 - random() * 80);
      const events = burst ? 20 + Math.floor(random() * 40) : random() < 0.5 ? 1 : 0;
      for (let i = 0; i < events; i++) {
        const symbol = SYMBOLS[Math.floor(random() * SYMBOLS.length)]!;
        const p = price(symbol);
        const amount = (1000 + random() * 50_000) / p;
        monitor.liquidation({ exchange, symbol, side: random() < 0.5 ? 'buy' : 'sell', price: p, amount, valueUsd: amount * p, exchangeTime: Date.now() - 50 });
      }
    }
  };

  const trade = () => {
    const symbol = SYMBOLS[Math.floor(random() * 2)]!;
    const p = price(symbol);
    const side = random() < 0.5 ? 'buy' : 'sell';
    const orderId = `demo-${++orderSeq}`;
    const amount = 0.01 + random() * 0.1;
    strategy.order({ exchange: 'binanceusdm', symbol, orderId, side, type: 'limit', status: 'new', price: p, amount, filled: 0 });
    if (random() < 0.1) {
      strategy.order({ exchange: 'binanceusdm', symbol, orderId, side, type: 'limit', status: 'rejected', price: p, amount, filled: 0, reason: 'insufficient margin' });
    } else {
      strategy.order({ exchange: 'binanceusdm', symbol, orderId, side, type: 'limit', status: 'filled', price: p, amount, filled: amount });
      strategy.fill({ exchange: 'binanceusdm', symbol, orderId, fillId: `${orderId}-1`, side, price: p, amount, fee: p * amount * 0.0002, feeCurrency: 'USDT', liquidity: 'maker' });
      realized += (random() - 0.45) * 20;
    }
    const unrealized = Math.sin(Date.now() / 60_000) * 150;
    strategy.position({ exchange: 'binanceusdm', symbol: 'BTC/USDT:USDT', quantity: 0.25, entryPrice: 90_500, markPrice: price('BTC/USDT:USDT'), exposure: 0.25 * price('BTC/USDT:USDT'), unrealized });
    strategy.pnl({ realized, unrealized, equity: 10_000 + realized + unrealized, grossExposure: 0.25 * price('BTC/USDT:USDT'), openOrders: Math.floor(random() * 4), currency: 'USDT' });
  };

  // A websocket outage every few minutes, so the Exchange dashboard has something to show.
  const outage = () => {
    monitor.connectionState({ exchange: 'bybit', channel: 'liquidations', state: 'disconnected', reason: 'close 1006 (demo outage)' });
    monitor.connectionState({ exchange: 'bybit', channel: 'liquidations', state: 'reconnecting', attempt: 1 });
    setTimeout(() => monitor.connectionState({ exchange: 'bybit', channel: 'liquidations', state: 'connected', reason: 'reconnected' }), 7000).unref();
  };

  const timers = [
    setInterval(fetchCycle, cycleMs),
    setInterval(streamTick, 250),
    setInterval(trade, 1000),
    setInterval(outage, 180_000),
  ];
  fetchCycle();
  return { stop: () => timers.forEach(clearInterval) };
}
