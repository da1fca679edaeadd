// Overload: offer far more than the writer's sustained capacity (the aim is 5x) into a real QuestDB and check what
// docs/writer.md promises. After a short warm-up, for BENCH_SECONDS (default 60) each:
//   1. a producer on the writer's thread that honours backpressure (writer.needDrain / writer.drained()): nothing
//      spooled or dropped. What the writer delivers to it is its sustained capacity, the yardstick for the rest;
//   2. a producer on the writer's thread that ignores backpressure, aiming at 5x capacity: memory stays bounded, the
//      spool fills to its cap and then drops its oldest segments (counted), QuestDB is never taken for unreachable,
//      the writer keeps delivering, and every row that was not counted as dropped is stored exactly once;
//   3. producers in worker_threads, each with its own writer and spool, ignoring backpressure: can more threads
//      offer 5x? (Capacity then is the sum of the writers'; QuestDB is the same.)
// Every phase checks rowsAccepted = written + rejected + dropped + queued + spooled once a second, and
// stored = distinct = written at the end. `npm run bench`; results: bench/results/overload.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { startQuestDb } from '../packages/cli/src/questdb/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { applySchema, createWriter, SqlClient, type Writer, type WriterLogger, type WriterStats } from '../packages/sdk/src/storage/index.js';
import { describeMachine } from './machine.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const WARMUP_SECONDS = Math.min(10, SECONDS);
/** "As fast as backpressure allows": the honouring producer has no rate of its own. */
const UNPACED = 1e9;
/** Producer threads in phase 3: one per core but one (QuestDB needs a core), at least 2. */
const WORKERS = Number(process.env.BENCH_WORKERS ?? Math.max(2, cpus().length - 1));
const SPOOL_MAX_BYTES = 256 * 1024 * 1024;
const SPOOL_SEGMENT_BYTES = 16 * 1024 * 1024;
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;
const MAX_BATCH_BYTES = 4 * 1024 * 1024;
/** The producer writes in slices of at most this long, then lets the event loop turn (as an event-driven producer does). */
const SLICE_MS = 10;
const SAMPLE_EVERY_S = 5;
const MiB = 2 ** 20;
const log = (line: string) => process.stderr.write(`${line}\n`);
const round = (x: number, digits = 0) => Math.round(x * 10 ** digits) / 10 ** digits;

/** The capacity the ingestion bench recorded (writer.json), for comparison: possibly another day, load and version. */
function recordedCapacity(): number | null {
  try {
    return (JSON.parse(readFileSync('bench/results/writer.json', 'utf8')) as { ours: { rowsPerSecond: number } }).ours.rowsPerSecond;
  } catch {
    return null;
  }
}

type Producer = 'ignores backpressure' | 'honours backpressure' | 'in worker threads, ignoring backpressure';

interface Sample {
  s: number;
  rssMiB: number;
  queueMiB: number;
  spoolMiB: number;
  dropped: number;
  written: number;
  accepted: number;
  needDrain: boolean;
}

/** What the producer did: how much it offered, and where its time went. */
interface Offer {
  instance: string;
  offered: number;
  seconds: number;
  /** ms inside write() loops, and ms waiting for drained(). */
  busyMs: number;
  waitedMs: number;
  drainWaits: number;
  samples: Sample[];
  /** Every 1 s: RSS, and whether the accounting identity held. */
  rss: number[];
  identityViolations: string[];
  maxQueueBytes: number;
  maxSpoolBytes: number;
  writtenAtEnd: number;
  /** Spool bytes when rows were first dropped (the policy says: only once the spool is full). */
  spoolBytesAtFirstDrop: number | undefined;
}

/** Rows still to be placed: accepted minus every place a row can end up. Zero at every moment, or a row is lost or counted twice. */
function unaccounted(st: WriterStats): number {
  return st.rowsAccepted - st.rowsWritten - st.rowsRejected - st.rowsDropped - st.queueRows - st.spoolRows;
}

