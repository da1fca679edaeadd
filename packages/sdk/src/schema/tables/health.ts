import { col, producer, RAW_TTL, ROLLUP_TTLS, SHORT_RAW_TTL, symbol, ts, years } from '../columns.js';
import type { TableDef } from '../types.js';

export const processSamples: TableDef = {
  name: 'tw_process_samples',
  group: 'health',
  description: 'Process health sampled periodically (default every 5 s): uptime, memory, CPU, event-loop lag.',
  timestamp: 'ts',
  columns: [
    ts('Sample time (UTC, microseconds).'),
    ...producer(),
    col('pid', 'INT', 'Operating-system process id.'),
    col('uptime_s', 'DOUBLE', 'Seconds since the process started.', { unit: 's' }),
    col('rss_bytes', 'LONG', 'Resident set size.', { unit: 'bytes' }),
    col('heap_used_bytes', 'LONG', 'JavaScript heap in use (or the runtime equivalent).', { unit: 'bytes' }),
    col('heap_total_bytes', 'LONG', 'JavaScript heap reserved.', { unit: 'bytes' }),
    col('cpu_percent', 'FLOAT', 'CPU use since the previous sample, user + system; 100 = one full core.', { unit: '%' }),
    col('event_loop_lag_ms', 'FLOAT', 'Event-loop delay (p99 over the interval).', { unit: 'ms' }),
    // Appended (not next to instance): `schema apply` adds new columns at the end of an existing table, so a new
    // and an upgraded table keep the same column order.
    symbol('host', 'Host name of the machine the process runs on (os.hostname(), or the monitor\'s `host` option); the instance may be a replica id.', 256),
    symbol('version', 'Version of the producing software, as given to the monitor.', 256),
  ],
  partitionBy: 'DAY',
  // Sampled every second per process: a month of raw seconds (a documented exception to 90 days raw, see
  // RETENTION_EXCEPTIONS), then a year of minutes and five years of hours.
  ttl: SHORT_RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance'],
  rollup: {
    groupBy: ['service', 'instance'],
    measures: [
      { name: 'samples', fn: 'count', description: 'Samples in the bucket.' },
      { name: 'uptime_s', fn: 'last', column: 'uptime_s', description: 'Uptime at the end of the bucket.' },
      { name: 'rss_bytes_max', fn: 'max', column: 'rss_bytes', description: 'Peak RSS.' },
      { name: 'rss_bytes_sum', fn: 'sum', column: 'rss_bytes', description: 'Sum of RSS (divide by samples for the mean).' },
      { name: 'heap_used_bytes_max', fn: 'max', column: 'heap_used_bytes', description: 'Peak heap in use.' },
      { name: 'cpu_percent_sum', fn: 'sum', column: 'cpu_percent', description: 'Sum of CPU % (divide by samples).' },
      { name: 'cpu_percent_max', fn: 'max', column: 'cpu_percent', description: 'Peak CPU %.' },
      { name: 'event_loop_lag_ms_max', fn: 'max', column: 'event_loop_lag_ms', description: 'Worst event-loop lag.' },
    ],
    ttl: ROLLUP_TTLS,
  },
};

export const processEvents: TableDef = {
  name: 'tw_process_events',
  group: 'health',
  description: 'Process lifecycle: one `start` row per process start and one `stop` row per clean stop; restarts = starts − 1 per instance over a range, and a `start` without a preceding `stop` marks a crash.',
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    symbol('event', 'Lifecycle event.', 8, { required: true, values: ['start', 'stop'] }),
    col('pid', 'INT', 'Operating-system process id.'),
    symbol('version', 'Version of the producing software.', 256),
    col('reason', 'VARCHAR', 'Why the process stopped (signal, error), when known.'),
  ],
  partitionBy: 'DAY',
  ttl: years(5),
  dedupKeys: ['ts', 'service', 'instance', 'event'],
};

export const errors: TableDef = {
  name: 'tw_errors',
  group: 'health',
  description: 'Errors reported by a process, one row each, with where they happened and what kind they are.',
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    symbol('component', 'Part of the process that failed, e.g. `fetcher`, `websocket`, `writer`.', 256, { required: true }),
    symbol('exchange', 'Exchange involved, if any.', 128),
    symbol('kind', 'Error class, e.g. `NetworkError`, `RateLimitExceeded`, `ExchangeNotAvailable`.', 512, { required: true }),
    col('message', 'VARCHAR', 'Error message (truncated to 4 KiB).'),
  ],
  partitionBy: 'DAY',
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance', 'component', 'kind'],
  rollup: {
    groupBy: ['service', 'component', 'exchange', 'kind'],
    measures: [{ name: 'errors', fn: 'count', description: 'Errors in the bucket.' }],
    ttl: ROLLUP_TTLS,
  },
};

export const storageSize: TableDef = {
  name: 'tw_storage_size',
  group: 'health',
  description: "Size of a process's data stores (Parquet directories, QuestDB tables), sampled periodically.",
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    symbol('store', 'Which store: a dataset directory, a table, a volume.', 1024, { required: true }),
    col('bytes', 'LONG', 'Bytes on disk.', { unit: 'bytes', required: true }),
    col('files', 'LONG', 'Files in the store, when meaningful.'),
  ],
  partitionBy: 'DAY',
  ttl: years(1),
  dedupKeys: ['ts', 'service', 'instance', 'store'],
};

export const writerStats: TableDef = {
  name: 'tw_writer_stats',
  group: 'internal',
  description: "The tradewatch writer's own health, sampled periodically by each writer.",
  timestamp: 'ts',
  columns: [
    ts(),
    ...producer(),
    col('queue_rows', 'LONG', 'Rows buffered in memory, not yet acknowledged.'),
    col('queue_bytes', 'LONG', 'Bytes buffered in memory.', { unit: 'bytes' }),
    col('spool_bytes', 'LONG', 'Bytes waiting in the on-disk spool.', { unit: 'bytes' }),
    col('rows_written', 'LONG', 'Rows acknowledged by QuestDB since the writer started.'),
    col('rows_rejected', 'LONG', 'Rows QuestDB rejected and the writer quarantined.'),
    col('rows_dropped', 'LONG', 'Rows dropped by the overflow policy.'),
    col('rows_spooled', 'LONG', 'Rows that went through the spool.'),
    col('rows_replayed', 'LONG', 'Rows replayed from the spool.'),
    col('lag_ms', 'FLOAT', 'Age of the oldest unacknowledged row.', { unit: 'ms' }),
    col('last_error', 'VARCHAR', 'Most recent error, if any.'),
  ],
  partitionBy: 'DAY',
  ttl: RAW_TTL,
  dedupKeys: ['ts', 'service', 'instance'],
};
