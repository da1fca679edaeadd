import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { ErrorCodes, TradewatchError, describeValue } from '../common/errors.js';
import type { RetrySettings } from '../common/retry.js';
import { stderrLogger, type WriterLogger } from './logger.js';
import type { SpoolFullPolicy } from './spool.js';

const MiB = 1024 * 1024;
const int = () => z.number().int();

/**
 * The writer's settings: the one schema and the one set of defaults. The config (`writer.*` in tradewatch.yaml,
 * TRADEWATCH_WRITER_*, --writer-*) composes this schema; createWriter() validates its options with it. Defaults
 * that follow from other settings (maxBatchBytes, the water marks, spool.segmentBytes) are derived in
 * resolveWriterOptions(), so they stay in proportion when one setting changes.
 */
export const writerSettingsSchema = z
  .object({
    /**
     * Directory for the on-disk spool (and the quarantine, unless quarantineDir is set). Without it the writer is
     * memory-only: while QuestDB is unreachable batches wait in memory up to maxBufferedBytes, then the oldest are
     * dropped, and whatever is unsent when the process ends is lost.
     */
    spoolDir: z.string().min(1).optional(),
    /** Where rejected rows are written (JSON lines); defaults to <spoolDir>/quarantine. */
    quarantineDir: z.string().min(1).optional(),
    /** A batch is sealed and sent at least this often (ms). The 250 ms cap is the writer's latency promise. */
    flushIntervalMs: int().min(1).max(250).default(250),
    /** A batch is sealed as soon as it holds this many rows. */
    flushRows: int().min(1).max(1_000_000).default(5000),
    /** A batch is sealed as soon as its text reaches this many bytes. Default min(4 MiB, maxBufferedBytes / 4). */
    maxBatchBytes: int().min(1024).optional(),
    /**
     * Bound on memory held for unacknowledged batches. Beyond it batches go to the spool, or (memory-only) the
     * oldest batches are dropped and counted in rowsDropped.
     */
    maxBufferedBytes: int().min(64 * 1024).default(16 * MiB),
    /**
     * Backpressure (see Writer.needDrain): raised when the bytes waiting for QuestDB, in memory and in the spool,
     * reach this. Default maxBufferedBytes / 2, so a producer that honours it keeps its backlog in memory. At most
     * maxBufferedBytes for a memory-only writer, whose backlog cannot grow beyond that.
     */
    highWaterMark: int().min(1024).optional(),
    /** needDrain falls, and drained() resolves, once the backlog is back at this. Default highWaterMark / 2. */
    lowWaterMark: int().min(0).optional(),
    spool: z
      .object({
        /** Total size of spool segment files. */
        maxBytes: int().min(64 * 1024).default(1024 * MiB),
        /** Segment files rotate at this size. Default min(16 MiB, maxBytes / 4), and at most maxBytes / 4. */
        segmentBytes: int().min(4096).optional(),
        /** What a full spool gives up: the newest batches (refused) or the oldest segment. */
        onFull: z.enum(['drop-oldest', 'drop-newest']).default('drop-oldest'),
      })
      .strict()
      .default({ maxBytes: 1024 * MiB, onFull: 'drop-oldest' }),
    /**
     * One HTTP request may go this long without an answer before QuestDB counts as unreachable. Only time in which
     * the event loop was free to read the answer counts (see docs/writer.md, "A producer on the writer's thread").
     */
    requestTimeoutMs: int().min(100).default(10_000),
    /** Retries follow the shared retry policy (common/retry.ts): doubling steps with equal jitter. */
    retry: z
      .object({
        /** Step of the first pause after a failed send; doubles per failure. */
        initialDelayMs: int().min(1).default(250),
        /** Longest pause between probes while QuestDB is unreachable. */
        maxDelayMs: int().min(1).default(5_000),
        /** Pause between attempts while QuestDB refuses access (401/403) or the URL is wrong (404/405). */
        configErrorDelayMs: int().min(1).default(30_000),
      })
      .strict()
      .default({ initialDelayMs: 250, maxDelayMs: 5_000, configErrorDelayMs: 30_000 }),
  })
  .strict();

