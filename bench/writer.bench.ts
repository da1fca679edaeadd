// Writer throughput vs the official Node client and the official Python client into the same real QuestDB,
// and write-to-visible latency.
// `npm run bench` (or BENCH_WRITER_SECONDS=30 node --import tsx bench/writer.bench.ts). Results: bench/results/writer.json.
// The three writers run in rounds (BENCH_WRITER_ROUNDS, default 5), the order reversed every other round; each ratio
// is the median of the rounds' ratios, with their range: one run each made the ratio to the Python client swing
// between 1.9x and 2.2x from one run of the bench to the next on a 2-core machine, and 3 rounds' ratios to the Node
// client spanned 7.7-10.7x on another.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Sender } from '@questdb/nodejs-client';
import { startQuestDb, type QuestDbServer } from '../packages/cli/src/questdb/index.js';
import { schema } from '../packages/sdk/src/schema/index.js';
import { applySchema, createWriter, SqlClient } from '../packages/sdk/src/storage/index.js';
import { settled } from '../test/helpers/rows.js';
import { cpuMeter, describeCpu, describeMachine, percentile, type CpuShare } from './machine.js';

const SECONDS = Number(process.env.BENCH_WRITER_SECONDS ?? 12);
const ROUNDS = Number(process.env.BENCH_WRITER_ROUNDS ?? 5);
const LATENCY_RATE = 10_000;
/** Rows written before the measured runs, so that none of them pays for QuestDB's JIT warm-up. */
const WARMUP_SECONDS = Number(process.env.BENCH_WARMUP_SECONDS ?? 5);
const EXCHANGES = ['binanceusdm', 'bybit', 'okx', 'bitget', 'hyperliquid'];
const SYMBOLS = Array.from({ length: 50 }, (_, i) => `C${i}/USDT:USDT`);

const log = (line: string) => process.stderr.write(`${line}\n`);

/** One tw_fetches row, varied like a real pipeline's. Timestamps strictly increase so DEDUP keeps every row. */
function fetchRow(i: number, t0: number, instance: string) {
  return {
    ts: t0 + i,
    service: 'bench',
    instance,
    exchange: EXCHANGES[i % EXCHANGES.length]!,
    dataset: i % 3 === 0 ? 'funding_rate' : 'open_interest',
    symbol: SYMBOLS[i % SYMBOLS.length]!,
    status: i % 97 === 0 ? 'error' : 'ok',
    latency_ms: (i % 500) + 0.25,
    records: 1,
  };
}

async function visibleCount(sql: SqlClient, instance: string): Promise<number> {
  const rows = await sql.rows<{ n: number }>(`SELECT count() n FROM tw_fetches WHERE instance = '${instance}'`);
  return Number(rows[0]?.n ?? 0);
}

async function waitVisible(sql: SqlClient, instance: string, expected: number): Promise<number> {
  const start = performance.now();
  while ((await visibleCount(sql, instance)) < expected) await new Promise((r) => setTimeout(r, 50));
  return performance.now() - start;
}

/** Writes as fast as the writer accepts for `runSeconds`, then waits for every row to be acknowledged. */
async function ourWriter(server: QuestDbServer, sql: SqlClient, instance = 'ours', runSeconds = SECONDS, t0 = Date.now() * 1000) {
  const spoolDir = mkdtempSync(join(tmpdir(), 'tw-bench-spool-'));
  const writer = createWriter({ url: server.httpUrl, service: 'bench', spoolDir });
  const meter = cpuMeter(server.pid);
  const start = performance.now();
  let i = 0;
  // Offer rows as fast as the writer drains them, honouring its backpressure (needDrain / drained(), as
  // docs/writer.md recommends), so the number measures rows acknowledged by QuestDB per second, not rows parked.
  while (performance.now() - start < runSeconds * 1000) {
    for (let k = 0; k < 1000; k++, i++) writer.write(schema.fetches, fetchRow(i, t0, instance));
    if (writer.needDrain) await writer.drained();
    else await new Promise((r) => setImmediate(r));
  }
  while (writer.stats().spoolRows > 0 || writer.stats().queueRows > 0) {
    await writer.flush();
    await new Promise((r) => setTimeout(r, 5));
  }
  await writer.close();
  const seconds = (performance.now() - start) / 1000;
  const cpu = meter();
  const stats = writer.stats();
  if (stats.rowsWritten !== i) throw new Error(`writer acknowledged ${stats.rowsWritten} of ${i} rows`);
  const applyMs = await waitVisible(sql, instance, i);
  rmSync(spoolDir, { recursive: true, force: true });
  return { rows: i, seconds, rowsPerSecond: i / seconds, walApplyTailMs: applyMs, cpu };
}