/**
 * Where one producer's row timestamps go: row i at t0 + i × stride + lane. Each phase gets a range after the
 * previous one's, so its rows append in order. Rows landing inside a range QuestDB already holds take an
 * out-of-order merge with DEDUP, far more work than an append: in a first 60 s run where every phase started at the
 * same t0, the honouring producer delivered 0.58× capacity, falling as it went. Worker threads take interleaved
 * lanes, so together they stay in order too.
 */
interface Timeline {
  readonly t0: number;
  readonly stride: number;
  readonly lane: number;
}

const tsOf = (line: Timeline, i: number) => line.t0 + i * line.stride + line.lane;

function fetchRow(i: number, line: Timeline, instance: string) {
  return {
    ts: tsOf(line, i),
    service: 'overload',
    instance,
    exchange: 'binanceusdm',
    dataset: 'open_interest',
    symbol: `C${i % 50}/USDT:USDT`,
    status: 'ok',
    latency_ms: i % 500,
    records: 1,
  };
}

/**
 * Offers rows at `rate` for SECONDS. The producer gets an allowance of rows as time passes, capped at one slice:
 * a producer that cannot keep up offers less rather than piling up a debt and paying it in one long block of the
 * event loop (the first version of this bench did that, and held the loop for up to 25 s at a time).
 */
async function offer(writer: Writer, rate: number, line: Timeline, instance: string, honours: boolean, seconds = SECONDS): Promise<Offer> {
  const result: Offer = {
    instance,
    offered: 0, seconds: 0, busyMs: 0, waitedMs: 0, drainWaits: 0, samples: [], rss: [], identityViolations: [],
    maxQueueBytes: 0, maxSpoolBytes: 0, writtenAtEnd: 0, spoolBytesAtFirstDrop: undefined,
  };
  const sliceRows = (rate * SLICE_MS) / 1000;
  const start = performance.now();
  let last = start;
  let allowance = 0;
  let nextCheck = 0;
  for (;;) {
    const now = performance.now();
    const elapsed = (now - start) / 1000;
    if (elapsed >= seconds) break;
    allowance = Math.min(allowance + ((now - last) / 1000) * rate, sliceRows);
    last = now;
    let n = 0;
    while (n < allowance) {
      if (honours && writer.needDrain) break;
      writer.write(schema.fetches, fetchRow(result.offered++, line, instance));
      n++;
      if ((n & 255) === 0 && performance.now() - now >= SLICE_MS) break;
    }
    allowance -= n;
    const sliceEnd = performance.now();
    result.busyMs += sliceEnd - now;
    if (elapsed >= nextCheck) {
      check(writer, result, elapsed, nextCheck % SAMPLE_EVERY_S === 0);
      nextCheck++;
    }
    if (honours && writer.needDrain) {
      result.drainWaits++;
      await writer.drained();
      result.waitedMs += performance.now() - sliceEnd;
    } else if (allowance < 1) {
      await sleep(1);
    } else {
      await yieldToIo();
    }
  }
  result.seconds = (performance.now() - start) / 1000;
  result.writtenAtEnd = writer.stats().rowsWritten;
  check(writer, result, result.seconds, true);
  return result;
}

/** Once a second: RSS, the queue and spool high marks, the accounting identity; every SAMPLE_EVERY_S a sample. */
function check(writer: Writer, result: Offer, elapsed: number, keep: boolean): void {
  const st = writer.stats();
  const rss = process.memoryUsage.rss();
  result.rss.push(rss);
  result.maxQueueBytes = Math.max(result.maxQueueBytes, st.queueBytes);
  result.maxSpoolBytes = Math.max(result.maxSpoolBytes, st.spoolBytes);
  if (st.rowsDropped > 0 && result.spoolBytesAtFirstDrop === undefined) result.spoolBytesAtFirstDrop = st.spoolBytes;
  const off = unaccounted(st);
  if (off !== 0) result.identityViolations.push(`${round(elapsed)} s: ${off} rows unaccounted (${JSON.stringify(st)})`);
  if (!keep) return;
  const sample = {
    s: Math.round(elapsed),
    rssMiB: Math.round(rss / MiB),
    queueMiB: Math.round(st.queueBytes / MiB),
    spoolMiB: Math.round(st.spoolBytes / MiB),
    dropped: st.rowsDropped,
    written: st.rowsWritten,
    accepted: st.rowsAccepted,
    needDrain: writer.needDrain,
  };
  result.samples.push(sample);
  log(`  ${result.instance} ${sample.s} s: offered ${result.offered}, written ${sample.written}, queue ${sample.queueMiB} MiB, spool ${sample.spoolMiB} MiB, dropped ${sample.dropped}, rss ${sample.rssMiB} MiB`);
}

