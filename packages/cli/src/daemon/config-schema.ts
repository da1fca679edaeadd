import { z } from 'zod';
import { booleanSetting } from '../settings/index.js';

/*
 * The daemon's section of the tradewatch configuration (`daemon:` in tradewatch.yaml). It lives with the daemon,
 * and src/config composes it, so the daemon depends on no other part's settings. This file loads nothing heavy
 * (no ccxt): every CLI command reads the config.
 */

/** Unified ccxt market symbols: `BTC/USDT:USDT` (linear perpetual), `BTC/USD:BTC` (inverse), `ETH/USDT`. */
const marketSymbol = z
  .string()
  .regex(/^[A-Za-z0-9._-]+\/[A-Za-z0-9._-]+(:[A-Za-z0-9._-]+(-[A-Za-z0-9._-]+)*)?$/, 'expected a unified ccxt symbol such as BTC/USDT:USDT');

const CREDENTIALS_MESSAGE =
  'credentials are read from the environment only (TRADEWATCH_DAEMON_<EXCHANGE>_API_KEY, _SECRET, _PASSWORD), never from the config file';

export const daemonExchangeSchema = z
  .object({
    /** ccxt exchange id with websocket support (ccxt.pro), e.g. `binanceusdm`, `bybit`. */
    id: z.string().regex(/^[a-z][a-z0-9]*$/, 'expected a ccxt exchange id such as binanceusdm or bybit'),
    /** Unified symbols to fetch and stream. */
    symbols: z.array(marketSymbol).min(1).max(500),
    /** Stream liquidations for this exchange (default: daemon.liquidations). */
    liquidations: z.boolean().optional(),
    /** Minimum ms between REST requests (ccxt `rateLimit`); default: ccxt's value for the exchange. */
    rateLimitMs: z.number().int().min(0).max(60_000).optional(),
    /** Use the exchange's testnet (ccxt `setSandboxMode`). */
    sandbox: z.boolean().optional(),
    /**
     * Extra ccxt constructor options, deep-merged over the daemon's own (e.g. `urls` to point the daemon at the
     * simulator or a proxy, `options`). Never credentials.
     */
    ccxt: z.record(z.string(), z.unknown()).optional(),
    apiKey: z.never({ error: CREDENTIALS_MESSAGE }).optional(),
    secret: z.never({ error: CREDENTIALS_MESSAGE }).optional(),
    password: z.never({ error: CREDENTIALS_MESSAGE }).optional(),
  })
  .strict()
  .superRefine((exchange, ctx) => {
    const credentials = exchange.ccxt ? ['apiKey', 'secret', 'password', 'uid', 'privateKey'].filter((key) => key in exchange.ccxt!) : [];
    for (const key of credentials) ctx.addIssue({ code: 'custom', path: ['ccxt', key], message: CREDENTIALS_MESSAGE });
    const seen = new Set<string>();
    exchange.symbols.forEach((symbol, index) => {
      if (seen.has(symbol)) ctx.addIssue({ code: 'custom', path: ['symbols', index], message: `duplicate symbol ${symbol}` });
      seen.add(symbol);
    });
  });

/**
 * `daemon.exchanges` from an environment variable or flag: `binanceusdm=BTC/USDT:USDT,ETH/USDT:USDT;bybit=BTC/USDT:USDT`.
 * Replaces the whole list of the file.
 */
function parseExchangeList(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  return value
    .split(';')
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => {
      const [id, symbols = ''] = part.split('=', 2) as [string, string?];
      return { id: id.trim(), symbols: symbols.split(',').map((s) => s.trim()).filter(Boolean) };
    });
}

export const DEFAULT_DAEMON_EXCHANGES = [
  { id: 'binanceusdm', symbols: ['BTC/USDT:USDT', 'ETH/USDT:USDT'] },
  { id: 'bybit', symbols: ['BTC/USDT:USDT', 'ETH/USDT:USDT'] },
];

