import { systemClock, type Clock, type Timer } from '../common/clock.js';
import { ErrorCodes, TradewatchError } from '../common/errors.js';
import { getTable } from '../schema/index.js';
import type { TableDef } from '../schema/index.js';
import { Backlog } from './backlog.js';
import { BatchBuilder } from './batch-buffer.js';
import { Delivery } from './delivery.js';
import { IlpHttpSender } from './http-sender.js';
import { encoderFor, type Row, type RowEncoder } from './ilp-encoder.js';
import { Quarantine } from './quarantine.js';
import { RejectedLines } from './rejections.js';
import { Spool } from './spool.js';
import type { Transport } from './transport.js';
import { resolveWriterOptions, type ResolvedWriterOptions, type WriterOptions } from './writer-options.js';
import { WriterCounters, WriterReporter, type WriterStats } from './writer-stats.js';

export type { WriterStats } from './writer-stats.js';

/**
 * The writer: validates and encodes rows synchronously, batches them, and delivers the batches to QuestDB over
 * ILP/HTTP in order, one request at a time. See docs/writer.md for the guarantees.
 *
 * Data flow: write() → current batch (BatchBuilder) → sealed every flushIntervalMs / flushRows → Backlog (memory
 * queue, spool, bounds, backpressure) → Delivery (one request at a time, retry with backoff) → Transport (HTTP).
 * Rows QuestDB refuses are split out into the quarantine (RejectedLines). The counters are shared by these parts
 * (WriterCounters) and read by stats().
 *
 * Backpressure: write() never blocks or refuses a valid row. A producer that can wait reads `needDrain` (raised when
 * the backlog, memory queue plus spool, reaches the high-water mark) and awaits drained() before writing more.
 */
/** What createWriter returns: write rows, then flush and close. */
export interface Writer {
  /**
   * Validates and buffers one row; synchronous. Throws TradewatchError (TW_INVALID_VALUE, TW_UNKNOWN_COLUMN,
   * TW_UNKNOWN_TABLE, TW_WRITER_CLOSED) for bad input, in which case nothing of the row was buffered.
   * It accepts valid rows whatever the backlog; see needDrain for a producer that can wait.
   */
  write(table: TableDef | string, row: Row): void;
  /**
   * Backpressure, like a Node stream's writableNeedDrain: true once the backlog (batches in memory and in the spool
   * not yet acknowledged) reached highWaterMark, until it is back at lowWaterMark. Writing on is allowed (the spool
   * and its full policy take the excess), but only grows the backlog. A field read: cheap enough for every row.
   */
  readonly needDrain: boolean;
  /** Resolves once needDrain is false (at once if it is), or the writer is closed. Never rejects. */
  drained(): Promise<void>;
  /** Resolves once every row written so far is acknowledged by QuestDB, quarantined, spooled (and fsynced), or
   * (memory-only, QuestDB unreachable) held in memory. Never rejects. */
  flush(): Promise<void>;
  /** Flushes, stops the timers and the sender, fsyncs and releases the spool. Idempotent; never rejects. */
  close(): Promise<void>;
  stats(): WriterStats;
}

/** What a writer is built from besides its options; tests replace them (a fake transport, a virtual clock). */
export interface WriterDependencies {
  /** Default: ILP over HTTP to options.url. */
  readonly transport?: Transport;
  /** Flush timer, backoff pauses, lag and error times. Default: the system clock. */
  readonly clock?: Clock;
  /** Backoff jitter. Default Math.random. */
  readonly random?: () => number;
}

/** Creates a writer: rows over ILP/HTTP to QuestDB, batched, with an optional on-disk spool that loses nothing across outages and restarts (docs/writer.md). */
export function createWriter(options: WriterOptions, dependencies: WriterDependencies = {}): Writer {
  return new IlpWriter(resolveWriterOptions(options), dependencies);
}

class IlpWriter implements Writer {
  private readonly clock: Clock;
  private readonly counters = new WriterCounters();
  private readonly builder: BatchBuilder;
  private readonly backlog: Backlog;
  private readonly delivery: Delivery;
  private readonly transport: Transport;
  private readonly reporter: WriterReporter;
  private readonly encodersByName = new Map<string, RowEncoder>();
  private lastTable: TableDef | string | undefined;
  private lastEncoder: RowEncoder | undefined;
  private readonly flushRows: number;
  private readonly maxBatchBytes: number;
  private readonly spoolMaxBytes: number;
  private readonly flushTimer: Timer;
  private closing = false;
  private closePromise: Promise<void> | undefined;

