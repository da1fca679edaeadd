import { col, exchange, producer, RAW_TTL, ROLLUP_TTLS, SHORT_RAW_TTL, symbol, ts, years } from '../columns.js';
import type { TableDef } from '../types.js';

export const CONNECTION_STATES = ['connected', 'disconnected', 'reconnecting'] as const;

const channel = () =>
  symbol('channel', 'Connection within the exchange: `rest`, or a websocket stream such as `liquidations`.', 256, {
    required: true,
  });

export const connectionEvents: TableDef = {
  name: 'tw_connection_events',
  group: 'exchange',
  description:
    'Connection state changes per exchange and channel. A `connected` row after an outage carries the downtime.',
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    exchange(),
    channel(),
    symbol('state', 'New state.', 8, { required: true, values: [...CONNECTION_STATES] }),
    col('reason', 'VARCHAR', 'Why the state changed (close code, error), when known.'),
    col('downtime_s', 'DOUBLE', 'On `connected`: seconds since the connection was lost.', { unit: 's' }),
    col('attempt', 'INT', 'On `reconnecting`: attempt number since the connection was lost.'),
  ],
  partitionBy: 'DAY',
  ttl: years(2),
  dedupKeys: ['ts', 'service', 'instance', 'exchange', 'channel'],
};

export const connectionSamples: TableDef = {
  name: 'tw_connection_samples',
  group: 'exchange',
  description:
    'Per exchange and channel, sampled periodically: current state, messages and websocket latency over the interval, last message time, reconnects so far.',
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    exchange(),
    channel(),
    col('connected', 'BOOLEAN', 'Connected at sample time.'),
    col('messages', 'LONG', 'Messages received during the interval.'),
    col('latency_ms_avg', 'FLOAT', 'Mean of receive time − exchange time over the interval.', { unit: 'ms' }),
    col('latency_ms_max', 'FLOAT', 'Worst latency over the interval.', { unit: 'ms' }),
    col('last_message_ts', 'TIMESTAMP', 'When the last message was received (UTC).'),
    col('reconnects', 'LONG', 'Reconnects since the process started.'),
  ],
  partitionBy: 'DAY',
  // Sampled every second per connection: a month of raw seconds (a documented exception to 90 days raw, see
  // RETENTION_EXCEPTIONS), then a year of minutes and five years of hours.
  ttl: SHORT_RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance', 'exchange', 'channel'],
  rollup: {
    groupBy: ['service', 'exchange', 'channel'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Samples in the bucket.' },
      { name: 'messages', fn: 'sum', column: 'messages', description: 'Messages received.' },
      { name: 'latency_ms_avg_sum', fn: 'sum', column: 'latency_ms_avg', description: 'Sum of interval means (divide by samples).' },
      { name: 'latency_ms_max', fn: 'max', column: 'latency_ms_max', description: 'Worst latency.' },
      { name: 'last_message_ts', fn: 'max', column: 'last_message_ts', description: 'Last message time.' },
      { name: 'reconnects', fn: 'max', column: 'reconnects', description: 'Reconnect counter at the end of the bucket.' },
    ],
    ttl: ROLLUP_TTLS,
  },
};

export const rateLimits: TableDef = {
  name: 'tw_rate_limits',
  group: 'exchange',
  description: 'Rate-limit budget per exchange: weight used of the quota, and whether requests are being throttled.',
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    exchange(),
    col('used', 'DOUBLE', 'Weight or requests used in the current window.'),
    col('quota', 'DOUBLE', 'Weight or requests allowed per window.'),
    col('throttled', 'BOOLEAN', 'Requests are being delayed or refused (HTTP 429/418).'),
    col('retry_after_s', 'FLOAT', 'Retry-After the exchange asked for, if any.', { unit: 's' }),
  ],
  partitionBy: 'DAY',
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance', 'exchange'],
  rollup: {
    groupBy: ['service', 'exchange'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Samples in the bucket.' },
      { name: 'used_max', fn: 'max', column: 'used', description: 'Peak usage.' },
      { name: 'quota', fn: 'last', column: 'quota', description: 'Quota at the end of the bucket.' },
    ],
    ttl: ROLLUP_TTLS,
  },
};
