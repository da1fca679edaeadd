import type { SealedBatch } from './batch-buffer.js';
import type { Spool, SpoolRecord } from './spool.js';
import type { WriterCounters, WriterReporter } from './writer-stats.js';

/** A batch on its way: from memory (seq set) or replayed from the spool (spoolRecord set). */
export interface WorkItem {
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

export interface BacklogLimits {
  readonly maxBufferedBytes: number;
  readonly maxBatchBytes: number;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  readonly spoolMaxBytes: number;
}

/** What the backlog holds, for stats(); the batch being filled is the writer's and not included. */
export interface BacklogState {
  readonly rows: number;
  readonly bytes: number;
  readonly spoolRows: number;
  /** ms since epoch of the oldest row not yet acknowledged. */
  readonly oldestAt: number | undefined;
}

/**
 * Sealed batches between write() and QuestDB's acknowledgement, in order: the memory queue, the request in flight,
 * and the spool. It enforces the bounds (maxBufferedBytes in memory, the spool's size and full policy), raises and
 * lowers backpressure, and tells flush() when what it waits for is settled.
 *
 * While QuestDB is unreachable, or the memory queue outgrows maxBufferedBytes, batches go to the spool; as long as
 * the spool holds anything, new batches are appended behind it, so replay keeps the original order. A batch leaves
 * memory or the spool only once QuestDB answered 2xx for it (or for all of its lines that it did not reject).
 */
export class Backlog {
  /** Sealed batches waiting for the sender, oldest first. */
  private readonly memQueue: WorkItem[] = [];
  /** Payload bytes of memQueue plus in-flight batches from memory. */
  private memBytes = 0;
  /**
   * The request in flight: consecutive batches, oldest first, all from memory or all from the spool. Each leaves
   * it when QuestDB acknowledged it (acknowledged()). Empty while no request is out.
   */
  private inFlight: WorkItem[] = [];

  /** Batch sequence numbers that flush() still has to wait for. */
  private lastSeq = 0;
  private readonly unsettled = new Set<number>();
  private readonly flushWaiters: { upTo: number; resolve: () => void }[] = [];

  /** needDrain; updated whenever a batch enters or leaves the backlog, never per row. */
  private backpressured = false;
  private drainedPromise: Promise<void> | undefined;
  private resolveDrained: (() => void) | undefined;

  constructor(
    private readonly limits: BacklogLimits,
    readonly spool: Spool | undefined,
    private readonly counters: WriterCounters,
    private readonly reporter: WriterReporter,
    /** True while QuestDB is unreachable (the delivery loop knows). */
    private readonly isDown: () => boolean,
  ) {}

  // ---- producer side ----------------------------------------------------------------------------------------------

  /** Takes a sealed batch from the writer. */
  enqueue(batch: SealedBatch): void {
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
    if (this.spool && (this.spool.pendingRecords > 0 || this.isDown()) && this.toSpool(item)) {
      this.updateBackpressure();
      return;
    }
    this.memQueue.push(item);
    this.memBytes += item.payload.length;
    // While QuestDB is unreachable, flush() must not wait for the outage to end: held in memory is all we can do.
    if (this.isDown()) this.settle(item.seq);
    this.enforceMemoryBound();
    this.updateBackpressure();
  }

  /** The sequence number of the last batch enqueued. */
  get lastSequence(): number {
    return this.lastSeq;
  }

