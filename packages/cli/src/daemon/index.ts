/**
 * The reference CCXT daemon: open interest and funding rates on wall-clock schedules, liquidations over
 * websockets, data gaps, connection states and rate limits, all reported through the monitoring SDK.
 * It reaches exchanges (and the simulator) only over the network.
 */
export { createDaemon, daemonConfig, type Daemon, type DaemonOptions, type DaemonStatus, type ExchangeStatus } from './daemon.js';
export { credentialEnvNames, validateExchanges as validateDaemonExchanges } from './ccxt-exchange.js';
export { readRateLimit, type RateLimitReading } from './rate-limit.js';
export { classify, retryAfterSeconds, type ErrorClass } from './errors.js';
export { daemonSchema, type DaemonConfig, type DaemonExchangeConfig } from './config-schema.js';
