import { hostname } from 'node:os';
import { ErrorCodes, TradewatchError, systemClock, type Clock, type Timer } from '@tradewatch/sdk/common';
import { getTable } from '@tradewatch/sdk/schema';
import { WriterHealthRows, DEFAULT_WRITER_HEALTH_INTERVAL_MS } from '@tradewatch/sdk/sdk';
import { createWriter, safeLog, type Writer, type WriterLogger } from '@tradewatch/sdk/storage';
import { DISK_METRICS, sampleDisk } from './disk.js';
import { canonicalLabels, parsePrometheusText, type MetricKind } from './parse.js';

const metricsTable = getTable('tw_metrics');

/**
 * Scrapes Prometheus endpoints (QuestDB's own /metrics, daemons in other languages) into `tw_metrics`, one row per
 * sample, so that their series sit next to tradewatch's own data in Grafana without running a Prometheus.
 */

export interface ExporterTarget {
  /** The endpoint, e.g. `http://127.0.0.1:9003/metrics`; user:password@ in it become basic auth. */
  readonly url: string;
  /** The `service` column of the rows. */
  readonly service: string;
  /** The `instance` column; default the URL's host:port, as Prometheus labels a target. */
  readonly instance?: string;
  /** The `source` column; default the URL (without credentials). */
  readonly source?: string;
  /**
   * A directory on the filesystem that holds this target's data (QuestDB's root): each scrape also writes that
   * filesystem's free and total bytes (DISK_METRICS), under the target's service and instance.
   */
  readonly diskPath?: string;
}

/** The part of the storage writer the exporter uses, so a shared writer (or a test double) can be passed. */
export type ExporterWriter = Pick<Writer, 'write' | 'flush' | 'close'>;

export interface ExporterOptions {
  readonly targets: readonly ExporterTarget[];
  /** Scrape every target this often (ms). Default 15 000. */
  readonly intervalMs?: number;
  /** One scrape (connect, answer, body) may take this long (ms). Default min(10 000, intervalMs). */
  readonly timeoutMs?: number;
  /** A writer to share: flushed on stop() but not closed ... */
  readonly writer?: ExporterWriter;
  /** ... or the QuestDB HTTP URL for a writer the exporter creates, owns and closes on stop(). */
  readonly questdbUrl?: string;
  /** `service` of the owned writer's own health rows. Default `tradewatch-exporter`. */
  readonly writerService?: string;
  readonly logger?: WriterLogger;
  /** The schedule's time source (scrape times, intervals). Default the system clock; tests pass a virtual one. */
  readonly clock?: Clock;
  /** Called after every scrape (each target, each round); errors thrown by it are ignored. */
  readonly onScrape?: (report: ScrapeReport) => void;
}

export interface ScrapeReport {
  readonly url: string;
  readonly service: string;
  readonly instance: string;
  /** Scrape time, µs since the epoch: the `ts` of every row of this scrape. */
  readonly ts: number;
  readonly up: boolean;
  readonly durationMs: number;
  /** HTTP status, when the target answered. */
  readonly status?: number;
  /** Why the scrape failed (up false), or the first parse problems (up true). */
  readonly error?: string;
  /** Sample rows handed to the writer (the `up`, `scrape_*` and disk rows not included). */
  readonly samples: number;
  /** The disk sample of the target's diskPath, when it has one and statfs answered. */
  readonly disk?: { readonly freeBytes: number; readonly totalBytes: number };
  /** Why the target's diskPath could not be sampled. */
  readonly diskError?: string;
  /** Samples left out: NaN/±Inf values, OpenMetrics `_created` lines, unreadable lines, rows the writer refused. */
  readonly nonFinite: number;
  readonly created: number;
  readonly invalidLines: number;
  readonly rejected: number;
}

export interface ExporterStats {
  readonly scrapes: number;
  /** Scrapes that failed (refused, timeout, non-200): the `up = 0` ones. */
  readonly failures: number;
  readonly rowsWritten: number;
  readonly rowsRejected: number;
  /** Last report per target URL. */
  readonly last: Readonly<Record<string, ScrapeReport>>;
}

