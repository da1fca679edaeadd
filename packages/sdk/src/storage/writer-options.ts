import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, TradewatchError } from '../common/errors.js';
import { stderrLogger, type WriterLogger } from './logger.js';
import type { SpoolFullPolicy } from './spool.js';

/** Options of createWriter (docs/writer.md). */
export interface WriterOptions {
  /** QuestDB HTTP base URL, e.g. http://127.0.0.1:9000; user:password@ in it become basic auth. */
  readonly url: string;
  /** Bearer token for QuestDB Enterprise; overrides basic auth from the URL. */
  readonly token?: string;
  /** Service name written into the writer's own health rows. */
  readonly service: string;
  /** Instance (host or replica) for the health rows; defaults to the host name. */
  readonly instance?: string;
  /**
   * Directory for the on-disk spool (and the quarantine, unless quarantineDir is set). Without it the writer is
   * memory-only: while QuestDB is unreachable batches wait in memory up to maxBufferedBytes, then the oldest are
   * dropped, and whatever is unsent when the process ends is lost.
   */
  readonly spoolDir?: string;
  /** Where rejected rows are written (JSON lines); defaults to <spoolDir>/quarantine. */
  readonly quarantineDir?: string;
  /** A batch is sealed and sent at least this often (ms); at most 250. Default 250. */
  readonly flushIntervalMs?: number;
  /** A batch is sealed as soon as it holds this many rows. Default 5000. */
  readonly flushRows?: number;
  /** A batch is sealed as soon as its text reaches this many bytes (approximately). Default 4 MiB, at most maxBufferedBytes / 4. */
  readonly maxBatchBytes?: number;
  /**
   * Bound on memory held for unacknowledged batches. Beyond it batches go to the spool, or (memory-only) the
   * oldest batches are dropped and counted in rowsDropped. Default 16 MiB.
   */
  readonly maxBufferedBytes?: number;
  /**
   * Backpressure (see Writer.needDrain): raised when the bytes waiting for QuestDB, in memory and in the spool, reach
   * this. Default maxBufferedBytes / 2, so a producer that honours it keeps its backlog in memory. At most
   * maxBufferedBytes for a memory-only writer, whose backlog cannot grow beyond that.
   */
  readonly highWaterMark?: number;
  /** needDrain falls, and drained() resolves, once the backlog is back at this. Default highWaterMark / 2. */
  readonly lowWaterMark?: number;
  readonly spool?: {
    /** Total size of spool segment files. Default 1 GiB. */
    readonly maxBytes?: number;
    /** Segment files rotate at this size. Default 16 MiB (and at most maxBytes / 4). */
    readonly segmentBytes?: number;
    /** What a full spool gives up: the newest batches (refused) or the oldest segment. Default 'drop-oldest'. */
    readonly onFull?: SpoolFullPolicy;
  };
  /**
   * One HTTP request may go this long without an answer before QuestDB counts as unreachable. Only time in which the
   * event loop was free to read the answer counts (see docs/writer.md, "A producer on the writer's thread"). Default 10 s.
   */
  readonly requestTimeoutMs?: number;
  readonly retry?: {
    /** First pause after a failed send. Default 250 ms; doubles per failure. */
    readonly initialDelayMs?: number;
    /** Longest pause between probes while QuestDB is unreachable. Default 5 s. */
    readonly maxDelayMs?: number;
    /** Pause between attempts while QuestDB refuses access (401/403) or the URL is wrong (404/405). Default 30 s. */
    readonly configErrorDelayMs?: number;
  };
  /** The writer's own health row into tw_writer_stats every this many ms; 0 disables. Default 10 000. */
  readonly healthIntervalMs?: number;
  readonly logger?: WriterLogger;
}

export interface ResolvedWriterOptions {
  readonly url: string;
  readonly token: string | undefined;
  readonly service: string;
  readonly instance: string;
  readonly spoolDir: string | undefined;
  readonly quarantineDir: string | undefined;
  readonly flushIntervalMs: number;
  readonly flushRows: number;
  readonly maxBatchBytes: number;
  readonly maxBufferedBytes: number;
  readonly highWaterMark: number;
  readonly lowWaterMark: number;
  readonly spoolMaxBytes: number;
  readonly spoolSegmentBytes: number;
  readonly spoolOnFull: SpoolFullPolicy;
  readonly requestTimeoutMs: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly configErrorDelayMs: number;
  readonly healthIntervalMs: number;
  readonly logger: WriterLogger;
}

