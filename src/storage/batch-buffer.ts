/** A batch ready to send: the ILP bytes plus what the writer needs to account for them. */
export interface SealedBatch {
  readonly payload: Buffer;
  readonly rows: number;
  /** ms since epoch when the batch's first row was written: the age of its oldest row. */
  readonly firstRowAt: number;
}

/**
 * The batch being filled by write(). Lines are appended to one string (V8 ropes make that cheap) and turned into
 * bytes once, when the batch is sealed; the size kept here is in UTF-16 code units, which equals bytes for ASCII
 * and is a close enough bound for deciding when to seal.
 */
export class BatchBuilder {
  private text = '';
  private rowCount = 0;
  private firstAt = 0;

  get rows(): number {
    return this.rowCount;
  }

  get chars(): number {
    return this.text.length;
  }

  /** ms since epoch of the first row, or undefined when empty. */
  get firstRowAt(): number | undefined {
    return this.rowCount === 0 ? undefined : this.firstAt;
  }

  add(line: string): void {
    if (this.rowCount === 0) this.firstAt = Date.now();
    this.text += line;
    this.rowCount++;
  }

  /** The batch so far, or undefined if it is empty; the builder starts a new batch. */
  seal(): SealedBatch | undefined {
    if (this.rowCount === 0) return undefined;
    const batch: SealedBatch = { payload: Buffer.from(this.text, 'utf8'), rows: this.rowCount, firstRowAt: this.firstAt };
    this.text = '';
    this.rowCount = 0;
    return batch;
  }
}
