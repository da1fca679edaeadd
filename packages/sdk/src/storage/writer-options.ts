import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, TradewatchError, describeValue } from '../common/errors.js';
import type { RetrySettings } from '../common/retry.js';
import { stderrLogger, type WriterLogger } from './logger.js';
import type { SpoolFullPolicy } from './spool.js';
import { validateWriterSettings, type WriterSettings } from './writer-settings.js';

const MiB = 1024 * 1024;

/** Options of createWriter (docs/writer.md): where to write and who writes, plus its settings (writer-settings.ts). */
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

  const checked = validateWriterSettings(rest);
  if (!checked.ok) {
    const { path: field, reason, value } = checked.problem;
    throw fail(`${field}: ${reason}, got ${describeValue(value)}`);
  }
  const s = checked.value;
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
    // A batch is at most a quarter of the memory bound, so the bound always holds several batches. The same cap
    // bounds one request (consecutive batches sent together): QuestDB's work per request is large (see docs/writer.md).
    maxBatchBytes: atMost('maxBatchBytes', s.maxBatchBytes, s.maxBufferedBytes) ?? Math.min(16 * MiB, Math.floor(s.maxBufferedBytes / 4)),
    spoolMaxBytes: s.spool.maxBytes,
    // Small enough that drop-oldest frees space a segment at a time, and replayed space is returned early.
    spoolSegmentBytes: atMost('spool.segmentBytes', s.spool.segmentBytes, Math.floor(s.spool.maxBytes / 4)) ?? Math.min(16 * MiB, Math.floor(s.spool.maxBytes / 4)),
    spoolOnFull: s.spool.onFull,
    requestTimeoutMs: s.requestTimeoutMs,
    retry: s.retry,
    logger: logger ?? stderrLogger,
  };
}