export interface Exporter {
  /** Scrapes every target once, concurrently; never rejects (failures are in the reports). */
  scrapeOnce(): Promise<ScrapeReport[]>;
  /** Scrapes every target now and then every intervalMs, each target on its own schedule. Idempotent. */
  start(): void;
  /** Stops scheduling, waits for scrapes in flight, flushes the writer (and closes it when owned). Idempotent. */
  close(): Promise<void>;
  /** The same as close() (the name before tradewatch's lifecycle was one vocabulary). */
  stop(): Promise<void>;
  stats(): ExporterStats;
}

/** Prefer the classic text format: simpler, and its timestamps are unambiguous; OpenMetrics is parsed too. */
const ACCEPT = 'text/plain;version=0.0.4;q=1,application/openmetrics-text;version=1.0.0;q=0.5,*/*;q=0.1';

interface ResolvedTarget {
  readonly fetchUrl: string;
  readonly authorization: string | undefined;
  readonly service: string;
  readonly instance: string;
  readonly source: string;
  readonly diskPath: string | undefined;
  /** The last ts used: a scrape never reuses one, which would make QuestDB's dedup merge two scrapes. */
  lastTs: number;
  lastError: string | undefined;
  lastDiskError: string | undefined;
  timer: Timer | undefined;
  inFlight: Promise<ScrapeReport> | undefined;
}

