import { performance } from 'node:perf_hooks';
import { ErrorCodes, TradewatchError } from '../common/errors.js';
import { getTable, schema } from '../schema/index.js';
import type { TableDef } from '../schema/types.js';
import { BatchBuilder, type SealedBatch } from './batch-buffer.js';
import { IlpHttpSender, type SendOutcome } from './http-sender.js';
import { encoderFor, type Row, type RowEncoder } from './ilp-encoder.js';
import { splitLines, tableOfLine } from './ilp-lines.js';
import { safeLog } from './logger.js';
import { Quarantine } from './quarantine.js';
import { Spool, type SpoolRecord } from './spool.js';
import { resolveWriterOptions, type ResolvedWriterOptions, type WriterOptions } from './writer-options.js';

/**
 * The writer: validates and encodes rows synchronously, batches them, and delivers the batches to QuestDB over
 * ILP/HTTP in order, one request at a time. See docs/writer.md for the guarantees.
 *
 * Data flow: write() → current batch → (sealed every flushIntervalMs / flushRows) → memory queue → QuestDB.
 * When several batches wait, one request carries as many consecutive ones as fit in maxBatchBytes.
 * While QuestDB is unreachable, or the memory queue outgrows maxBufferedBytes, batches go to the spool instead;
 * as long as the spool holds anything, new batches are appended behind it, so replay keeps the original order.
 * A batch leaves memory or the spool only once QuestDB answered 2xx for it (or for all of its lines that it did not
 * reject). Nothing in the background throws: failures become counters, `lastError` and log lines.
 *
 * Backpressure: write() never blocks or refuses a valid row. A producer that can wait reads `needDrain` (raised when
 * the backlog, memory queue plus spool, reaches the high-water mark) and awaits drained() before writing more.
 */

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

/** Creates a writer: rows over ILP/HTTP to QuestDB, batched, with an optional on-disk spool that loses nothing across outages and restarts (docs/writer.md). */
export function createWriter(options: WriterOptions): Writer {
  return new IlpWriter(resolveWriterOptions(options));
}

/** A batch on its way: from memory (seq set) or replayed from the spool (spoolRecord set). */
interface WorkItem {
  payload: Buffer;
  rows: number;
  readonly firstRowAt: number;
  readonly seq: number | undefined;
  spoolRecord: SpoolRecord | undefined;
  /**
   * Memory batches: the lease on the builder's buffer behind `payload`, until retire() decides whether the buffer
   * may be reused. Undefined for spool replays and once `payload` no longer points into it.
   */
  batch: SealedBatch | undefined;
  /** Requests that carried `payload` (or part of it): once sent, only a lone acknowledged request frees it. */
  sends: number;
}

type DeliveryResult = 'delivered' | 'unavailable' | 'config';

const MAX_ERROR_CHARS = 1000;
const REPEAT_LOG_MS = 60_000;
const STILL_UNREACHABLE = 'QuestDB still unreachable';

class IlpWriter implements Writer {
  private readonly options: ResolvedWriterOptions;
  private readonly sender: IlpHttpSender;
  private readonly spool: Spool | undefined;
  private readonly quarantine: Quarantine;
  private readonly encodersByName = new Map<string, RowEncoder>();
  private readonly builder: BatchBuilder;
  private lastTable: TableDef | string | undefined;
  private lastEncoder: RowEncoder | undefined;
  private readonly flushRows: number;
  private readonly maxBatchBytes: number;

  /** Sealed batches waiting for the sender, oldest first. */
  private readonly memQueue: WorkItem[] = [];
  /** Payload bytes of memQueue plus in-flight batches from memory. */
  private memBytes = 0;
  /**
   * The request in flight: consecutive batches, oldest first, all from memory or all from the spool. Each leaves
   * it when QuestDB acknowledged it (completed()). Empty while no request is out.
   */
  private inFlight: WorkItem[] = [];

