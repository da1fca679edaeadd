/**
 * SDK per-call cost against prom-client alone, and /metrics render time.
 *
 *   node --import tsx bench/sdk.bench.ts            (writes bench/results/sdk.json)
 *
 * The writer is real (validation, ILP encoding, batching, HTTP delivery) but points at a loopback null sink that
 * answers 204, so QuestDB's own cost is not in the numbers. "call" is the time spent inside the SDK call (what the
 * caller pays); "with delivery" divides the wall time of the whole run, background batch delivery to the sink
 * included, by the calls. Each figure is the median of several runs after a warm-up; each SDK method is measured
 * interleaved with prom-client's `counter.inc` so that its ratio compares like with like on a noisy machine.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { Counter, Registry } from 'prom-client';
import { createMonitor, renderMetrics, type Monitor } from '../packages/sdk/src/sdk/index.js';
import { createWriter } from '../packages/sdk/src/storage/index.js';

/** Rounds per measurement; each figure is the median of them (at least 7, so one noisy round cannot move it). */
const RUNS = Math.max(7, Number(process.env.BENCH_RUNS ?? 9));
const CALLS = Number(process.env.BENCH_CALLS ?? 100_000);
const WARMUP = Number(process.env.BENCH_WARMUP ?? 50_000);
/** Calls between yields to the event loop, so the writer can deliver batches as it would in a real process. */
const CHUNK = 1000;
/** Comma-separated substrings of method names to measure (e.g. `liquidation,strategy.order`); all when unset. */
const ONLY = (process.env.BENCH_ONLY ?? '').split(',').filter((s) => s !== '');