export function createExporter(options: ExporterOptions): Exporter {
  const fail = (reason: string, details: Record<string, unknown> = {}) =>
    new TradewatchError(ErrorCodes.INVALID_CONFIG, `exporter: ${reason}`, details);
  const intervalMs = options.intervalMs ?? 15_000;
  if (!Number.isInteger(intervalMs) || intervalMs < 100) throw fail(`intervalMs must be an integer >= 100, got ${String(options.intervalMs)}`);
  const timeoutMs = options.timeoutMs ?? Math.min(10_000, intervalMs);
  if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw fail(`timeoutMs must be a positive integer, got ${String(options.timeoutMs)}`);
  if (options.targets.length === 0) throw fail('at least one target is required');
  if ((options.writer === undefined) === (options.questdbUrl === undefined)) throw fail('give exactly one of writer and questdbUrl');
  const logger = options.logger ?? exporterStderrLogger;
  const targets = options.targets.map((t) => resolveTarget(t, fail));
  const seen = new Set<string>();
  for (const t of targets) {
    const key = `${t.service}\u0000${t.instance}`;
    // Two targets with the same service and instance would overwrite each other's rows through dedup.
    if (seen.has(key)) throw fail(`two targets have service ${t.service} and instance ${t.instance}; give one an instance`);
    seen.add(key);
  }
  const clock = options.clock ?? systemClock;
  const ownsWriter = options.writer === undefined;
  const writerService = options.writerService ?? 'tradewatch-exporter';
  const owned = ownsWriter ? createWriter({ url: options.questdbUrl!, service: writerService, logger }, { clock }) : undefined;
  const writer: ExporterWriter = owned ?? options.writer!;
  // An owned writer's health rows, as the SDK writes them for a monitor's writer.
  const writerHealth = owned && new WriterHealthRows(owned, writerService, hostname(), DEFAULT_WRITER_HEALTH_INTERVAL_MS, logger, clock);

  const stats = { scrapes: 0, failures: 0, rowsWritten: 0, rowsRejected: 0, last: {} as Record<string, ScrapeReport> };
  let running = false;
  let stopped: Promise<void> | undefined;

  const write = (target: ResolvedTarget, ts: number, name: string, labels: string, kind: MetricKind, value: number): boolean => {
    try {
      writer.write(metricsTable, { ts, name, service: target.service, instance: target.instance, labels, kind, source: target.source, value });
      stats.rowsWritten++;
      return true;
    } catch (err) {
      // A name or label set the schema refuses (too long, say) loses that row only, never the scrape.
      stats.rowsRejected++;
      if (stats.rowsRejected <= 10) safeLog(logger, 'warn', { name, service: target.service, err: (err as Error).message }, 'exporter: row refused by the writer');
      return false;
    }
  };

  async function scrape(target: ResolvedTarget): Promise<ScrapeReport> {
    const started = performance.now();
    const ts = Math.max(clock.now() * 1000, target.lastTs + 1);
    target.lastTs = ts;
    let status: number | undefined;
    let body: string | undefined;
    let error: string | undefined;
    let openMetrics = false;
    try {
      const headers: Record<string, string> = { accept: ACCEPT };
      if (target.authorization) headers.authorization = target.authorization;
      // The signal bounds the body read too, so a target that trickles its answer cannot hold the scrape.
      const response = await fetch(target.fetchUrl, { headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'follow' });
      status = response.status;
      if (response.status !== 200) {
        error = `HTTP ${response.status}`;
        await response.body?.cancel().catch(() => undefined);
      } else {
        openMetrics = (response.headers.get('content-type') ?? '').startsWith('application/openmetrics-text');
        body = await response.text();
      }
    } catch (err) {
      error = describeFetchError(err, timeoutMs);
    }

    let report: ScrapeReport;
    const base = { url: target.source, service: target.service, instance: target.instance, ts, status };
    if (body === undefined) {
      report = { ...base, up: false, durationMs: performance.now() - started, error, samples: 0, nonFinite: 0, created: 0, invalidLines: 0, rejected: 0 };
    } else {
      const parsed = parsePrometheusText(body, { openMetrics });
      let samples = 0;
      let rejected = 0;
      for (const s of parsed.samples) {
        if (write(target, ts, s.name, canonicalLabels(s.labels), s.kind, s.value)) samples++;
        else rejected++;
      }
      const parseError = parsed.errors.length > 0 ? parsed.errors.join('; ') : undefined;
      report = {
        ...base,
        up: true,
        durationMs: performance.now() - started,
        ...(parseError ? { error: parseError } : {}),
        samples,
        nonFinite: parsed.nonFinite,
        created: parsed.created,
        invalidLines: parsed.invalidLines,
        rejected,
      };
    }
    // The same synthetic series Prometheus adds per target, so "is it being scraped" is a query away.
    write(target, ts, 'up', '', 'gauge', report.up ? 1 : 0);
    write(target, ts, 'scrape_duration_seconds', '', 'gauge', report.durationMs / 1000);
    write(target, ts, 'scrape_samples_scraped', '', 'gauge', report.samples);
    if (target.diskPath !== undefined) report = { ...report, ...(await sampleTargetDisk(target, target.diskPath, ts)) };

    stats.scrapes++;
    if (!report.up) stats.failures++;
    stats.last[target.source] = report;
    logTransition(target, report);
    try {
      options.onScrape?.(report);
    } catch {
      // A report hook must not break the loop.
    }
    return report;
  }

  /** The disk rows of a target with a diskPath; a failing statfs is logged when it starts failing, not per scrape. */
  async function sampleTargetDisk(target: ResolvedTarget, path: string, ts: number): Promise<Pick<ScrapeReport, 'disk' | 'diskError'>> {
    const labels = canonicalLabels({ path });
    try {
      const disk = await sampleDisk(path);
      write(target, ts, DISK_METRICS.free, labels, 'gauge', disk.freeBytes);
      write(target, ts, DISK_METRICS.total, labels, 'gauge', disk.totalBytes);
      if (target.lastDiskError !== undefined) safeLog(logger, 'info', { target: target.source, path }, 'exporter: disk sampling recovered');
      target.lastDiskError = undefined;
      return { disk };
    } catch (err) {
      const diskError = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      if (diskError !== target.lastDiskError) safeLog(logger, 'warn', { target: target.source, path, err: (err as Error).message }, 'exporter: cannot sample the disk');
      target.lastDiskError = diskError;
      return { diskError };
    }
  }

  /** One log line when a target goes down (or fails differently) and one when it comes back; not one per scrape. */
  function logTransition(target: ResolvedTarget, report: ScrapeReport): void {
    const context = { target: target.source, service: target.service, instance: target.instance };
    if (!report.up && report.error !== target.lastError) {
      safeLog(logger, 'warn', { ...context, status: report.status, err: report.error }, 'exporter: scrape failed');
    } else if (report.up && target.lastError !== undefined) {
      safeLog(logger, 'info', context, 'exporter: scrape recovered');
    }
    target.lastError = report.up ? undefined : report.error;
  }

  function scrapeTracked(target: ResolvedTarget): Promise<ScrapeReport> {
    const p = scrape(target);
    target.inFlight = p;
    void p.finally(() => {
      if (target.inFlight === p) target.inFlight = undefined;
    });
    return p;
  }

  /** Each target keeps its own schedule, aligned to its first scrape; a slot missed by a slow scrape is skipped. */
  function schedule(target: ResolvedTarget, firstAt: number): void {
    const tick = async () => {
      if (!running) return;
      await scrapeTracked(target);
      if (!running) return;
      const now = clock.now();
      const next = firstAt + Math.ceil((now - firstAt + 1) / intervalMs) * intervalMs;
      target.timer = clock.setTimeout(() => void tick(), next - now);
    };
    void tick();
  }

  const exporter: Exporter = {
    scrapeOnce: () => Promise.all(targets.map((t) => scrapeTracked(t))),
    start() {
      if (running || stopped) return;
      running = true;
      const now = clock.now();
      for (const t of targets) schedule(t, now);
    },
    stop() {
      stopped ??= (async () => {
        running = false;
        for (const t of targets) t.timer?.cancel();
        await Promise.all(targets.map((t) => t.inFlight));
        writerHealth?.stop();
        if (ownsWriter) await writer.close();
        else await writer.flush();
      })();
      return stopped;
    },
    close: () => exporter.stop(),
    stats: () => ({ ...stats, last: { ...stats.last } }),
  };
  return exporter;
}