  /** Batch sequence numbers that flush() still has to wait for. */
  private lastSeq = 0;
  private readonly unsettled = new Set<number>();
  private readonly flushWaiters: { upTo: number; resolve: () => void }[] = [];

  private down = false;
  private downSince = 0;
  private failures = 0;
  private readonly lastReportAt = new Map<string, number>();
  private closing = false;
  private stopping = false;
  private closePromise: Promise<void> | undefined;
  private readonly pump: Promise<void>;
  private wakePump: (() => void) | undefined;
  private sleepTimer: NodeJS.Timeout | undefined;
  private wakeSleep: (() => void) | undefined;
  private readonly flushTimer: NodeJS.Timeout;
  private readonly healthTimer: NodeJS.Timeout | undefined;
  private lastHealthTs = 0;
  private healthFailureLogged = false;

  /** needDrain; updated whenever a batch enters or leaves the backlog, never per row. */
  private backpressured = false;
  private drainedPromise: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  private rowsAccepted = 0;
  private rowsWritten = 0;
  private rowsRejected = 0;
  private rowsDropped = 0;
  private rowsSpooled = 0;
  private rowsReplayed = 0;
  private batchesSent = 0;
  private lastError: string | undefined;
  private lastErrorAt: number | undefined;
  private lastFlushMs: number | undefined;

  constructor(options: ResolvedWriterOptions) {
    this.options = options;
    this.flushRows = options.flushRows;
    this.maxBatchBytes = options.maxBatchBytes;
    this.builder = new BatchBuilder(options.maxBatchBytes);
    this.spool = options.spoolDir
      ? Spool.open({
          dir: options.spoolDir,
          maxBytes: options.spoolMaxBytes,
          segmentBytes: options.spoolSegmentBytes,
          onFull: options.spoolOnFull,
          logger: options.logger,
          onEvicted: (rows, records) => this.evicted(rows, records),
        })
      : undefined;
    this.sender = new IlpHttpSender({ url: options.url, token: options.token, timeoutMs: options.requestTimeoutMs });
    this.quarantine = new Quarantine(options.quarantineDir, options.logger);
    // Timers are unref'd: the writer must not keep a process alive by itself. Call close() to deliver the rest.
    this.flushTimer = setInterval(() => this.sealCurrent(), options.flushIntervalMs);
    this.flushTimer.unref();
    if (options.healthIntervalMs > 0) {
      this.healthTimer = setInterval(() => this.writeHealthRow(), options.healthIntervalMs);
      this.healthTimer.unref();
    }
    this.pump = this.runPump();
  }

  write(table: TableDef | string, row: Row): void {
    if (this.closing) throw new TradewatchError(ErrorCodes.WRITER_CLOSED, 'writer is closed; rows can no longer be written', {});
    // Callers usually write runs of one table: a one-entry memo saves the table → encoder look-up.
    const encoder = table === this.lastTable ? this.lastEncoder! : this.encoder(table);
    this.builder.add(encoder, row);
    this.rowsAccepted++;
    if (this.builder.rows >= this.flushRows || this.builder.bytes >= this.maxBatchBytes) this.sealCurrent();
  }

  async flush(): Promise<void> {
    this.sealCurrent();
    const upTo = this.lastSeq;
    await new Promise<void>((resolve) => {
      if (this.settledUpTo(upTo)) resolve();
      else this.flushWaiters.push({ upTo, resolve });
    });
    this.syncSpool();
  }

  close(): Promise<void> {
    if (this.closePromise) return this.closePromise;
    if (this.healthTimer) {
      clearInterval(this.healthTimer);
      this.writeHealthRow();
    }
    this.closing = true;
    // A producer waiting for drained() must not wait forever on a closed writer (its next write() throws anyway).
    this.releaseDrainWaiters();
    clearInterval(this.flushTimer);
    this.closePromise = this.shutdown();
    return this.closePromise;
  }

  get needDrain(): boolean {
    return this.backpressured;
  }

