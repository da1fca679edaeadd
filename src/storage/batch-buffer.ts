import { ByteSink, type Row, type RowEncoder } from './ilp-encoder.js';

const MIN_CAPACITY = 64 * 1024;

/** A batch ready to send: the ILP bytes plus what the writer needs to account for them. */
export interface SealedBatch {
  readonly payload: Buffer;
  readonly rows: number;
  /** ms since epoch when the batch's first row was written: the age of its oldest row. */
  readonly firstRowAt: number;
}

/**
 * The batch being filled by write(). Rows are encoded straight into one reusable byte buffer (UTF-8 ILP), so a row
 * leaves no strings behind for the garbage collector to carry until the batch is sealed. The buffer grows by
 * doubling; its size is bounded by twice maxBatchBytes plus one row, since the writer seals a batch as soon as it
 * reaches maxBatchBytes.
 */
export class BatchBuilder {
  private readonly sink = new ByteSink(MIN_CAPACITY);
  private rowCount = 0;
  private firstAt = 0;

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

  /** Validates and appends one row. Throws like RowEncoder.encode, leaving the batch exactly as it was. */
  add(encoder: RowEncoder, row: Row): void {
    encoder.encodeInto(row, this.sink);
    if (this.rowCount === 0) this.firstAt = Date.now();
    this.rowCount++;
  }

  /** The batch so far, or undefined if it is empty; the builder starts a new batch. */
  seal(): SealedBatch | undefined {
    if (this.rowCount === 0) return undefined;
    const size = this.sink.pos;
    const buf = this.sink.buf;
    let payload: Buffer;
    if (buf.length - size <= size >> 2) {
      // Nearly full (the steady state, once the buffer has sized itself to the batches): hand the buffer over as
      // the payload and start the next batch in a new one with 12.5% headroom. Saves copying every batch (~2% of
      // the write path in profiles); the payload's unused tail is at most a quarter of its size.
      payload = buf.subarray(0, size);
      this.sink.buf = Buffer.allocUnsafeSlow(Math.max(MIN_CAPACITY, size + (size >> 3)));
    } else {
      // Mostly empty: copy out what is used and keep the buffer.
      payload = Buffer.allocUnsafeSlow(size);
      buf.copy(payload, 0, 0, size);
    }
    const batch: SealedBatch = { payload, rows: this.rowCount, firstRowAt: this.firstAt };
    this.sink.pos = 0;
    this.rowCount = 0;
    return batch;
  }
}