interface Result {
  readonly name: string;
  /** Inside the call, real writer (encoding + batching included). */
  readonly callNs: number;
  /** Wall time per call, background delivery to the sink included. */
  readonly wallNs: number;
  /** Inside the call with a no-op writer: the SDK's own cost (clock, row, metrics), without the storage writer. */
  readonly sdkOnlyNs?: number;
  readonly ratio?: number;
  readonly sdkOnlyRatio?: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

interface Op {
  readonly run: (i: number) => void;
  /** Waits for what the calls left in flight (the writer's batches), so wall time includes delivery. */
  readonly settle: () => Promise<void>;
}

interface Measured {
  readonly callNs: number;
  readonly wallNs: number;
}

/** One run: CALLS calls in chunks, yielding between chunks so the writer delivers as it would in a real process. */
async function runOnce(op: Op): Promise<Measured> {
  let inside = 0n;
  const wallStart = process.hrtime.bigint();
  for (let base = 0; base < CALLS; base += CHUNK) {
    const t0 = process.hrtime.bigint();
    for (let i = base; i < base + CHUNK; i++) op.run(i);
    inside += process.hrtime.bigint() - t0;
    await yieldToLoop();
  }
  await op.settle();
  return { callNs: Number(inside) / CALLS, wallNs: Number(process.hrtime.bigint() - wallStart) / CALLS };
}

/**
 * Measures several ops with their runs interleaved (A B C A B C ...), so that noise from other processes on the
 * machine hits all of them alike and their ratios stay meaningful. Medians per op.
 */
async function measureTogether(ops: readonly Op[]): Promise<Measured[]> {
  for (const op of ops) {
    for (let i = 0; i < WARMUP; i++) {
      op.run(i);
      if (i % CHUNK === 0) await yieldToLoop();
    }
    await op.settle();
  }
  const samples = ops.map(() => ({ calls: [] as number[], walls: [] as number[] }));
  for (let r = 0; r < RUNS; r++) {
    for (let k = 0; k < ops.length; k++) {
      const m = await runOnce(ops[k]!);
      samples[k]!.calls.push(m.callNs);
      samples[k]!.walls.push(m.wallNs);
    }
  }
  return samples.map((s) => ({ callNs: median(s.calls), wallNs: median(s.walls) }));
}

const nothingToSettle = async () => {};

async function startNullSink(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.statusCode = 204;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

const EXCHANGES = ['binanceusdm', 'bybit', 'okx', 'bitget'];
const SYMBOLS = Array.from({ length: 16 }, (_, i) => `SYM${i}/USDT:USDT`);
const SIDES = ['buy', 'sell'] as const;
const pick = <T>(xs: readonly T[], i: number) => xs[i % xs.length]!;

async function benchCalls(monitor: Monitor, sdkOnly: Monitor, settleWriter: () => Promise<void>): Promise<Result[]> {
  const results: Result[] = [];

  // prom-client alone: a Counter with three labels, as most code uses it.
  const promRegistry = new Registry();
  const counter = new Counter({ name: 'bench_events_total', help: 'bench', labelNames: ['exchange', 'symbol', 'side'], registers: [promRegistry] });
  const labelSets = EXCHANGES.flatMap((exchange) => SYMBOLS.flatMap((symbol) => SIDES.map((side) => ({ exchange, symbol, side }))));
  const promInc: Op = { run: (i) => counter.inc(pick(labelSets, i)), settle: nothingToSettle };
  const promChild: Op = {
    run: (i) => {
      const l = pick(labelSets, i);
      counter.labels(l.exchange, l.symbol, l.side).inc();
    },
    settle: nothingToSettle,
  };
  const baselines: number[] = [];
  const baselineWalls: number[] = [];
  const [inc, child] = await measureTogether([promInc, promChild]);
  baselines.push(inc!.callNs);
  baselineWalls.push(inc!.wallNs);
  results.push({ name: 'prom-client counter.inc({3 labels})', ...inc! }, { name: 'prom-client counter.labels(a,b,c).inc()', ...child! });

  /** One SDK call on both monitors (real writer, no-op writer), interleaved with the prom-client baseline. */
  const both = async (name: string, op: (m: Monitor, i: number) => void) => {
    if (ONLY.length > 0 && !ONLY.some((s) => name.includes(s))) return;
    const [base, full, alone] = await measureTogether([
      promInc,
      { run: (i) => op(monitor, i), settle: settleWriter },
      { run: (i) => op(sdkOnly, i), settle: nothingToSettle },
    ]);
    baselines.push(base!.callNs);
    baselineWalls.push(base!.wallNs);
    results.push({
      name,
      ...full!,
      sdkOnlyNs: alone!.callNs,
      ratio: full!.callNs / base!.callNs,
      sdkOnlyRatio: alone!.callNs / base!.callNs,
    });
    process.stderr.write(`  ${name}: ${full!.callNs.toFixed(0)} ns/op, SDK alone ${alone!.callNs.toFixed(0)}, prom-client ${base!.callNs.toFixed(0)}\n`);
  };

  const liquidations = labelSets.map((l, i) => ({ ...l, price: 100 + i, amount: 0.5, valueUsd: 50 + i, exchangeTime: Date.now() }));
  const fetches = labelSets.map((l, i) => ({
    exchange: l.exchange,
    dataset: i % 2 ? 'open_interest' : 'funding_rate',
    symbol: l.symbol,
    status: 'ok' as const,
    latencyMs: 20 + (i % 50),
    records: 1,
  }));
  const now = Date.now();
  await both('message(exchange, channel, exchangeTime)', (m, i) => m.message(pick(EXCHANGES, i), 'trades', now));
  await both('liquidation', (m, i) => m.liquidation(pick(liquidations, i)));
  await both('fetch', (m, i) => m.fetch(pick(fetches, i)));
  await both('openInterest', (m, i) => m.openInterest({ exchange: pick(EXCHANGES, i), symbol: pick(SYMBOLS, i), openInterest: 1000 + i }));
  await both('fundingRate', (m, i) => m.fundingRate({ exchange: pick(EXCHANGES, i), symbol: pick(SYMBOLS, i), fundingRate: 0.0001, markPrice: 100 }));
  await both('rateLimit', (m, i) => m.rateLimit({ exchange: pick(EXCHANGES, i), used: i % 1200, quota: 1200, throttled: false }));
  await both('connectionState', (m, i) => m.connectionState({ exchange: pick(EXCHANGES, i), channel: 'trades', state: i % 2 ? 'connected' : 'disconnected' }));
  const err = new Error('ECONNRESET');
  await both('error', (m, i) => m.error(err, { component: 'fetcher', exchange: pick(EXCHANGES, i) }));
  await both('dataGap', (m, i) => m.dataGap({ exchange: pick(EXCHANGES, i), dataset: 'open_interest', symbol: pick(SYMBOLS, i), start: now - 60_000, end: now }));
  await both('storageSize', (m, i) => m.storageSize({ store: pick(SYMBOLS, i), bytes: 1_000_000 + i, files: 10 }));
  const ref = { strategy: 'grid', runId: 'bench-1', mode: 'paper' } as const;
  // Callers keep their strategy handle; so does the bench.
  const runFull = monitor.strategy(ref);
  const runAlone = sdkOnly.strategy(ref);
  const run = (m: Monitor) => (m === monitor ? runFull : runAlone);
  await both('strategy.pnl', (m, i) => run(m).pnl({ realized: i, unrealized: 1, equity: 10_000 + i }));
  await both('strategy.order', (m, i) => run(m).order({ exchange: 'bybit', symbol: pick(SYMBOLS, i), orderId: `o${i & 1023}`, side: pick(SIDES, i), status: i % 2 ? 'open' : 'filled', price: 100, amount: 1 }));
  await both('strategy.fill', (m, i) => run(m).fill({ exchange: 'bybit', symbol: pick(SYMBOLS, i), orderId: 'o1', fillId: `f${i}`, side: 'buy', price: 100, amount: 1, fee: 0.01 }));
  await both('strategy.position', (m, i) => run(m).position({ exchange: 'bybit', symbol: pick(SYMBOLS, i), quantity: 1, markPrice: 100 }));
  const labels = SYMBOLS.map((symbol) => ({ queue: symbol }));
  await both('metric (gauge, 1 label)', (m, i) => m.metric({ name: 'bench_queue_depth', value: i, labels: pick(labels, i) }));
  // The baseline row shows the median over every interleaved measurement of it.
  results[0] = { ...results[0]!, callNs: median(baselines), wallNs: median(baselineWalls) };
  return results;
}

interface RenderResult {
  readonly series: number;
  readonly sdkPrometheusMs: number;
  readonly sdkOpenMetricsMs: number;
  readonly promClientMs: number;
}

async function benchRender(url: string): Promise<RenderResult[]> {
  const out: RenderResult[] = [];
  for (const series of [1000, 10_000]) {
    const writer = createWriter({ url, service: 'bench-render' });
    const registry = new Registry();
    const monitor = createMonitor({ service: 'bench-render', writer, registry, sampleIntervalMs: 0, maxSeriesPerMetric: series * 2 });
    for (let i = 0; i < series; i++) {
      monitor.liquidation({ exchange: pick(EXCHANGES, i), symbol: `S${i}/USDT:USDT`, side: 'buy', price: 1, amount: 1 });
      if (i % CHUNK === 0) await yieldToLoop();
    }
    const prom = new Registry();
    const counter = new Counter({ name: 'bench_liquidations_total', help: 'bench', labelNames: ['service', 'exchange', 'symbol', 'side'], registers: [prom] });
    for (let i = 0; i < series; i++) counter.inc({ service: 'bench-render', exchange: pick(EXCHANGES, i), symbol: `S${i}/USDT:USDT`, side: 'buy' });
    const time = async (fn: () => Promise<unknown>) => {
      const xs: number[] = [];
      for (let r = 0; r < RUNS + 2; r++) {
        const t0 = process.hrtime.bigint();
        await fn();
        if (r >= 2) xs.push(Number(process.hrtime.bigint() - t0) / 1e6);
      }
      return median(xs);
    };
    out.push({
      series,
      sdkPrometheusMs: await time(() => renderMetrics(registry, 'prometheus')),
      sdkOpenMetricsMs: await time(() => renderMetrics(registry, 'openmetrics')),
      promClientMs: await time(() => prom.metrics()),
    });
    await monitor.shutdown();
    await writer.close();
  }
  return out;
}

/** 1, 5 and 15 minute load averages, so a reader can judge how busy the machine was. */
const loadAverage = () => {
  const [m1, m5, m15] = os.loadavg();
  return { '1m': Number(m1!.toFixed(2)), '5m': Number(m5!.toFixed(2)), '15m': Number(m15!.toFixed(2)) };
};

async function main(): Promise<void> {
  const loadAtStart = loadAverage();
  const sink = await startNullSink();
  const writer = createWriter({ url: sink.url, service: 'bench' });
  const monitor = createMonitor({ service: 'bench', writer, sampleIntervalMs: 0 });
  const noopWriter = { write: () => {}, flush: async () => {}, close: async () => {}, stats: () => writer.stats() };
  const sdkOnly = createMonitor({ service: 'bench', writer: noopWriter, sampleIntervalMs: 0 });
  process.stderr.write(`per-call (${RUNS} runs × ${CALLS} calls, median):\n`);
  const calls = await benchCalls(monitor, sdkOnly, () => writer.flush());
  await monitor.shutdown();
  await sdkOnly.shutdown();
  await writer.close();
  const render = ONLY.length > 0 ? [] : await benchRender(sink.url);
  await sink.close();
  const loadAtEnd = loadAverage();

  const machine = {
    cpu: os.cpus()[0]?.model ?? 'unknown',
    cores: os.cpus().length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    platform: `${os.platform()} ${os.release()}`,
  };
  const report = {
    date: new Date().toISOString(),
    machine,
    load: { atStart: loadAtStart, atEnd: loadAtEnd },
    settings: {
      runs: RUNS,
      callsPerRun: CALLS,
      warmup: WARMUP,
      writer: 'real writer → loopback null HTTP sink (204)',
      method: 'each SDK method interleaved round by round with prom-client counter.inc (3 labels); medians of the rounds; ratio = SDK ns/op ÷ prom-client ns/op of the same rounds',
    },
    calls,
    render,
  };
  // A partial run (BENCH_ONLY) is for working on a method; it does not replace the recorded results.
  if (ONLY.length === 0) {
    mkdirSync('bench/results', { recursive: true });
    writeFileSync('bench/results/sdk.json', `${JSON.stringify(report, null, 2)}\n`);
  }

  console.log(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGiB} GiB, node ${machine.node}`);
  const fmtLoad = (l: ReturnType<typeof loadAverage>) => `${l['1m']} / ${l['5m']} / ${l['15m']}`;
  console.log(`load average (1m / 5m / 15m): ${fmtLoad(loadAtStart)} at start, ${fmtLoad(loadAtEnd)} at end`);
  console.log('');
  const fmt = (x: number | undefined, digits = 0) => (x === undefined ? '—' : x.toFixed(digits));
  console.log('| call | ns/op in call | ns/op with delivery | × prom-client | SDK alone ns/op (no-op writer) | × prom-client |');
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const r of calls) {
    console.log(`| ${r.name} | ${fmt(r.callNs)} | ${fmt(r.wallNs)} | ${fmt(r.ratio, 2)} | ${fmt(r.sdkOnlyNs)} | ${fmt(r.sdkOnlyRatio, 2)} |`);
  }
  console.log('');
  console.log('| series | SDK /metrics text (ms) | SDK /metrics OpenMetrics (ms) | prom-client Counter metrics() (ms) |');
  console.log('| ---: | ---: | ---: | ---: |');
  for (const r of render) console.log(`| ${r.series} | ${r.sdkPrometheusMs.toFixed(2)} | ${r.sdkOpenMetricsMs.toFixed(2)} | ${r.promClientMs.toFixed(2)} |`);
  if (ONLY.length === 0) console.log('\nwrote bench/results/sdk.json');
}

await main();
