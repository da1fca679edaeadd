import { seededRandom } from '@tradewatch/sdk/common';
import type { Monitor } from '@tradewatch/sdk/sdk';

/**
 * A paper-trading strategy for the demo, so that the Trading dashboard has something to show: orders (some
 * rejected), fills, a position and PnL snapshots, recorded through the SDK exactly as a real strategy would.
 * Prices follow the simulator's market loosely; the numbers mean nothing. Deterministic for a given seed.
 */
export interface PaperStrategyOptions {
  readonly seed?: number;
  /** One trading decision every this many ms. */
  readonly tickMs?: number;
}

const SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT'] as const;
const BASE_PRICE: Record<(typeof SYMBOLS)[number], number> = { 'BTC/USDT:USDT': 91_000, 'ETH/USDT:USDT': 3_050 };

export function startPaperStrategy(monitor: Monitor, options: PaperStrategyOptions = {}): { stop(): void } {
  const random = seededRandom(options.seed ?? 42);
  const strategy = monitor.strategy({ strategy: 'demo-momentum', runId: `paper-${Date.now().toString(36)}`, mode: 'paper' });
  const price = (symbol: (typeof SYMBOLS)[number]) => BASE_PRICE[symbol] * (1 + Math.sin(Date.now() / 600_000) * 0.01 + (random() - 0.5) * 0.002);
  let realized = 0;
  let orderSeq = 0;
  let quantity = 0;
  let entry = BASE_PRICE['BTC/USDT:USDT'];

  const tick = () => {
    const symbol = SYMBOLS[Math.floor(random() * SYMBOLS.length)]!;
    const p = price(symbol);
    const side = random() < 0.5 ? 'buy' : 'sell';
    const orderId = `demo-${++orderSeq}`;
    const amount = symbol === 'BTC/USDT:USDT' ? 0.01 + random() * 0.05 : 0.1 + random() * 0.5;
    const order = { exchange: 'binanceusdm', symbol, orderId, side, type: 'limit', price: p, amount } as const;
    strategy.order({ ...order, status: 'new', filled: 0 });
    if (random() < 0.1) {
      strategy.order({ ...order, status: 'rejected', filled: 0, reason: 'insufficient margin' });
    } else {
      strategy.order({ ...order, status: 'filled', filled: amount });
      strategy.fill({ exchange: 'binanceusdm', symbol, orderId, fillId: `${orderId}-1`, side, price: p, amount, fee: p * amount * 0.0002, feeCurrency: 'USDT', liquidity: 'maker' });
      if (symbol === 'BTC/USDT:USDT') {
        const signed = side === 'buy' ? amount : -amount;
        if (Math.sign(signed) !== Math.sign(quantity) && quantity !== 0) realized += (p - entry) * Math.min(Math.abs(signed), Math.abs(quantity)) * Math.sign(quantity);
        else entry = (entry * Math.abs(quantity) + p * amount) / (Math.abs(quantity) + amount);
        quantity += signed;
      }
    }
    const mark = price('BTC/USDT:USDT');
    const unrealized = (mark - entry) * quantity;
    strategy.position({ exchange: 'binanceusdm', symbol: 'BTC/USDT:USDT', quantity, entryPrice: entry, markPrice: mark, exposure: quantity * mark, unrealized });
    strategy.pnl({ realized, unrealized, equity: 10_000 + realized + unrealized, grossExposure: Math.abs(quantity * mark), openOrders: Math.floor(random() * 4), currency: 'USDT' });
  };

  const timer = setInterval(tick, options.tickMs ?? 2000);
  tick();
  return { stop: () => clearInterval(timer) };
}