/** Waits until everything accepted is acknowledged, dropped or rejected; returns how long that took (s). */
async function drain(writer: Writer): Promise<number> {
  const start = performance.now();
  while (writer.stats().spoolRows > 0 || writer.stats().queueRows > 0) {
    await writer.flush();
    await sleep(50);
  }
  return (performance.now() - start) / 1000;
}

/** Rows stored for one phase: all, distinct timestamps, and whether the newest row offered is among them. */
async function stored(sql: SqlClient, instance: string, expected: number, newestTs: number) {
  let found = { n: -1, ids: -1, newest: false };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const [row] = await sql.rows<{ n: number; ids: number; newest: number }>(
      `SELECT count() n, count_distinct(ts) ids, sum(CASE WHEN ts = CAST(${newestTs} AS TIMESTAMP) THEN 1 ELSE 0 END) newest FROM tw_fetches WHERE service = 'overload' AND instance = '${instance}'`,
    );
    found = { n: Number(row?.n), ids: Number(row?.ids), newest: Number(row?.newest) === 1 };
    if (found.n >= expected) break;
    await sleep(200);
  }
  // WAL applies asynchronously: wait a little longer, so rows stored twice would show too.
  await sleep(500);
  const [row] = await sql.rows<{ n: number; ids: number }>(`SELECT count() n, count_distinct(ts) ids FROM tw_fetches WHERE service = 'overload' AND instance = '${instance}'`);
  return { ...found, n: Number(row?.n), ids: Number(row?.ids) };
}

/**
 * QuestDB's first minutes (JIT, a new table's first partitions) are slower than its steady state: the honouring
 * producer for WARMUP_SECONDS, not measured. Returns the rows written, for the next phase's timeline.
 */
