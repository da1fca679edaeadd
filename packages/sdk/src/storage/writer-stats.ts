import type { Clock } from '../common/clock.js';
import { safeLog, type WriterLogger } from './logger.js';

/** What writer.stats() reports: running totals, what is held where, and the connection state (docs/writer.md). */
export interface WriterStats {
  /** Rows write() accepted (validated and buffered). */
  readonly rowsAccepted: number;
  /** Rows QuestDB acknowledged, replayed ones included. */
  readonly rowsWritten: number;
  /** Rows QuestDB refused; they are in the quarantine. */
  readonly rowsRejected: number;
  /** Rows given up by an overflow policy (memory bound without spool, or full spool) or lost at close (memory-only). */
  readonly rowsDropped: number;
  /** Rows that went to the spool. */
  readonly rowsSpooled: number;
  /** Rows acknowledged after a replay from the spool. */
  readonly rowsReplayed: number;
  /** Successful HTTP requests. */
  readonly batchesSent: number;
  /**
   * Rows and bytes held in memory and not yet acknowledged (the batch being filled included, and a batch in flight
   * from the spool once the spool evicted it). rowsAccepted = rowsWritten + rowsRejected + rowsDropped + queueRows +
   * spoolRows at every moment.
   */
  readonly queueRows: number;
  readonly queueBytes: number;
  /** Spool: bytes of segment files, number of segments, rows waiting for replay, damaged records skipped. */
  readonly spoolBytes: number;
  readonly spoolSegments: number;
  readonly spoolRows: number;
  readonly spoolCorruptRecords: number;
  /** The spool's bound (`spool.maxBytes`): a full spool gives rows up. 0 without a spool. */
  readonly spoolMaxBytes: number;
  /** False while the last attempt to reach QuestDB failed. */
  readonly connected: boolean;
  readonly lastError: string | undefined;
  /** ms since epoch of lastError. */
  readonly lastErrorAt: number | undefined;
  /** Age of the oldest row not yet acknowledged, ms (0 when everything is acknowledged). */
  readonly lagMs: number;
  /** Duration of the last successful request, ms. */
  readonly lastFlushMs: number | undefined;
}

/** The writer's running totals, shared by its parts (backlog, delivery, rejections) and read by stats(). */
export class WriterCounters {
  rowsAccepted = 0;
  rowsWritten = 0;
  rowsRejected = 0;
  rowsDropped = 0;
  rowsSpooled = 0;
  rowsReplayed = 0;
  batchesSent = 0;
  lastError: string | undefined;
  lastErrorAt: number | undefined;
  lastFlushMs: number | undefined;
}

const MAX_ERROR_CHARS = 1000;
/** A recurring condition is logged at most once per this, so an outage does not flood the log. */
const REPEAT_LOG_MS = 60_000;

/** How the writer's parts report: `lastError` for stats(), and log lines, recurring ones throttled. */
export class WriterReporter {
  private readonly lastReportAt = new Map<string, number>();

  constructor(
    private readonly logger: WriterLogger,
    private readonly counters: WriterCounters,
    private readonly clock: Clock,
  ) {}

  noteError(message: string): void {
    this.counters.lastError = message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message;
    this.counters.lastErrorAt = this.clock.now();
  }

  log(level: 'info' | 'warn' | 'error', context: object, message: string): void {
    safeLog(this.logger, level, context, message);
  }

  /** Logs `message` unless it was logged (or marked) within the last minute. */
  throttled(level: 'warn' | 'error', context: object, message: string): void {
    const now = this.clock.now();
    if (now - (this.lastReportAt.get(message) ?? 0) < REPEAT_LOG_MS) return;
    this.lastReportAt.set(message, now);
    safeLog(this.logger, level, context, message);
  }

  /** Counts `message` as logged now: a first report said it already in other words. */
  markReported(message: string): void {
    this.lastReportAt.set(message, this.clock.now());
  }
}