async function officialClient(server: QuestDbServer, sql: SqlClient, instance = 'official', t0 = Date.now() * 1000) {
  const host = new URL(server.httpUrl).host;
  // Auto-flush at the client's documented defaults (75,000 rows or 1 s for HTTP). Protocol 1: the same text lines
  // as ours. (Until issue 15 both peers flushed every 5000 rows / 250 ms, which made each of their requests a small
  // QuestDB transaction: the Python peer ran 2.8-3x slower so, measured under load.)
  const sender = await Sender.fromConfig(`http::addr=${host};protocol_version=1`);
  const meter = cpuMeter(server.pid);
  const start = performance.now();
  let i = 0;
  while (performance.now() - start < SECONDS * 1000) {
    const r = fetchRow(i, t0, instance);
    await sender
      .table('tw_fetches')
      .symbol('service', r.service)
      .symbol('instance', r.instance)
      .symbol('exchange', r.exchange)
      .symbol('dataset', r.dataset)
      .symbol('symbol', r.symbol)
      .symbol('status', r.status)
      .floatColumn('latency_ms', r.latency_ms)
      .intColumn('records', r.records)
      .at(r.ts, 'us');
    i++;
  }
  await sender.flush();
  await sender.close();
  const seconds = (performance.now() - start) / 1000;
  const cpu = meter();
  const applyMs = await waitVisible(sql, instance, i);
  return { rows: i, seconds, rowsPerSecond: i / seconds, walApplyTailMs: applyMs, cpu };
}

const PYTHON = fileURLToPath(new URL('../.venv/bin/python', import.meta.url));
const PYTHON_WRITER = fileURLToPath(new URL('./python_writer.py', import.meta.url));

/** The official Python `questdb` client (PyPI, installed by scripts/setup.sh) sending the same rows row by row. */
async function pythonClient(server: QuestDbServer, sql: SqlClient, instance = 'python', t0 = Date.now() * 1000) {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} is missing: run \`npm run setup\` to install the Python questdb client`);
  const host = new URL(server.httpUrl).host;
  // QuestDB's and the machine's cores over the child's whole life (its start-up included); the child reports its own.
  const meter = cpuMeter(server.pid);
  const start = performance.now();
  const stdout = await new Promise<string>((resolve, reject) => {
    const child = spawn(PYTHON, [PYTHON_WRITER, host, String(SECONDS), instance, String(t0)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`python_writer.py exited with ${code}`))));
  });
  const wallSeconds = (performance.now() - start) / 1000;
  const { rows, seconds, client, cpuSeconds } = JSON.parse(stdout) as { rows: number; seconds: number; client?: string; cpuSeconds: number };
  const cpu = meter(cpuSeconds / seconds);
  const applyMs = await waitVisible(sql, instance, rows);
  const visible = await visibleCount(sql, instance);
  if (visible !== rows) throw new Error(`python client: ${visible} rows visible, ${rows} sent`);
  return { client, rows, seconds, rowsPerSecond: rows / seconds, walApplyTailMs: applyMs, processSeconds: wallSeconds, cpu };
}