async function warmUp(httpUrl: string, sql: SqlClient, line: Timeline): Promise<number> {
  const spoolDir = mkdtempSync(join(tmpdir(), 'tw-overload-spool-'));
  log(`warming up for ${WARMUP_SECONDS} s`);
  try {
    const writer = createWriter({ url: httpUrl, service: 'overload', spoolDir, ...phaseLimits(), logger: countingLogger() });
    const warm = await offer(writer, UNPACED, line, 'warmup', true, WARMUP_SECONDS);
    await drain(writer);
    await writer.close();
    await stored(sql, 'warmup', warm.offered, tsOf(line, warm.offered - 1));
    return warm.offered;
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/** What a producer thread sends back: its offer and its writer's final counters. */
interface WorkerReport {
  offer: Offer;
  stats: WriterStats;
  drainSeconds: number;
  unreachableReports: number;
}

/** Phase 3, in each worker: the phase-1 producer with its own writer and spool; reports back when drained. */
async function producerWorker(): Promise<void> {
  const { httpUrl, instance, rate, line } = workerData as { httpUrl: string; instance: string; rate: number; line: Timeline };
  const spoolDir = mkdtempSync(join(tmpdir(), 'tw-overload-spool-'));
  try {
    const logger = countingLogger();
    const writer = createWriter({ url: httpUrl, service: 'overload', spoolDir, ...phaseLimits(), logger });
    const offered = await offer(writer, rate, line, instance, false);
    const drainSeconds = await drain(writer);
    await writer.close();
    parentPort!.postMessage({ offer: offered, stats: writer.stats(), drainSeconds, unreachableReports: logger.unreachable } satisfies WorkerReport);
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

/** Starts this file in a worker thread (through tsx, which a worker does not inherit) and waits for its report. */
function runWorker(data: { httpUrl: string; instance: string; rate: number; line: Timeline }): Promise<WorkerReport> {
  const boot = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then(({ register }) => { register(); return import(${JSON.stringify(import.meta.url)}); })`;
  return new Promise((resolve, reject) => {
    const worker = new Worker(boot, { eval: true, workerData: data });
    worker.once('message', (report: WorkerReport) => resolve(report));
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`producer worker exited (${code}) without a report`)));
  });
}

async function runWorkersPhase(httpUrl: string, sql: SqlClient, rate: number, t0: number) {
  log(`phase: ${WORKERS} producers in worker threads, each with its own writer, aiming at ${Math.round(rate)} rows/s in all for ${SECONDS} s`);
  const instances = Array.from({ length: WORKERS }, (_, k) => `worker-${k}`);
  const lines = instances.map((_, k): Timeline => ({ t0, stride: WORKERS, lane: k }));
  const reports = await Promise.all(instances.map((instance, k) => runWorker({ httpUrl, instance, rate: rate / WORKERS, line: lines[k]! })));
  const perWorker: ReturnType<typeof summarisePhase>[] = [];
  for (const [k, report] of reports.entries()) {
    const rows = await stored(sql, instances[k]!, report.stats.rowsWritten, tsOf(lines[k]!, report.offer.offered - 1));
    perWorker.push(summarisePhase('in worker threads, ignoring backpressure', rate / WORKERS, report.offer, report.stats, rows, report.drainSeconds, 0, report.unreachableReports));
  }
  const sum = (f: (p: (typeof perWorker)[number]) => number) => perWorker.reduce((total, p) => total + f(p), 0);
  return {
    producer: 'in worker threads, ignoring backpressure' as const,
    workers: WORKERS,
    seconds: round(Math.max(...perWorker.map((p) => p.seconds)), 1),
    targetRowsPerSecond: Math.round(rate),
    offeredRowsPerSecond: sum((p) => p.offeredRowsPerSecond),
    deliveredRowsPerSecond: sum((p) => p.deliveredRowsPerSecond),
    offered: sum((p) => p.offered),
    accepted: sum((p) => p.accepted),
    written: sum((p) => p.written),
    dropped: sum((p) => p.dropped),
    stored: sum((p) => p.stored),
    storedDistinct: sum((p) => p.storedDistinct),
    duplicates: sum((p) => p.duplicates),
    maxRssMiB: Math.max(...perWorker.map((p) => p.maxRssMiB)),
    memoryBounded: perWorker.every((p) => p.memoryBounded),
    unreachableReports: sum((p) => p.unreachableReports),
    accountedFor: perWorker.every((p) => p.accountedFor),
    perWorker: perWorker.map(({ samples: _samples, ...rest }) => rest),
  };
}

/** Limits every phase's writer uses, so the checks below can name them. */
function phaseLimits() {
  return {
    maxBufferedBytes: MAX_BUFFERED_BYTES,
    maxBatchBytes: MAX_BATCH_BYTES,
    spool: { maxBytes: SPOOL_MAX_BYTES, segmentBytes: SPOOL_SEGMENT_BYTES, onFull: 'drop-oldest' as const },
  };
}

/** A logger that still prints, and counts the times the writer declared QuestDB unreachable. */
function countingLogger(): WriterLogger & { unreachable: number } {
  const logger = {
    unreachable: 0,
    warn: (context: object, message: string) => log(`  writer warn: ${message} ${JSON.stringify(context)}`),
    error: (context: object, message: string) => {
      if (message.startsWith('QuestDB unreachable')) logger.unreachable++;
      log(`  writer error: ${message} ${JSON.stringify(context)}`);
    },
  };
  return logger;
}

async function runPhase(httpUrl: string, sql: SqlClient, producer: Producer, rate: number, t0: number) {
  const honours = producer === 'honours backpressure';
  const instance = honours ? 'honours' : 'ignores';
  const spoolDir = mkdtempSync(join(tmpdir(), 'tw-overload-spool-'));
  const logger = countingLogger();
  log(`phase: a producer that ${producer}, ${rate >= UNPACED ? 'as fast as backpressure allows' : `aiming at ${Math.round(rate)} rows/s`}, for ${SECONDS} s`);
  try {
    const writer = createWriter({
      url: httpUrl,
      service: 'overload',
      spoolDir,
      ...phaseLimits(),
      logger,
    });
    const rssBefore = process.memoryUsage.rss();
    const line: Timeline = { t0, stride: 1, lane: 0 };
    const o = await offer(writer, rate, line, instance, honours);
    log('  draining…');
    const drainSeconds = await drain(writer);
    await writer.close();
    const st = writer.stats();
    const rows = await stored(sql, instance, st.rowsWritten, tsOf(line, o.offered - 1));
    return summarisePhase(producer, rate, o, st, rows, drainSeconds, rssBefore, logger.unreachable);
  } finally {
    rmSync(spoolDir, { recursive: true, force: true });
  }
}

function summarisePhase(
  producer: Producer,
  rate: number,
  o: Offer,
  st: WriterStats,
  rows: { n: number; ids: number; newest: boolean },
  drainSeconds: number,
  rssBefore: number,
  unreachableReports: number,
) {
  const half = Math.floor(o.rss.length / 2);
  const rssFirstHalfMax = Math.max(...o.rss.slice(0, half));
  const rssSecondHalfMax = Math.max(...o.rss.slice(half));
  // The queue within its bound (plus a request of grouped batches in flight), and no growth of RSS over the run
  // (judged on 10 samples or more: in a few seconds, start-up growth such as a worker's isolate dominates).
  const rssSteady = o.rss.length < 10 || rssSecondHalfMax <= rssFirstHalfMax * 1.1 + 16 * MiB;
  const memoryBounded = o.maxQueueBytes <= MAX_BUFFERED_BYTES + MAX_BATCH_BYTES && rssSteady;
  const identityHeld = o.identityViolations.length === 0 && unaccounted(st) === 0;
  const writeMicrosPerRow = (o.busyMs * 1000) / Math.max(1, o.offered);
  return {
    producer,
    seconds: round(o.seconds, 1),
    targetRowsPerSecond: rate >= UNPACED ? null : Math.round(rate),
    offered: o.offered,
    offeredRowsPerSecond: Math.round(o.offered / o.seconds),
    accepted: st.rowsAccepted,
    /** Acknowledged by QuestDB while the producer was offering, per second: what the writer delivered under load. */
    deliveredRowsPerSecond: Math.round(o.writtenAtEnd / o.seconds),
    written: st.rowsWritten,
    rejected: st.rowsRejected,
    dropped: st.rowsDropped,
    spooledRows: st.rowsSpooled,
    drainSeconds: round(drainSeconds, 1),
    stored: rows.n,
    storedDistinct: rows.ids,
    duplicates: rows.n - rows.ids,
    newestRowStored: rows.newest,
    maxQueueMiB: round(o.maxQueueBytes / MiB, 1),
    maxSpoolMiB: round(o.maxSpoolBytes / MiB, 1),
    spoolMiBAtFirstDrop: o.spoolBytesAtFirstDrop === undefined ? null : round(o.spoolBytesAtFirstDrop / MiB, 1),
    rssBeforeMiB: Math.round(rssBefore / MiB),
    maxRssMiB: Math.round(Math.max(...o.rss) / MiB),
    rssFirstHalfMaxMiB: Math.round(rssFirstHalfMax / MiB),
    rssSecondHalfMaxMiB: Math.round(rssSecondHalfMax / MiB),
    memoryBounded,
    unreachableReports,
    producerThread: {
      /** Share of the offer time the producer spent inside write() (the rest: the writer's I/O, timers, waiting). */
      busyShare: round(o.busyMs / (o.seconds * 1000), 3),
      waitedShare: round(o.waitedMs / (o.seconds * 1000), 3),
      drainWaits: o.drainWaits,
      writeMicrosPerRow: round(writeMicrosPerRow, 3),
      /** What this thread could offer if it did nothing but call write(): the ceiling of a same-thread producer. */
      ceilingRowsPerSecond: Math.round(1e6 / writeMicrosPerRow),
    },
    identityHeldAtEverySample: identityHeld,
    identityViolations: o.identityViolations.slice(0, 5),
    accountedFor: identityHeld && st.rowsAccepted === st.rowsWritten + st.rowsRejected + st.rowsDropped && rows.n === st.rowsWritten && rows.ids === rows.n,
    samples: o.samples,
  };
}

type PhaseResult = Awaited<ReturnType<typeof runPhase>>;
type WorkersResult = Awaited<ReturnType<typeof runWorkersPhase>>;

/** The checks docs/writer.md implies for each phase; each false one is reported by name. */
function policyChecks(ignores: PhaseResult, honours: PhaseResult, workers: WorkersResult) {
  return {
    ignores: {
      memoryBounded: ignores.memoryBounded,
      spoolNeverAboveCap: ignores.maxSpoolMiB <= SPOOL_MAX_BYTES / MiB,
      dropsOnlyOnceSpoolFull: ignores.dropped === 0 || (ignores.spoolMiBAtFirstDrop ?? 0) >= (SPOOL_MAX_BYTES - 2 * SPOOL_SEGMENT_BYTES) / MiB,
      // drop-oldest gives up the oldest segments: the newest row must survive.
      newestRowKept: ignores.newestRowStored,
      noDuplicates: ignores.duplicates === 0,
      everyRowAccountedFor: ignores.accountedFor,
      neverDeclaredUnreachable: ignores.unreachableReports === 0,
    },
    honours: {
      memoryBounded: honours.memoryBounded,
      nothingSpooledOrDropped: honours.spooledRows === 0 && honours.dropped === 0,
      noDuplicates: honours.duplicates === 0,
      everyRowAccountedFor: honours.accountedFor,
      neverDeclaredUnreachable: honours.unreachableReports === 0,
    },
    workers: {
      memoryBounded: workers.memoryBounded,
      noDuplicates: workers.duplicates === 0,
      everyRowAccountedFor: workers.accountedFor,
      neverDeclaredUnreachable: workers.unreachableReports === 0,
    },
  };
}

/** Why the offer fell short of 5x, in numbers from this run. */
function offerLimit(ignores: PhaseResult, workers: WorkersResult, capacity: number, target: number) {
  const ceiling = ignores.producerThread.ceilingRowsPerSecond;
  const cores = cpus().length;
  return {
    reached: Math.max(ignores.offeredRowsPerSecond, workers.offeredRowsPerSecond) >= target,
    oneThreadCeilingRowsPerSecond: ceiling,
    oneThreadCeilingTimesCapacity: round(ceiling / capacity, 2),
    workersOfferedTimesCapacity: round(workers.offeredRowsPerSecond / capacity, 2),
    reason:
      `On one thread, write() cost ${ignores.producerThread.writeMicrosPerRow} µs a row under overload (validation, encoding, sealing, spooling the excess), ` +
      `so that thread could offer at most ${ceiling} rows/s (${round(ceiling / capacity, 2)}× capacity) if it did nothing else; it also has to leave the ` +
      `event loop to the writer (it spent ${Math.round(ignores.producerThread.busyShare * 100)}% of the time in write()), and offered ` +
      `${ignores.offeredRowsPerSecond} rows/s (${round(ignores.offeredRowsPerSecond / capacity, 2)}×). ${WORKERS} producer threads with their own writers offered ` +
      `${workers.offeredRowsPerSecond} rows/s in all (${round(workers.offeredRowsPerSecond / capacity, 2)}×): on ${cores} cores they share the CPU with each other ` +
      `and with QuestDB, which needs a core to ingest at capacity. 5× (${Math.round(target)} rows/s) needs more cores than this machine has, or a cheaper row.`,
  };
}

async function main(): Promise<void> {
  const loadAtStart = loadavg();
  const dataRoot = mkdtempSync(join(tmpdir(), 'tw-overload-questdb-'));
  log('starting QuestDB');
  const server = await startQuestDb({ dataRoot });
  try {
    const sql = new SqlClient({ url: server.httpUrl });
    await applySchema(sql);
    // Each phase's rows go after the previous phase's (see Timeline).
    let t0 = Date.now() * 1000;
    t0 += await warmUp(server.httpUrl, sql, { t0, stride: 1, lane: 0 });
    const honours = await runPhase(server.httpUrl, sql, 'honours backpressure', UNPACED, t0);
    t0 += honours.offered;
    const capacity = honours.deliveredRowsPerSecond;
    const target = capacity * 5;
    log(`capacity: ${Math.round(capacity)} rows/s delivered to the producer that honours backpressure`);
    const ignores = await runPhase(server.httpUrl, sql, 'ignores backpressure', target, t0);
    t0 += ignores.offered;
    const workers = await runWorkersPhase(server.httpUrl, sql, target, t0);
    const checks = policyChecks(ignores, honours, workers);
    const result = {
      benchmark: 'overload',
      machine: describeMachine(),
      load: { atStart: loadAtStart.map((l) => round(l, 2)), atEnd: loadavg().map((l) => round(l, 2)) },
      // The top-level fields describe the producer on the writer's thread that ignores backpressure (the overload
      // case), as before; capacity is now measured in this run (the recorded one is kept for comparison).
      seconds: Math.round(ignores.seconds),
      capacityRowsPerSecond: Math.round(capacity),
      capacitySource:
        `delivered in this run to a producer on the writer's thread that honours backpressure (${SECONDS} s, after ${WARMUP_SECONDS} s of warm-up). ` +
        `recordedCapacityRowsPerSecond is the ingestion bench's (writer.json), measured with an earlier writer, on another day and load.`,
      recordedCapacityRowsPerSecond: recordedCapacity(),
      targetRowsPerSecond: Math.round(target),
      offeredRowsPerSecond: ignores.offeredRowsPerSecond,
      offeredTimesCapacity: round(ignores.offeredRowsPerSecond / capacity, 2),
      deliveredRowsPerSecond: ignores.deliveredRowsPerSecond,
      deliveredShareOfCapacity: round(ignores.deliveredRowsPerSecond / capacity, 2),
      offered: ignores.offered,
      accepted: ignores.accepted,
      written: ignores.written,
      dropped: ignores.dropped,
      stored: ignores.stored,
      storedDistinct: ignores.storedDistinct,
      duplicates: ignores.duplicates,
      spoolMaxMiB: SPOOL_MAX_BYTES / MiB,
      maxRssMiB: Math.max(ignores.maxRssMiB, honours.maxRssMiB, workers.maxRssMiB),
      accountedFor: ignores.accountedFor && honours.accountedFor && workers.accountedFor,
      offerLimit: offerLimit(ignores, workers, capacity, target),
      checks,
      phases: { ignoresBackpressure: ignores, honoursBackpressure: honours, workerThreads: workers },
      samples: ignores.samples,
    };
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/overload.json', `${JSON.stringify(result, null, 2)}\n`);
    console.log(`capacity ${Math.round(capacity)} rows/s (the honouring producer's; writer.json says ${result.recordedCapacityRowsPerSecond ?? 'nothing'}), aim 5× = ${Math.round(target)} rows/s`);
    for (const phase of [honours, ignores, workers]) {
      console.log(
        `a producer ${phase.producer === 'in worker threads, ignoring backpressure' ? `of ${WORKERS} ` : 'that '}${phase.producer}: offered ${phase.offeredRowsPerSecond} rows/s ` +
          `(${round(phase.offeredRowsPerSecond / capacity, 2)}×) for ${phase.seconds} s, delivered ${phase.deliveredRowsPerSecond} rows/s (${round(phase.deliveredRowsPerSecond / capacity, 2)}×); ` +
          `accepted ${phase.accepted}, written ${phase.written}, dropped ${phase.dropped}, stored ${phase.stored} (distinct ${phase.storedDistinct}), ` +
          `max RSS ${phase.maxRssMiB} MiB, unreachable reports ${phase.unreachableReports}; every row accounted for: ${phase.accountedFor}`,
      );
    }
    console.log(result.offerLimit.reached ? 'the offer reached 5×' : `the offer did not reach 5×: ${result.offerLimit.reason}`);
    const failed = Object.entries(checks).flatMap(([phase, c]) => Object.entries(c).filter(([, ok]) => !ok).map(([name]) => `${phase}.${name}`));
    console.log(failed.length === 0 ? 'all checks hold' : `checks that failed: ${failed.join(', ')}`);
  } finally {
    await server.stop();
    rmSync(dataRoot, { recursive: true, force: true });
  }
}

if (isMainThread) await main();
else await producerWorker();