  drained(): Promise<void> {
    if (!this.backpressured || this.closing) return Promise.resolve();
    this.drainedPromise ??= new Promise<void>((resolve) => (this.resolveDrained = resolve));
    return this.drainedPromise;
  }

  stats(): WriterStats {
    let queueRows = this.builder.rows;
    let spoolRowsDone = 0;
    for (const item of this.inFlight) {
      // An in-flight batch counts where it lives: in memory, in the spool, or in memory again once the spool evicted it.
      if (!this.inSpool(item)) queueRows += item.rows;
      // A spool record part of which was written or quarantined before QuestDB went away (while splitting out a
      // rejected line) is still whole in the spool; only the rest of it is still pending.
      else spoolRowsDone += item.spoolRecord!.rows - item.rows;
    }
    for (const item of this.memQueue) queueRows += item.rows;
    const oldest = this.inFlight[0]?.firstRowAt ?? this.spool?.oldestPendingAt ?? this.memQueue[0]?.firstRowAt ?? this.builder.firstRowAt;
    return {
      rowsAccepted: this.rowsAccepted,
      rowsWritten: this.rowsWritten,
      rowsRejected: this.rowsRejected,
      rowsDropped: this.rowsDropped,
      rowsSpooled: this.rowsSpooled,
      rowsReplayed: this.rowsReplayed,
      batchesSent: this.batchesSent,
      queueRows,
      queueBytes: this.memBytes + this.builder.bytes,
      spoolBytes: this.spool?.bytes ?? 0,
      spoolSegments: this.spool?.segmentCount ?? 0,
      spoolRows: (this.spool?.pendingRows ?? 0) - spoolRowsDone,
      spoolCorruptRecords: this.spool?.corruptRecords ?? 0,
      connected: !this.down,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
      lagMs: oldest === undefined ? 0 : Math.max(0, Date.now() - oldest),
      lastFlushMs: this.lastFlushMs,
    };
  }