const MiB = 1024 * 1024;

export function resolveWriterOptions(options: WriterOptions): ResolvedWriterOptions {
  const fail = (reason: string) => new TradewatchError(ErrorCodes.INVALID_CONFIG, `writer: ${reason}`, {});
  let url: URL;
  try {
    url = new URL(options.url);
  } catch {
    throw fail(`url ${JSON.stringify(options.url)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`url must be http(s), got ${url.protocol}`);
  if (typeof options.service !== 'string' || options.service.length === 0) throw fail('service is required');

  const int = (name: string, value: number | undefined, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    const v = value ?? fallback;
    if (!Number.isInteger(v) || v < min || v > max) throw fail(`${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
    return v;
  };
  const spoolMaxBytes = int('spool.maxBytes', options.spool?.maxBytes, 1024 * MiB, 64 * 1024);
  const onFull = options.spool?.onFull ?? 'drop-oldest';
  if (onFull !== 'drop-oldest' && onFull !== 'drop-newest') throw fail(`spool.onFull must be 'drop-oldest' or 'drop-newest', got ${String(onFull)}`);
  const maxBufferedBytes = int('maxBufferedBytes', options.maxBufferedBytes, 16 * MiB, 64 * 1024);
  const spoolDir = options.spoolDir === undefined ? undefined : path.resolve(options.spoolDir);
  // Half the memory bound: a producer that waits at the mark never pushes batches out to the spool.
  const highWaterMark = int('highWaterMark', options.highWaterMark, Math.floor(maxBufferedBytes / 2), 1024, spoolDir ? Number.MAX_SAFE_INTEGER : maxBufferedBytes);
  // Far enough below the high mark that needDrain does not flap batch by batch, high enough that QuestDB stays busy.
  const lowWaterMark = int('lowWaterMark', options.lowWaterMark, Math.floor(highWaterMark / 2), 0, highWaterMark);
  const resolved: ResolvedWriterOptions = {
    url: options.url,
    token: options.token,
    service: options.service,
    instance: options.instance ?? os.hostname(),
    spoolDir,
    quarantineDir: options.quarantineDir ? path.resolve(options.quarantineDir) : spoolDir ? path.join(spoolDir, 'quarantine') : undefined,
    // The 250 ms cap is the writer's latency promise: a row is on its way to QuestDB within 250 ms of write().
    flushIntervalMs: int('flushIntervalMs', options.flushIntervalMs, 250, 1, 250),
    flushRows: int('flushRows', options.flushRows, 5000, 1),
    maxBufferedBytes,
    highWaterMark,
    lowWaterMark,
    // A batch is at most a quarter of the memory bound, so the bound always holds several batches.
    maxBatchBytes: int('maxBatchBytes', options.maxBatchBytes, Math.min(4 * MiB, Math.floor(maxBufferedBytes / 4)), 1024, maxBufferedBytes),
    spoolMaxBytes,
    // Small enough that drop-oldest frees space a segment at a time, and replayed space is returned early.
    spoolSegmentBytes: int('spool.segmentBytes', options.spool?.segmentBytes, Math.min(16 * MiB, Math.floor(spoolMaxBytes / 4)), 4096, Math.floor(spoolMaxBytes / 4)),
    spoolOnFull: onFull,
    requestTimeoutMs: int('requestTimeoutMs', options.requestTimeoutMs, 10_000, 100),
    initialDelayMs: int('retry.initialDelayMs', options.retry?.initialDelayMs, 250, 1),
    maxDelayMs: int('retry.maxDelayMs', options.retry?.maxDelayMs, 5_000, 1),
    configErrorDelayMs: int('retry.configErrorDelayMs', options.retry?.configErrorDelayMs, 30_000, 1),
    healthIntervalMs: int('healthIntervalMs', options.healthIntervalMs, 10_000, 0),
    logger: options.logger ?? stderrLogger,
  };
  return resolved;
}