/** Rows paced at LATENCY_RATE; a poller records when each row count became visible to SQL. */
async function latency(server: QuestDbServer, sql: SqlClient) {
  const writer = createWriter({ url: server.httpUrl, service: 'bench' });
  const instance = 'latency';
  const t0 = Date.now() * 1000;
  const total = LATENCY_RATE * Math.min(SECONDS, 20);
  const writtenAt = new Float64Array(total);
  const visibleAt = new Float64Array(total).fill(NaN);
  let written = 0;
  let seen = 0;
  let polling = true;
  const poller = (async () => {
    while (polling || seen < written) {
      const count = await visibleCount(sql, instance);
      const now = performance.now();
      for (; seen < count; seen++) visibleAt[seen] = now;
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  const start = performance.now();
  const perTick = LATENCY_RATE / 1000; // rows per ms
  while (written < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) * perTick));
    for (; written < due; written++) {
      writtenAt[written] = performance.now();
      writer.write(schema.fetches, fetchRow(written, t0, instance));
    }
    await new Promise((r) => setTimeout(r, 1));
  }
  await writer.flush();
  polling = false;
  await poller;
  await writer.close();
  const latencies = Array.from(writtenAt, (w, i) => visibleAt[i]! - w).sort((a, b) => a - b);
  return {
    rows: total,
    rate: LATENCY_RATE,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    maxMs: latencies[latencies.length - 1],
  };
}