function resolveTarget(target: ExporterTarget, fail: (reason: string, details?: Record<string, unknown>) => TradewatchError): ResolvedTarget {
  let url: URL;
  try {
    url = new URL(target.url);
  } catch {
    throw fail(`target url ${JSON.stringify(target.url)} is not a URL`, { url: target.url });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw fail(`target url must be http(s), got ${url.protocol}`, { url: target.url });
  if (!target.service) throw fail(`target ${target.url} needs a service`, { url: target.url });
  // fetch() refuses URLs with credentials: they travel as a header instead, and stay out of the stored source.
  const authorization = url.username
    ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
    : undefined;
  url.username = '';
  url.password = '';
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  return {
    fetchUrl: url.toString(),
    authorization,
    service: target.service,
    instance: target.instance ?? `${url.hostname}:${port}`,
    source: target.source ?? url.toString(),
    diskPath: target.diskPath,
    lastTs: 0,
    lastError: undefined,
    lastDiskError: undefined,
    timer: undefined,
    inFlight: undefined,
  };
}

/** JSON lines on stderr, like the writer's default logger, but naming the exporter as their component. */
const exporterStderrLogger: WriterLogger = {
  warn: (context, message) => logLine('warn', context, message),
  error: (context, message) => logLine('error', context, message),
  info: (context, message) => logLine('info', context, message),
};

function logLine(level: string, context: object, message: string): void {
  process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'tradewatch-exporter', msg: message, ...context })}\n`);
}

function describeFetchError(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `timeout after ${timeoutMs} ms`;
  // undici hides the useful part (ECONNREFUSED, ENOTFOUND...) in the cause.
  if (e?.cause?.code) return `${e.cause.code}${e.cause.message ? `: ${e.cause.message}` : ''}`;
  if (e?.cause?.message) return `${e.message ?? 'fetch failed'}: ${e.cause.message}`;
  return e?.message ?? String(err);
}