  constructor(options: ResolvedWriterOptions, dependencies: WriterDependencies) {
    this.clock = dependencies.clock ?? systemClock;
    this.flushRows = options.flushRows;
    this.maxBatchBytes = options.maxBatchBytes;
    this.spoolMaxBytes = options.spoolMaxBytes;
    this.reporter = new WriterReporter(options.logger, this.counters, this.clock);
    this.builder = new BatchBuilder(options.maxBatchBytes, () => this.clock.now());
    const spool = options.spoolDir
      ? Spool.open({
          dir: options.spoolDir,
          maxBytes: options.spoolMaxBytes,
          segmentBytes: options.spoolSegmentBytes,
          onFull: options.spoolOnFull,
          logger: options.logger,
          // Evictions happen on append, once the backlog below exists.
          onEvicted: (rows, records) => this.backlog.evicted(rows, records),
        })
      : undefined;
    this.transport = dependencies.transport ?? new IlpHttpSender({ url: options.url, token: options.token, timeoutMs: options.requestTimeoutMs });
    this.backlog = new Backlog(options, spool, this.counters, this.reporter, () => !this.delivery.connected);
    const rejections = new RejectedLines(this.transport, new Quarantine(options.quarantineDir, options.logger), this.counters, this.reporter, this.clock);
    this.delivery = new Delivery(
      this.transport,
      this.backlog,
      rejections,
      this.counters,
      this.reporter,
      this.clock,
      { retry: options.retry, configErrorDelayMs: options.retry.configErrorDelayMs, spoolDir: options.spoolDir },
      dependencies.random,
    );
    // Unref'd: the writer must not keep a process alive by itself. Call close() to deliver the rest.
    this.flushTimer = this.clock.setInterval(() => this.sealCurrent(), options.flushIntervalMs, { keepAlive: false });
    this.delivery.start();
  }

  write(table: TableDef | string, row: Row): void {
    if (this.closing) throw new TradewatchError(ErrorCodes.WRITER_CLOSED, 'writer is closed; rows can no longer be written', {});
    // Callers usually write runs of one table: a one-entry memo saves the table → encoder look-up.
    const encoder = table === this.lastTable ? this.lastEncoder! : this.encoder(table);
    this.builder.add(encoder, row);
    this.counters.rowsAccepted++;
    if (this.builder.rows >= this.flushRows || this.builder.bytes >= this.maxBatchBytes) this.sealCurrent();
  }

  async flush(): Promise<void> {
    this.sealCurrent();
    await this.backlog.settled(this.backlog.lastSequence);
    this.backlog.syncSpool();
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    this.closing = true;
    // A producer waiting for drained() must not wait forever on a closed writer (its next write() throws anyway).
    this.backlog.releaseDrainWaiters();
    this.flushTimer.cancel();
    this.closePromise = this.shutdown();
    return this.closePromise;
  }

  get needDrain(): boolean {
    return this.backlog.needDrain;
  }

  drained(): Promise<void> {
    return this.closing ? Promise.resolve() : this.backlog.drained();
  }

  stats(): WriterStats {
    const backlog = this.backlog.state();
    const spool = this.backlog.spool;
    const oldest = backlog.oldestAt ?? this.builder.firstRowAt;
    const c = this.counters;
    return {
      rowsAccepted: c.rowsAccepted,
      rowsWritten: c.rowsWritten,
      rowsRejected: c.rowsRejected,
      rowsDropped: c.rowsDropped,
      rowsSpooled: c.rowsSpooled,
      rowsReplayed: c.rowsReplayed,
      batchesSent: c.batchesSent,
      queueRows: backlog.rows + this.builder.rows,
      queueBytes: backlog.bytes + this.builder.bytes,
      spoolBytes: spool?.bytes ?? 0,
      spoolSegments: spool?.segmentCount ?? 0,
      spoolRows: backlog.spoolRows,
      spoolCorruptRecords: spool?.corruptRecords ?? 0,
      spoolMaxBytes: spool ? this.spoolMaxBytes : 0,
      connected: this.delivery.connected,
      lastError: c.lastError,
      lastErrorAt: c.lastErrorAt,
      lagMs: oldest === undefined ? 0 : Math.max(0, this.clock.now() - oldest),
      lastFlushMs: c.lastFlushMs,
    };
  }

  private encoder(table: TableDef | string): RowEncoder {
    let encoder: RowEncoder | undefined;
    if (typeof table !== 'string') {
      encoder = encoderFor(table);
    } else {
      encoder = this.encodersByName.get(table);
      if (encoder === undefined) {
        encoder = encoderFor(getTable(table));
        this.encodersByName.set(table, encoder);
      }
    }
    this.lastTable = table;
    this.lastEncoder = encoder;
    return encoder;
  }

  private sealCurrent(): void {
    const batch = this.builder.seal();
    if (!batch) return;
    this.backlog.enqueue(batch);
    this.delivery.notify();
  }

  private async shutdown(): Promise<void> {
    await this.flush();
    await this.delivery.stop();
    const lost = this.backlog.close();
    if (lost > 0) {
      this.reporter.log('error', { rows: lost }, 'writer closed before QuestDB acknowledged some rows and they could not be spooled; they are lost');
    }
    this.transport.close();
  }
}