const loadAtStart = loadavg();
const dataRoot = mkdtempSync(join(tmpdir(), 'tw-bench-questdb-'));
log(`starting QuestDB (data root ${dataRoot})`);
const server = await startQuestDb({ dataRoot });
try {
  const sql = new SqlClient({ url: server.httpUrl });
  await applySchema(sql);
  // A fresh JVM runs QuestDB's ingestion path interpreted until its JIT has compiled it (1-2 s of a core on these
  // machines). Whichever peer ran first paid for that, and ours always ran first: warm the server up for all of them.
  // Its rows are two hours old, in other rollup buckets than the measured runs': each refresh of the tw_fetches
  // rollups recomputes the buckets it touches, so rows in a measured run's bucket would make that run pay for them.
  if (WARMUP_SECONDS > 0) {
    log(`warming QuestDB up: ${WARMUP_SECONDS}s…`);
    await ourWriter(server, sql, 'warmup', WARMUP_SECONDS, (Date.now() - 2 * 3_600_000) * 1000);
  }
  type Run = { rows: number; seconds: number; rowsPerSecond: number; cpu: CpuShare };
  // The writer's own CPU per row (µs of its process), which, unlike its rate, does not depend on how many cores
  // QuestDB leaves it.
  const cpuPerRowUs = (run: Run) => (run.cpu.client * 1e6) / run.rowsPerSecond;
  const runs: { ours: Run[]; official: (Run & { walApplyTailMs: number })[]; python: Awaited<ReturnType<typeof pythonClient>>[] } = { ours: [], official: [], python: [] };
  // Each run's rows get a minute of event time of their own (a run's rows span a few seconds: ts = t0 + i µs), in
  // the order the runs happen, ending a minute ago: QuestDB refreshes the 1-minute rollups bucket by bucket, and a
  // run sharing its bucket with an earlier one would pay for recomputing that one's rows too (the later runs of a
  // round would be slowed, which the alternating order would only partly even out), and no run's rows are older
  // than the last run's (out-of-order rows cost QuestDB a merge).
  const firstMinute = (Math.floor(Date.now() / 60_000) - ROUNDS * 3) * 60_000;
  let runIndex = 0;
  const nextT0 = () => (firstMinute + runIndex++ * 60_000) * 1000;
  const peers = {
    ours: async (round: number) => runs.ours.push(await ourWriter(server, sql, `ours-${round}`, SECONDS, nextT0())),
    official: async (round: number) => runs.official.push(await officialClient(server, sql, `official-${round}`, nextT0())),
    python: async (round: number) => runs.python.push(await pythonClient(server, sql, `python-${round}`, nextT0())),
  };
  for (let round = 1; round <= ROUNDS; round++) {
    // Every run starts once QuestDB has settled: every WAL transaction applied and every rollup refreshed up to its
    // base table (test/helpers/rows.ts). Waiting only for a run's own rows to be visible left the 1-minute rollups'
    // refresh of a fast run's millions of rows running into the next run, which then shared the 2 cores with it.
    const order = (['ours', 'official', 'python'] as const).slice();
    if (round % 2 === 0) order.reverse();
    for (const peer of order) {
      const settleStart = performance.now();
      await settled(sql, 300_000);
      log(`round ${round}/${ROUNDS}, ${peer}: ${SECONDS}s sustained… (QuestDB settled in ${Math.round(performance.now() - settleStart)} ms)`);
      await peers[peer](round);
      const run = runs[peer].at(-1)!;
      log(`  ${Math.round(run.rowsPerSecond)} rows/s, ${cpuPerRowUs(run).toFixed(2)} µs of client CPU a row (${describeCpu(run.cpu, peer === 'ours' ? 'this process' : peer === 'official' ? 'this process (the client)' : 'python')})`);
    }
  }
  /** The run with the median rate: its rows and seconds are a real run's, not a blend. */
  const medianRun = <T extends Run>(list: T[]): T => list.slice().sort((a, b) => a.rowsPerSecond - b.rowsPerSecond)[Math.floor((list.length - 1) / 2)]!;
  const ratiosTo = (peer: Run[]) => runs.ours.map((run, i) => run.rowsPerSecond / peer[i]!.rowsPerSecond);
  const summary = (ratios: number[]) => ({ median: percentile(ratios.slice().sort((a, b) => a - b), 50), min: Math.min(...ratios), max: Math.max(...ratios), rounds: ratios });
  const ours = medianRun(runs.ours);
  const official = medianRun(runs.official);
  const python = medianRun(runs.python);
  const vsOfficial = summary(ratiosTo(runs.official));
  const vsPython = summary(ratiosTo(runs.python));
  // Per round, the peer's CPU per row over ours.
  const cpuRatiosTo = (peer: Run[]) => runs.ours.map((run, i) => cpuPerRowUs(peer[i]!) / cpuPerRowUs(run));
  const cpuVsOfficial = summary(cpuRatiosTo(runs.official));
  const cpuVsPython = summary(cpuRatiosTo(runs.python));
  log(`latency at ${LATENCY_RATE} rows/s…`);
  const lat = await latency(server, sql);
  log(`  p50 ${lat.p50Ms.toFixed(0)} ms, p99 ${lat.p99Ms.toFixed(0)} ms`);
  const result = {
    benchmark: 'writer',
    machine: describeMachine(),
    load: { atStart: loadAtStart.map((l) => Math.round(l * 100) / 100), atEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    questdb: 'same machine, loopback, managed by tradewatch',
    table: 'tw_fetches (WAL, DEDUP)',
    secondsPerRun: SECONDS,
    rounds: ROUNDS,
    betweenRuns: 'settled: WAL applied, rollups refreshed',
    warmupSeconds: WARMUP_SECONDS,
    ours,
    official,
    python,
    runs,
    ratio: vsOfficial.median,
    ratioVsPython: vsPython.median,
    ratios: { official: vsOfficial, python: vsPython },
    clientCpuPerRow: {
      us: { ours: cpuPerRowUs(ours), official: cpuPerRowUs(official), python: cpuPerRowUs(python) },
      ratios: { official: cpuVsOfficial, python: cpuVsPython },
    },
    latency: lat,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/writer.json', `${JSON.stringify(result, null, 2)}\n`);
  console.table({
    'tradewatch writer': { 'rows/s': Math.round(ours.rowsPerSecond) },
    '@questdb/nodejs-client': { 'rows/s': Math.round(official.rowsPerSecond) },
    'questdb (Python)': { 'rows/s': Math.round(python.rowsPerSecond) },
  });
  const range = (r: { min: number; max: number }) => `${r.min.toFixed(2)}-${r.max.toFixed(2)}`;
  console.log(`median ratio over ${ROUNDS} rounds ${result.ratio.toFixed(2)}x vs Node client (${range(vsOfficial)}), ${result.ratioVsPython.toFixed(2)}x vs Python client (${range(vsPython)}); write→visible at ${LATENCY_RATE}/s: p50 ${lat.p50Ms.toFixed(0)} ms, p99 ${lat.p99Ms.toFixed(0)} ms`);
  console.log(`client CPU per row: the Node client ${cpuVsOfficial.median.toFixed(1)}x ours (${range(cpuVsOfficial)}), the Python client ${cpuVsPython.median.toFixed(1)}x (${range(cpuVsPython)})`);
} finally {
  await server.stop();
  rmSync(dataRoot, { recursive: true, force: true });
}