  // ---- batching -------------------------------------------------------------------------------------------------

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
    if (batch) this.enqueue(batch);
  }

  private enqueue(batch: SealedBatch): void {
    const item: WorkItem = {
      payload: batch.payload,
      rows: batch.rows,
      firstRowAt: batch.firstRowAt,
      seq: ++this.lastSeq,
      spoolRecord: undefined,
      batch,
      sends: 0,
    };
    this.unsettled.add(item.seq!);
    // Behind a non-empty spool (or while QuestDB is away) new batches queue on disk, so replay keeps the order.
    if (this.spool && (this.spool.pendingRecords > 0 || this.down) && this.toSpool(item)) {
      this.updateBackpressure();
      this.notifyPump();
      return;
    }
    this.memQueue.push(item);
    this.memBytes += item.payload.length;
    // While QuestDB is unreachable, flush() must not wait for the outage to end: held in memory is all we can do.
    if (this.down) this.settle(item.seq);
    this.enforceMemoryBound();
    this.updateBackpressure();
    this.notifyPump();
  }

  // ---- backpressure ---------------------------------------------------------------------------------------------

  /** Bytes waiting for QuestDB: the memory queue (with a batch in flight from it) and the spool's pending records. */
  private backlogBytes(): number {
    return this.memBytes + (this.spool?.pendingBytes ?? 0);
  }

  /** Raises needDrain at the high-water mark and lowers it at the low-water mark (apart, so it does not flap). */
  private updateBackpressure(): void {
    if (this.backpressured) {
      if (this.backlogBytes() > this.options.lowWaterMark) return;
      this.backpressured = false;
      this.releaseDrainWaiters();
    } else if (this.backlogBytes() >= this.options.highWaterMark) {
      this.backpressured = true;
    }
  }

  private releaseDrainWaiters(): void {
    const resolve = this.resolveDrained;
    this.resolveDrained = undefined;
    this.drainedPromise = undefined;
    // On the next turn, not now: the acknowledgement that lowered the backlog is still on its way through the pump,
    // which sends the next batch a few promise hops later. Woken now, a producer would take the thread first and
    // QuestDB would sit idle through its whole slice (the overload bench delivered ~40% less that way).
    if (resolve) setImmediate(resolve);
  }

  /**
   * The spool's drop-oldest policy evicted a segment. Its records in flight are not dropped: their bytes are in
   * memory and on their way, and they stay in flight until delivered (or counted lost at close). Counting them as
   * dropped here, as well as written when QuestDB acknowledged them, over-counted 40,000 rows in the overload bench.
   */
  private evicted(evictedRows: number, records: readonly SpoolRecord[]): void {
    let rows = evictedRows;
    for (const record of records) if (this.inFlight.some((item) => item.spoolRecord === record)) rows -= record.rows;
    if (rows > 0) {
      this.rowsDropped += rows;
      this.noteError(`spool full: dropped ${rows} oldest rows`);
      this.reportThrottled('error', { spool: this.spool?.dir, rowsDropped: this.rowsDropped }, 'spool full; dropping its oldest segments');
    }
    this.updateBackpressure();
  }

  private enforceMemoryBound(): void {
    if (this.memBytes <= this.options.maxBufferedBytes) return;
    if (this.spool && this.spillToSpool()) return;
    let droppedRows = 0;
    while (this.memBytes > this.options.maxBufferedBytes && this.memQueue.length > 0) {
      const oldest = this.memQueue.shift()!;
      this.memBytes -= oldest.payload.length;
      droppedRows += oldest.rows;
      this.settle(oldest.seq);
      this.retire(oldest, false);
    }
    if (droppedRows > 0) {
      this.updateBackpressure();
      this.rowsDropped += droppedRows;
      this.noteError(`memory buffer full (${this.options.maxBufferedBytes} bytes): dropped ${droppedRows} oldest rows`);
      this.reportThrottled('error', { droppedRows, rowsDropped: this.rowsDropped }, 'writer buffer full; dropping the oldest rows');
    }
  }

  /** Moves the memory queue to the spool, in order. False if the spool could not take it (I/O error). */
  private spillToSpool(): boolean {
    while (this.memQueue.length > 0) {
      const item = this.memQueue[0]!;
      if (!this.toSpool(item)) return false;
      this.memQueue.shift();
      this.memBytes -= item.payload.length;
    }
    return true;
  }

  /** Appends a memory batch to the spool. True when the batch is settled (spooled, or refused by a full spool). */
  private toSpool(item: WorkItem): boolean {
    let result: 'spooled' | 'full';
    try {
      result = this.spool!.append(item.payload, item.rows, item.firstRowAt);
    } catch (err) {
      this.noteError(`spool write failed: ${(err as Error).message}`);
      this.reportThrottled('error', { spool: this.spool!.dir, reason: (err as Error).message }, 'cannot write to the spool; keeping batches in memory');
      return false;
    }
    if (result === 'full') {
      this.rowsDropped += item.rows;
      this.noteError(`spool full (${this.options.spoolMaxBytes} bytes): dropped ${item.rows} new rows`);
      this.reportThrottled('error', { rowsDropped: this.rowsDropped }, 'spool full; dropping new batches');
    } else {
      this.rowsSpooled += item.rows;
    }
    this.settle(item.seq);
    // Spool.append wrote the bytes with a synchronous writev and keeps no reference to them.
    this.retire(item, false);
    return true;
  }

  /**
   * The writer is done with a memory batch's bytes: its buffer goes back to the builder if nothing else can still
   * hold them, that is if it was never sent, or QuestDB acknowledged it after exactly one request (a 2xx means
   * QuestDB read the whole body, so no byte of it is still waiting in the socket). A batch whose request failed or
   * was rejected may have left bytes in an abandoned socket's write queue: its buffer is never reused. Once.
   */
  private retire(item: WorkItem, acknowledged: boolean): void {
    const batch = item.batch;
    if (batch === undefined) return;
    item.batch = undefined;
    if (item.sends === 0 || (acknowledged && item.sends === 1)) batch.release();
    else batch.abandon();
  }

  // ---- delivery -------------------------------------------------------------------------------------------------

  private async runPump(): Promise<void> {
    // Let the constructor finish before the first await (it assigns this.pump).
    await Promise.resolve();
    for (;;) {
      if (this.stopping) return;
      try {
        await this.pumpOnce();
      } catch (err) {
        // A bug or an unexpected I/O failure, not an outage; never let it escape, and never spin.
        safeLog(this.options.logger, 'error', { reason: (err as Error).stack ?? String(err) }, 'writer delivery failed unexpectedly');
        this.noteError(`internal: ${(err as Error).message}`);
        this.failures++;
        if (!this.stopping) await this.sleep(this.backoffDelay());
      }
    }
  }

  /** One step: send the next request (or wait for a batch), then on failure park the data and back off. */
  private async pumpOnce(): Promise<void> {
    if (this.inFlight.length === 0) this.inFlight = this.takeNext();
    const group = this.inFlight;
    if (group.length === 0) {
      await new Promise<void>((resolve) => (this.wakePump = resolve));
      return;
    }
    const result = await this.deliverGroup(group);
    if (result === 'delivered') return;
    this.holdUndelivered();
    if (this.stopping) return;
    await this.sleep(result === 'config' ? this.options.configErrorDelayMs : this.backoffDelay());
  }

  /**
   * The next request: the oldest batches, from the spool while it holds any, else from memory; as many consecutive
   * ones as fit in maxBatchBytes. Why several: a producer on the writer's thread lets the pump run once per turn of
   * the event loop, and one request per turn then has to carry what piled up meanwhile (one batch per request held
   * the overload bench to ~300k rows/s). While QuestDB is unreachable, a single batch probes it.
   */
  private takeNext(): WorkItem[] {
    const maxBytes = this.down ? 0 : this.maxBatchBytes;
    if (this.spool && this.spool.pendingRecords > 0) {
      const run = this.spool.peekRun(maxBytes);
      if (run.length > 0) {
        return run.map(({ record, payload }) => ({ payload, rows: record.rows, firstRowAt: record.createdAtMs, seq: undefined, spoolRecord: record, batch: undefined, sends: 0 }));
      }
    }
    const group: WorkItem[] = [];
    let bytes = 0;
    while (this.memQueue.length > 0 && (group.length === 0 || bytes + this.memQueue[0]!.payload.length <= maxBytes)) {
      const item = this.memQueue.shift()!;
      bytes += item.payload.length;
      group.push(item);
    }
    return group;
  }

  /** True while the spool still holds `item` as it was read: then the spool, not memory, is where its rows wait. */
  private inSpool(item: WorkItem): boolean {
    return item.spoolRecord !== undefined && this.spool !== undefined && this.spool.holds(item.spoolRecord);
  }

  private async deliverGroup(group: readonly WorkItem[]): Promise<DeliveryResult> {
    if (group.length === 1) return this.deliver(group[0]!);
    const started = performance.now();
    for (const item of group) item.sends++;
    const outcome = await this.sender.send(group.map((item) => item.payload));
    if (outcome.kind === 'ok') {
      this.batchesSent++;
      for (const item of [...group]) {
        this.countWritten(item, item.rows);
        this.completed(item, started, true);
      }
      return 'delivered';
    }
    if (outcome.kind === 'rejected') {
      // QuestDB committed nothing of the request. One batch at a time, deliver() finds and quarantines the bad line.
      for (const item of [...group]) {
        const result = await this.deliver(item);
        if (result !== 'delivered') return result;
      }
      return 'delivered';
    }
    this.noteUnreachable(outcome);
    return outcome.kind;
  }

  private async deliver(item: WorkItem): Promise<DeliveryResult> {
    const started = performance.now();
    item.sends++;
    const outcome = await this.sender.send(item.payload);
    if (outcome.kind === 'ok') {
      this.batchesSent++;
      this.countWritten(item, item.rows);
      this.completed(item, started, true);
      return 'delivered';
    }
    if (outcome.kind === 'rejected') return this.deliverAroundRejections(item, outcome, started);
    this.noteUnreachable(outcome);
    return outcome.kind;
  }

  /**
   * QuestDB refused the request, which it does as a whole for the first bad line it meets (naming that line).
   * Quarantine the named line and resend the rest; without a usable line number, split the lines in halves until
   * the culprit is alone. Stops, keeping exactly the unsent lines in `item`, if QuestDB becomes unreachable.
   */
  private async deliverAroundRejections(
    item: WorkItem,
    rejection: SendOutcome & { kind: 'rejected' },
    started: number,
  ): Promise<DeliveryResult> {
    const groups: Buffer[][] = [splitLines(item.payload)];
    let outcome: SendOutcome | undefined = rejection;
    while (groups.length > 0) {
      const group = groups[0]!;
      if (outcome === undefined) {
        item.sends++;
        outcome = await this.sender.send(group.length === 1 ? group[0]! : Buffer.concat(group));
      }
      if (outcome.kind === 'ok') {
        this.batchesSent++;
        this.countWritten(item, group.length);
        groups.shift();
      } else if (outcome.kind === 'rejected') {
        const named = outcome.line !== undefined && outcome.line >= 1 && outcome.line <= group.length ? outcome.line - 1 : -1;
        if (named >= 0 || group.length === 1) {
          const bad = Math.max(named, 0);
          this.quarantineLine(group[bad]!, outcome);
          const rest = group.filter((_, i) => i !== bad);
          if (rest.length > 0) groups[0] = rest;
          else groups.shift();
        } else {
          const half = Math.ceil(group.length / 2);
          groups.splice(0, 1, group.slice(0, half), group.slice(half));
        }
      } else {
        const remaining = groups.flat();
        const payload = Buffer.concat(remaining);
        if (item.spoolRecord === undefined) this.memBytes -= item.payload.length - payload.length;
        // The copy is the item's own; the builder's buffer (sent already) is left to the collector.
        this.retire(item, false);
        item.payload = payload;
        item.rows = remaining.length;
        if (item.spoolRecord !== undefined) this.respoolRest(item);
        this.noteUnreachable(outcome);
        return outcome.kind;
      }
      outcome = undefined;
    }
    this.completed(item, started, false);
    return 'delivered';
  }

  /**
   * A spool record part of which was written or quarantined before QuestDB went away: its rest replaces it in the
   * spool. The item then goes back to the spool like an untouched replay, and a restart or the next writer on this
   * spool replays (and counts, and quarantines) only the rest. Kept whole if that cannot be done.
   */
  private respoolRest(item: WorkItem): void {
    try {
      const replacement = this.spool!.replaceHead(item.spoolRecord!, item.payload, item.rows);
      if (replacement) item.spoolRecord = replacement;
    } catch (err) {
      this.noteError(`spool rewrite failed: ${(err as Error).message}`);
    }
  }

  private quarantineLine(line: Buffer, rejection: SendOutcome & { kind: 'rejected' }): void {
    this.rowsRejected++;
    this.noteError(`QuestDB rejected a row: ${rejection.message}`);
    const text = line.toString('utf8');
    this.quarantine.add({
      time: new Date().toISOString(),
      table: tableOfLine(line),
      line: text.endsWith('\n') ? text.slice(0, -1) : text,
      error: rejection.message,
      errorId: rejection.errorId,
      status: rejection.status,
    });
  }

  private countWritten(item: WorkItem, rows: number): void {
    this.rowsWritten += rows;
    if (item.spoolRecord !== undefined) this.rowsReplayed += rows;
  }

  /**
   * Everything of `item` is acknowledged or quarantined: release it. `whole`: by one 2xx for the whole payload (no
   * rejections), the only case where its buffer may be reused after a send.
   */
  private completed(item: WorkItem, started: number, whole: boolean): void {
    this.lastFlushMs = performance.now() - started;
    // Counted as written now, so no longer in flight: stats() must never count it twice.
    if (this.inFlight[0] === item) this.inFlight.shift();
    if (item.spoolRecord !== undefined) {
      try {
        this.spool!.ack(item.spoolRecord);
      } catch (err) {
        // The batch is delivered; failing to record that only means it may be replayed again (DEDUP absorbs it).
        this.noteError(`spool cursor update failed: ${(err as Error).message}`);
        this.reportThrottled('error', { reason: (err as Error).message }, 'cannot update the spool cursor');
      }
    } else {
      this.memBytes -= item.payload.length;
      this.settle(item.seq);
      this.retire(item, whole);
    }
    this.updateBackpressure();
    if (this.down) {
      safeLog(this.options.logger, 'info', { downMs: Date.now() - this.downSince, spoolRows: this.spool?.pendingRows ?? 0 }, 'QuestDB reachable again');
    }
    this.down = false;
    this.failures = 0;
  }

  /**
   * After a failed request. Its memory batches go back to the head of the queue, in order, and from there to the
   * spool (memory-only: they wait there, and flush() stops waiting for them, see enqueue). Its spool batches that
   * the spool still holds as they were go back to it: the next request reads them again, and a probe carries only
   * one. What only memory still has, a batch the spool evicted meanwhile or one partly delivered, stays in flight
   * and goes first.
   */
  private holdUndelivered(): void {
    const group = this.inFlight;
    this.inFlight = group.filter((item) => item.spoolRecord !== undefined && !(this.inSpool(item) && item.rows === item.spoolRecord.rows));
    this.memQueue.unshift(...group.filter((item) => item.spoolRecord === undefined));
    if (this.spool) this.spillToSpool();
    for (const queued of this.memQueue) this.settle(queued.seq);
    // A full spool may have refused batches (drop-newest), which shrinks the backlog.
    this.updateBackpressure();
  }

  private noteUnreachable(outcome: SendOutcome & { kind: 'unavailable' | 'config' }): void {
    this.failures++;
    this.noteError(outcome.kind === 'config' ? `QuestDB refused the request (HTTP ${outcome.status}): ${outcome.message}` : `QuestDB unreachable: ${outcome.message}`);
    const context = {
      endpoint: this.sender.endpoint,
      status: outcome.status,
      reason: outcome.message,
      spool: this.spool ? this.spool.dir : 'none (memory only)',
    };
    if (!this.down) {
      this.down = true;
      this.downSince = Date.now();
      this.lastReportAt.set(STILL_UNREACHABLE, this.downSince);
      safeLog(
        this.options.logger,
        'error',
        context,
        outcome.kind === 'config'
          ? 'QuestDB refused the writer (check url and credentials); keeping data and retrying slowly'
          : `QuestDB unreachable; ${this.spool ? 'spooling batches to disk' : 'holding batches in memory'} and retrying`,
      );
    } else if (outcome.kind === 'config') {
      this.reportThrottled('error', context, 'QuestDB still refuses the writer (check url and credentials)');
    } else {
      this.reportThrottled('warn', { ...context, downMs: Date.now() - this.downSince }, STILL_UNREACHABLE);
    }
  }

  private backoffDelay(): number {
    const exponent = Math.min(this.failures - 1, 20);
    const base = Math.min(this.options.initialDelayMs * 2 ** Math.max(exponent, 0), this.options.maxDelayMs);
    // ±20% jitter so many producers do not probe a recovering QuestDB in lockstep.
    return Math.round(base * (0.8 + Math.random() * 0.4));
  }

  // ---- plumbing -------------------------------------------------------------------------------------------------

  private notifyPump(): void {
    const wake = this.wakePump;
    this.wakePump = undefined;
    wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wakeSleep = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
      this.sleepTimer.unref();
    });
  }

  private settle(seq: number | undefined): void {
    if (seq === undefined || !this.unsettled.delete(seq)) return;
    if (this.flushWaiters.length === 0) return;
    for (let i = this.flushWaiters.length - 1; i >= 0; i--) {
      const waiter = this.flushWaiters[i]!;
      if (this.settledUpTo(waiter.upTo)) {
        this.flushWaiters.splice(i, 1);
        waiter.resolve();
      }
    }
  }

  private settledUpTo(seq: number): boolean {
    for (const pending of this.unsettled) if (pending <= seq) return false;
    return true;
  }

  private syncSpool(): void {
    if (!this.spool) return;
    try {
      this.spool.sync();
    } catch (err) {
      this.noteError(`spool fsync failed: ${(err as Error).message}`);
      this.reportThrottled('error', { reason: (err as Error).message }, 'cannot fsync the spool');
    }
  }

  private noteError(message: string): void {
    this.lastError = message.length > MAX_ERROR_CHARS ? `${message.slice(0, MAX_ERROR_CHARS)}…` : message;
    this.lastErrorAt = Date.now();
  }

  /** Logs a recurring condition at most once per REPEAT_LOG_MS per message, so an outage does not flood the log. */
  private reportThrottled(level: 'warn' | 'error', context: object, message: string): void {
    const now = Date.now();
    if (now - (this.lastReportAt.get(message) ?? 0) < REPEAT_LOG_MS) return;
    this.lastReportAt.set(message, now);
    safeLog(this.options.logger, level, context, message);
  }

  /** The writer's own health, written like any other row (so it spools too when QuestDB is away). */
  private writeHealthRow(): void {
    if (this.closing) return;
    const s = this.stats();
    const ts = Math.max(Date.now() * 1000, this.lastHealthTs + 1);
    this.lastHealthTs = ts;
    try {
      this.write(schema.writerStats, {
        ts,
        service: this.options.service,
        instance: this.options.instance,
        queue_rows: s.queueRows,
        queue_bytes: s.queueBytes,
        spool_bytes: s.spoolBytes,
        rows_written: s.rowsWritten,
        rows_rejected: s.rowsRejected,
        rows_dropped: s.rowsDropped,
        rows_spooled: s.rowsSpooled,
        rows_replayed: s.rowsReplayed,
        lag_ms: s.lagMs,
        last_error: s.lastError,
      });
    } catch (err) {
      if (!this.healthFailureLogged) {
        this.healthFailureLogged = true;
        safeLog(this.options.logger, 'warn', { reason: (err as Error).message }, 'cannot write the writer health row');
      }
    }
  }

  private async shutdown(): Promise<void> {
    await this.flush();
    this.stopping = true;
    if (this.sleepTimer) clearTimeout(this.sleepTimer);
    this.wakeSleep?.();
    this.notifyPump();
    await this.pump;
    let lost = 0;
    // Anything QuestDB has not acknowledged stays on disk for the next writer on this spoolDir: memory batches
    // still in flight are spooled ahead of the queue.
    this.memQueue.unshift(...this.inFlight.filter((item) => item.spoolRecord === undefined));
    this.inFlight = this.inFlight.filter((item) => item.spoolRecord !== undefined);
    if (this.spool) this.spillToSpool();
    // A batch the full spool evicted while it was in flight was spared only as long as it was on its way.
    for (const item of this.inFlight) if (!this.inSpool(item)) lost += item.rows;
    for (const queued of this.memQueue) {
      lost += queued.rows;
      this.retire(queued, false);
    }
    if (lost > 0) {
      this.rowsDropped += lost;
      safeLog(this.options.logger, 'error', { rows: lost }, 'writer closed before QuestDB acknowledged some rows and they could not be spooled; they are lost');
    }
    this.memQueue.length = 0;
    this.inFlight = [];
    try {
      this.spool?.close();
    } catch (err) {
      safeLog(this.options.logger, 'error', { reason: (err as Error).message }, 'closing the spool failed');
    }
    this.sender.close();
  }
}