export const daemonSchema = z
  .object({
    /** `service` of the daemon's rows and metrics. */
    service: z.string().min(1).max(128).default('ccxt-daemon'),
    exchanges: z
      .preprocess(parseExchangeList, z.array(daemonExchangeSchema).min(1).max(50))
      .default(DEFAULT_DAEMON_EXCHANGES)
      .superRefine((exchanges, ctx) => {
        const seen = new Set<string>();
        exchanges.forEach((exchange, index) => {
          if (seen.has(exchange.id)) ctx.addIssue({ code: 'custom', path: [index, 'id'], message: `exchange ${exchange.id} is listed twice` });
          seen.add(exchange.id);
        });
      }),
    /** Open interest is fetched once per window of this length, windows aligned to the wall clock. */
    openInterestIntervalMs: z.number().int().min(50).max(86_400_000).default(30_000),
    /** Funding rates are fetched once per window of this length. */
    fundingIntervalMs: z.number().int().min(50).max(86_400_000).default(60_000),
    /** Stream liquidations over websockets (per exchange: exchanges[].liquidations). */
    liquidations: booleanSetting(true),
    /** A liquidation stream with neither a message nor a keepalive pong for this long is silent: a gap, and reconnected. */
    staleStreamMs: z.number().int().min(100).max(86_400_000).default(120_000),
    /** One REST request may take this long (never longer than the rest of its window). */
    requestTimeoutMs: z.number().int().min(10).max(300_000).default(10_000),
    /** Websocket reconnect backoff: first delay, doubled per attempt with jitter, up to reconnectMaxMs. */
    reconnectBaseMs: z.number().int().min(1).max(600_000).default(500),
    reconnectMaxMs: z.number().int().min(1).max(3_600_000).default(30_000),
    /**
     * An IP ban without Retry-After (Bybit's HTTP 403 "access too frequent" lasts at least 10 minutes; Binance's WAF
     * 403) pauses every request to that exchange this long: probing sooner would only prolong the ban.
     */
    banPauseMs: z.number().int().min(100).max(86_400_000).default(600_000),
    /** A restricted region (HTTP 451) pauses every request to that exchange this long before one probe. */
    regionBlockPauseMs: z.number().int().min(100).max(86_400_000).default(3_600_000),
    /**
     * A liquidation stream back within this long after it dropped opens no data gap (the disconnect and reconnect are
     * still recorded): exchanges close connections on schedule (Binance every 24 h). 0: every drop is a gap.
     */
    plannedReconnectMs: z.number().int().min(0).max(60_000).default(1000),
    /** Rate-limit status (used weight, quota, throttled) is recorded this often per exchange. */
    rateLimitSampleMs: z.number().int().min(50).max(3_600_000).default(5_000),
    /** Size on disk of the market-data tables is recorded this often (`tw_storage_size`); 0 = never. */
    storageSampleMs: z.number().int().min(0).max(86_400_000).default(60_000),
    /** Port of /metrics, /healthz, /readyz (0 = any free port). */
    metricsPort: z.number().int().min(0).max(65_535).default(9464),
    /** Address of /metrics, /healthz and /readyz: loopback by default; `0.0.0.0` inside a container so Prometheus can scrape it. */
    metricsHost: z.string().min(1).default('127.0.0.1'),
    /** Start the built-in exchange simulator and point every exchange at it (no internet needed). */
    simulate: booleanSetting(false),
  })
  .strict()
  .superRefine((daemon, ctx) => {
    if (daemon.reconnectMaxMs < daemon.reconnectBaseMs) {
      ctx.addIssue({ code: 'custom', path: ['reconnectMaxMs'], message: `must be at least reconnectBaseMs (${daemon.reconnectBaseMs})` });
    }
  });

export type DaemonConfig = z.infer<typeof daemonSchema>;
export type DaemonExchangeConfig = z.infer<typeof daemonExchangeSchema>;