export type WriterSettings = z.input<typeof writerSettingsSchema>;

/** Options of createWriter (docs/writer.md): where to write and who writes, plus the settings above. */
export interface WriterOptions extends WriterSettings {
  /** QuestDB HTTP base URL, e.g. http://127.0.0.1:9000; user:password@ in it become basic auth. */
  readonly url: string;
  /** Bearer token for QuestDB Enterprise; overrides basic auth from the URL. */
  readonly token?: string;
  /** Service name, in the writer's log lines. */
  readonly service: string;
  /** Instance (host or replica); defaults to the host name. */
  readonly instance?: string;
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
  readonly retry: RetrySettings & { readonly configErrorDelayMs: number };
  readonly logger: WriterLogger;
}

export function resolveWriterOptions(options: WriterOptions): ResolvedWriterOptions {
  const fail = (reason: string) => new TradewatchError(ErrorCodes.INVALID_CONFIG, `writer: ${reason}`, {});
  const { url: rawUrl, token, service, instance, logger, ...rest } = options;
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw fail(`url ${describeValue(rawUrl)} is not a URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`url must be http(s), got ${url.protocol}`);
  if (typeof service !== 'string' || service.length === 0) throw fail('service is required');

  const parsed = writerSettingsSchema.safeParse(rest);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.');
    const value = issue.path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], rest);
    throw fail(`${field || '(options)'}: ${issue.message}, got ${describeValue(value)}`);
  }
  const s = parsed.data;
  const atMost = (name: string, value: number | undefined, max: number) => {
    if (value !== undefined && value > max) throw fail(`${name} must be at most ${max}, got ${value}`);
    return value;
  };
  const spoolDir = s.spoolDir === undefined ? undefined : path.resolve(s.spoolDir);
  // Half the memory bound: a producer that waits at the mark never pushes batches out to the spool.
  const highWaterMark = atMost('highWaterMark', s.highWaterMark, spoolDir ? Number.MAX_SAFE_INTEGER : s.maxBufferedBytes) ?? Math.floor(s.maxBufferedBytes / 2);
  // Far enough below the high mark that needDrain does not flap batch by batch, high enough that QuestDB stays busy.
  const lowWaterMark = atMost('lowWaterMark', s.lowWaterMark, highWaterMark) ?? Math.floor(highWaterMark / 2);
  return {
    url: rawUrl,
    token,
    service,
    instance: instance ?? os.hostname(),
    spoolDir,
    quarantineDir: s.quarantineDir ? path.resolve(s.quarantineDir) : spoolDir ? path.join(spoolDir, 'quarantine') : undefined,
    flushIntervalMs: s.flushIntervalMs,
    flushRows: s.flushRows,
    maxBufferedBytes: s.maxBufferedBytes,
    highWaterMark,
    lowWaterMark,
    // A batch is at most a quarter of the memory bound, so the bound always holds several batches.
    maxBatchBytes: atMost('maxBatchBytes', s.maxBatchBytes, s.maxBufferedBytes) ?? Math.min(4 * MiB, Math.floor(s.maxBufferedBytes / 4)),
    spoolMaxBytes: s.spool.maxBytes,
    // Small enough that drop-oldest frees space a segment at a time, and replayed space is returned early.
    spoolSegmentBytes: atMost('spool.segmentBytes', s.spool.segmentBytes, Math.floor(s.spool.maxBytes / 4)) ?? Math.min(16 * MiB, Math.floor(s.spool.maxBytes / 4)),
    spoolOnFull: s.spool.onFull,
    requestTimeoutMs: s.requestTimeoutMs,
    retry: s.retry,
    logger: logger ?? stderrLogger,
  };
}
