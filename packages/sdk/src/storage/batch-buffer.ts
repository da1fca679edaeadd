import { ByteSink, type Row, type RowEncoder } from './ilp-encoder.js';

const MIN_CAPACITY = 64 * 1024;
/** Smallest buffer worth keeping for reuse. */
const MIN_POOLED = 16 * 1024;
/**
 * Released batch buffers kept for reuse, at least. In steady state one batch is in flight while the next fills: 2
 * suffice. When one request carries several batches, they all come back at once: see BatchBuilder's poolBytes.
 */
export const BATCH_POOL_SIZE = 4;

/** @internal Test hook: batch buffers allocated by seal() and taken back from the pool, over all builders. */
export const batchBufferCounters = { allocated: 0, reused: 0, released: 0 };

/**
 * A batch ready to send: the ILP bytes plus what the writer needs to account for them, and the lease on the buffer
 * holding those bytes. Whoever holds the batch decides when the buffer may be reused:
 *
 * - `release()` once nothing references the payload's bytes any more (acknowledged by QuestDB after a single
 *   request, copied into the spool, dropped before it was ever sent): the builder reuses the buffer for a later
 *   batch, so the payload must not be read (or kept) after this;
 * - `abandon()` when something might still reference them (a request that failed or was rejected may still be
 *   writing to its socket): the buffer is left to the garbage collector and never reused.
 *
 * Both are idempotent and final: the first of them decides; later calls do nothing.
 */
export class SealedBatch {
  readonly rows: number;
  /** ms since epoch when the batch's first row was written: the age of its oldest row. */
  readonly firstRowAt: number;
  private bytes: Buffer | undefined;
  private readonly size: number;
  /** The whole buffer behind the payload when it may go back to `pool`; undefined once decided, or when copied. */
  private lease: Buffer | undefined;
  private pool: BatchBuilder | undefined;
  /** release() or abandon() was called. */
  private decided = false;

  /** @internal Built by BatchBuilder.seal(). */
  constructor(payload: Buffer, rows: number, firstRowAt: number, lease: Buffer | undefined, pool: BatchBuilder | undefined) {
    this.bytes = payload;
    this.size = payload.length;
    this.rows = rows;
    this.firstRowAt = firstRowAt;
    this.lease = lease;
    this.pool = lease === undefined ? undefined : pool;
  }

  /** The ILP bytes. Throws after release(): the buffer may already hold another batch. */
  get payload(): Buffer {
    if (this.bytes === undefined) throw new Error('batch payload read after its buffer was released for reuse');
    return this.bytes;
  }

  /** Payload length in bytes (readable after release). */
  get length(): number {
    return this.size;
  }

  /** True once release() gave the buffer back. */
  get released(): boolean {
    return this.bytes === undefined;
  }

  /** Gives the buffer back for reuse. Only when nothing references the payload's bytes any more. */
  release(): void {
    if (this.decided) return;
    this.decided = true;
    this.bytes = undefined;
    const lease = this.lease;
    const pool = this.pool;
    this.lease = undefined;
    this.pool = undefined;
    if (lease !== undefined && pool !== undefined) pool.recycle(lease);
  }

  /** Gives up the lease without reuse: the payload stays valid for whoever still holds it. */
  abandon(): void {
    this.decided = true;
    this.lease = undefined;
    this.pool = undefined;
  }
}

/**
 * The batch being filled by write(). Rows are encoded straight into one byte buffer (UTF-8 ILP), so a row leaves no
 * strings behind for the garbage collector to carry until the batch is sealed. The buffer grows by doubling; its size
 * is bounded by twice maxBatchBytes plus one row, since the writer seals a batch as soon as it reaches maxBatchBytes.
 * A full batch's buffer is handed over as the payload; the next batch starts in a buffer its holder released earlier
 * (see SealedBatch), or a new one when none is free.
 */
export class BatchBuilder {
  private readonly sink = new ByteSink(MIN_CAPACITY);
  private readonly pool: Buffer[] = [];
  private pooledBytes = 0;
  private rowCount = 0;
  private firstAt = 0;

  /**
   * @param poolBytes beyond BATCH_POOL_SIZE buffers, the pool keeps more while they total at most this. The writer
   *   passes the most one request carries (maxBatchBytes): a request of several batches releases all their buffers
   *   at once, and with only BATCH_POOL_SIZE kept, the batches after it needed fresh ones (the steady-state test
   *   saw 25 allocations for 30 batches).
   */
  constructor(
    private readonly poolBytes = 0,
    /** The time of a batch's first row (ms since epoch): the writer's clock. */
    private readonly now: () => number = Date.now,
  ) {}

  get rows(): number {
    return this.rowCount;
  }

  /** Bytes in the batch so far. */
  get bytes(): number {
    return this.sink.pos;
  }

  /** ms since epoch of the first row, or undefined when empty. */
  get firstRowAt(): number | undefined {
    return this.rowCount === 0 ? undefined : this.firstAt;
  }

  /** @internal Released buffers waiting for reuse. */
  get pooled(): number {
    return this.pool.length;
  }

  /** Validates and appends one row. Throws like RowEncoder.encode, leaving the batch exactly as it was. */
  add(encoder: RowEncoder, row: Row): void {
    encoder.encodeInto(row, this.sink);
    if (this.rowCount === 0) this.firstAt = this.now();
    this.rowCount++;
  }

  /** The batch so far, or undefined if it is empty; the builder starts a new batch. */
  seal(): SealedBatch | undefined {
    if (this.rowCount === 0) return undefined;
    const size = this.sink.pos;
    const buf = this.sink.buf;
    let leased: Buffer;
    if (buf.length - size <= size >> 2) {
      // Nearly full (the steady state, once the buffer has sized itself to the batches): hand the buffer over as
      // the payload (no copy, ~2% of the write path in profiles) and go on in a buffer of at least the batch's size.
      leased = buf;
      this.sink.buf = this.takeBuffer(size);
    } else {
      // Mostly empty: copy out what is used (into a buffer of the batch's size) and keep the filling buffer.
      leased = this.takeBuffer(size);
      buf.copy(leased, 0, 0, size);
    }
    const batch = new SealedBatch(leased.subarray(0, size), this.rowCount, this.firstAt, leased, this);
    this.sink.pos = 0;
    this.rowCount = 0;
    return batch;
  }

  /** @internal Called by SealedBatch.release(), at most once per sealed buffer. */
  recycle(buffer: Buffer): void {
    batchBufferCounters.released++;
    // Small buffers (batches sealed by the flush interval at low rates) are cheap to allocate: not worth keeping.
    if (buffer.length < MIN_POOLED || buffer === this.sink.buf) return;
    if (this.pool.length < BATCH_POOL_SIZE || this.pooledBytes + buffer.length <= this.poolBytes) {
      this.pool.push(buffer);
      this.pooledBytes += buffer.length;
    }
  }

  /**
   * A buffer of at least `size` bytes: a released one (page faults and cache misses of fresh memory spared) or a new
   * one with 12.5% headroom, so that a batch a little larger than this one still fits.
   */
  private takeBuffer(size: number): Buffer {
    const pool = this.pool;
    for (let i = pool.length - 1; i >= 0; i--) {
      const reused = pool[i]!;
      if (reused.length >= size) {
        pool.splice(i, 1);
        this.pooledBytes -= reused.length;
        batchBufferCounters.reused++;
        return reused;
      }
    }
    batchBufferCounters.allocated++;
    return Buffer.allocUnsafeSlow(size < MIN_POOLED ? size : Math.max(MIN_CAPACITY, size + (size >> 3)));
  }
}