  /** Resolves once every batch up to `upTo` is acknowledged, quarantined, spooled, dropped, or held during an outage. */
  settled(upTo: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.settledUpTo(upTo)) resolve();
      else this.flushWaiters.push({ upTo, resolve });
    });
  }

  // ---- backpressure -----------------------------------------------------------------------------------------------

  get needDrain(): boolean {
    return this.backpressured;
  }

  drained(): Promise<void> {
    if (!this.backpressured) return Promise.resolve();
    this.drainedPromise ??= new Promise<void>((resolve) => (this.resolveDrained = resolve));
    return this.drainedPromise;
  }

  releaseDrainWaiters(): void {
    const resolve = this.resolveDrained;
    this.resolveDrained = undefined;
    this.drainedPromise = undefined;
    // On the next turn, not now: the acknowledgement that lowered the backlog is still on its way through the pump,
    // which sends the next batch a few promise hops later. Woken now, a producer would take the thread first and
    // QuestDB would sit idle through its whole slice (the overload bench delivered ~40% less that way).
    if (resolve) setImmediate(resolve);
  }

  /** Bytes waiting for QuestDB: the memory queue (with a batch in flight from it) and the spool's pending records. */
  private backlogBytes(): number {
    return this.memBytes + (this.spool?.pendingBytes ?? 0);
  }

  /** Raises needDrain at the high-water mark and lowers it at the low-water mark (apart, so it does not flap). */
  private updateBackpressure(): void {
    if (this.backpressured) {
      if (this.backlogBytes() > this.limits.lowWaterMark) return;
      this.backpressured = false;
      this.releaseDrainWaiters();
    } else if (this.backlogBytes() >= this.limits.highWaterMark) {
      this.backpressured = true;
    }
  }

  // ---- bounds -----------------------------------------------------------------------------------------------------

  /**
   * The spool's drop-oldest policy evicted a segment. Its records in flight are not dropped: their bytes are in
   * memory and on their way, and they stay in flight until delivered (or counted lost at close). Counting them as
   * dropped here, as well as written when QuestDB acknowledged them, over-counted 40,000 rows in the overload bench.
   */
  evicted(evictedRows: number, records: readonly SpoolRecord[]): void {
    let rows = evictedRows;
    for (const record of records) if (this.inFlight.some((item) => item.spoolRecord === record)) rows -= record.rows;
    if (rows > 0) {
      this.counters.rowsDropped += rows;
      this.reporter.noteError(`spool full: dropped ${rows} oldest rows`);
      this.reporter.throttled('error', { spool: this.spool?.dir, rowsDropped: this.counters.rowsDropped }, 'spool full; dropping its oldest segments');
    }
    this.updateBackpressure();
  }

  private enforceMemoryBound(): void {
    if (this.memBytes <= this.limits.maxBufferedBytes) return;
    if (this.spool && this.spillToSpool()) return;
    let droppedRows = 0;
    while (this.memBytes > this.limits.maxBufferedBytes && this.memQueue.length > 0) {
      const oldest = this.memQueue.shift()!;
      this.memBytes -= oldest.payload.length;
      droppedRows += oldest.rows;
      this.settle(oldest.seq);
      this.retire(oldest, false);
    }
    if (droppedRows > 0) {
      this.updateBackpressure();
      this.counters.rowsDropped += droppedRows;
      this.reporter.noteError(`memory buffer full (${this.limits.maxBufferedBytes} bytes): dropped ${droppedRows} oldest rows`);
      this.reporter.throttled('error', { droppedRows, rowsDropped: this.counters.rowsDropped }, 'writer buffer full; dropping the oldest rows');
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
      this.reporter.noteError(`spool write failed: ${(err as Error).message}`);
      this.reporter.throttled('error', { spool: this.spool!.dir, reason: (err as Error).message }, 'cannot write to the spool; keeping batches in memory');
      return false;
    }
    if (result === 'full') {
      this.counters.rowsDropped += item.rows;
      this.reporter.noteError(`spool full (${this.limits.spoolMaxBytes} bytes): dropped ${item.rows} new rows`);
      this.reporter.throttled('error', { rowsDropped: this.counters.rowsDropped }, 'spool full; dropping new batches');
    } else {
      this.counters.rowsSpooled += item.rows;
    }
    this.settle(item.seq);
    // Spool.append wrote the bytes with a synchronous writev and keeps no reference to them.
    this.retire(item, false);
    return true;
  }

  /**
   * The backlog is done with a memory batch's bytes: its buffer goes back to the builder if nothing else can still
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

  // ---- delivery side ----------------------------------------------------------------------------------------------

  /**
   * The request to send: the one in flight, else the oldest batches, from the spool while it holds any, else from
   * memory; as many consecutive ones as fit in maxBatchBytes. Why several: a producer on the writer's thread lets
   * the pump run once per turn of the event loop, and one request per turn then has to carry what piled up meanwhile
   * (one batch per request held the overload bench to ~300k rows/s). While QuestDB is unreachable, a single batch
   * probes it. Empty when there is nothing to send.
   */
  next(): readonly WorkItem[] {
    if (this.inFlight.length === 0) this.inFlight = this.takeNext();
    return this.inFlight;
  }

  private takeNext(): WorkItem[] {
    const maxBytes = this.isDown() ? 0 : this.limits.maxBatchBytes;
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

  /**
   * Everything of `item` is acknowledged or quarantined: release it. `whole`: by one 2xx for the whole payload (no
   * rejections), the only case where its buffer may be reused after a send.
   */
  acknowledged(item: WorkItem, whole: boolean): void {
    // Counted as written now, so no longer in flight: stats() must never count it twice.
    if (this.inFlight[0] === item) this.inFlight.shift();
    if (item.spoolRecord !== undefined) {
      try {
        this.spool!.ack(item.spoolRecord);
      } catch (err) {
        // The batch is delivered; failing to record that only means it may be replayed again (DEDUP absorbs it).
        this.reporter.noteError(`spool cursor update failed: ${(err as Error).message}`);
        this.reporter.throttled('error', { reason: (err as Error).message }, 'cannot update the spool cursor');
      }
    } else {
      this.memBytes -= item.payload.length;
      this.settle(item.seq);
      this.retire(item, whole);
    }
    this.updateBackpressure();
  }

  /**
   * QuestDB went away while a rejected line was being split out of `item`: only `rest` of it is still unsent.
   * A spool record part of which was written or quarantined is replaced by its rest in the spool, so that the item
   * goes back to the spool like an untouched replay, and a restart or the next writer on this spool replays (and
   * counts, and quarantines) only the rest. Kept whole if that cannot be done.
   */
  keepRest(item: WorkItem, rest: readonly Buffer[]): void {
    const payload = Buffer.concat(rest);
    if (item.spoolRecord === undefined) this.memBytes -= item.payload.length - payload.length;
    // The copy is the item's own; the builder's buffer (sent already) is left to the collector.
    this.retire(item, false);
    item.payload = payload;
    item.rows = rest.length;
    if (item.spoolRecord === undefined) return;
    try {
      const replacement = this.spool!.replaceHead(item.spoolRecord, item.payload, item.rows);
      if (replacement) item.spoolRecord = replacement;
    } catch (err) {
      this.reporter.noteError(`spool rewrite failed: ${(err as Error).message}`);
    }
  }

  /**
   * After a failed request. Its memory batches go back to the head of the queue, in order, and from there to the
   * spool (memory-only: they wait there, and flush() stops waiting for them, see enqueue). Its spool batches that
   * the spool still holds as they were go back to it: the next request reads them again, and a probe carries only
   * one. What only memory still has, a batch the spool evicted meanwhile or one partly delivered, stays in flight
   * and goes first.
   */
  holdUndelivered(): void {
    const group = this.inFlight;
    this.inFlight = group.filter((item) => item.spoolRecord !== undefined && !(this.inSpool(item) && item.rows === item.spoolRecord.rows));
    this.memQueue.unshift(...group.filter((item) => item.spoolRecord === undefined));
    if (this.spool) this.spillToSpool();
    for (const queued of this.memQueue) this.settle(queued.seq);
    // A full spool may have refused batches (drop-newest), which shrinks the backlog.
    this.updateBackpressure();
  }

  // ---- state ------------------------------------------------------------------------------------------------------

  state(): BacklogState {
    let rows = 0;
    let spoolRowsDone = 0;
    for (const item of this.inFlight) {
      // An in-flight batch counts where it lives: in memory, in the spool, or in memory again once the spool evicted it.
      if (!this.inSpool(item)) rows += item.rows;
      // A spool record part of which was written or quarantined before QuestDB went away (while splitting out a
      // rejected line) is still whole in the spool; only the rest of it is still pending.
      else spoolRowsDone += item.spoolRecord!.rows - item.rows;
    }
    for (const item of this.memQueue) rows += item.rows;
    return {
      rows,
      bytes: this.memBytes,
      spoolRows: (this.spool?.pendingRows ?? 0) - spoolRowsDone,
      oldestAt: this.inFlight[0]?.firstRowAt ?? this.spool?.oldestPendingAt ?? this.memQueue[0]?.firstRowAt,
    };
  }

  /** Makes what the spool holds survive power loss (flush() and close() call it). */
  syncSpool(): void {
    if (!this.spool) return;
    try {
      this.spool.sync();
    } catch (err) {
      this.reporter.noteError(`spool fsync failed: ${(err as Error).message}`);
      this.reporter.throttled('error', { reason: (err as Error).message }, 'cannot fsync the spool');
    }
  }

  /**
   * After the delivery loop stopped: anything QuestDB has not acknowledged stays on disk for the next writer on this
   * spoolDir (memory batches still in flight are spooled ahead of the queue); what cannot be spooled is counted as
   * dropped. Then the spool is closed. Returns the rows lost.
   */
  close(): number {
    let lost = 0;
    this.memQueue.unshift(...this.inFlight.filter((item) => item.spoolRecord === undefined));
    this.inFlight = this.inFlight.filter((item) => item.spoolRecord !== undefined);
    if (this.spool) this.spillToSpool();
    // A batch the full spool evicted while it was in flight was spared only as long as it was on its way.
    for (const item of this.inFlight) if (!this.inSpool(item)) lost += item.rows;
    for (const queued of this.memQueue) {
      lost += queued.rows;
      this.retire(queued, false);
    }
    this.counters.rowsDropped += lost;
    this.memQueue.length = 0;
    this.inFlight = [];
    this.memBytes = 0;
    try {
      this.spool?.close();
    } catch (err) {
      this.reporter.log('error', { reason: (err as Error).message }, 'closing the spool failed');
    }
    return lost;
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
}
