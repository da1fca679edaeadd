import { Agent, createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { ErrorCodes, TradewatchError, describeValue, isTradewatchError } from '@tradewatch/sdk/common';
import { seededRandom } from '@tradewatch/sdk/common';
import { ExchangeServer, type ActiveFault, type ExchangeStats, type FaultLookup } from './exchange-server.js';
import { binanceUsdmProtocol } from './exchanges/binanceusdm.js';
import { bybitProtocol } from './exchanges/bybit.js';
import {
  EXCHANGE_IDS,
  parseFaultSpec,
  type ExchangeId,
  type FaultRecord,
  type FaultSource,
  type FaultSpec,
  type FaultSpecInput,
} from './faults.js';
import { DEFAULT_BASES, MarketModel, hashSeed } from './market-data.js';
import { REAL_TIMING, type ExchangeProtocol, type ExchangeTiming } from './protocol.js';
import { loadScenarioFile, type Scenario } from './scenario.js';

export interface StartSimulatorOptions {
  /** Loopback by default; the simulator is a test fixture, not a service. */
  host?: string;
  /** Control API port (0: any free port). When non-zero, exchanges default to port+1, port+2… in `exchanges` order. */
  port?: number;
  /** Per-exchange port overrides. */
  ports?: Partial<Record<ExchangeId, number>>;
  seed?: number;
  exchanges?: readonly ExchangeId[];
  /** Bases (BTC) or market ids (BTCUSDT); one list for every exchange, or per exchange. Default BTC ETH SOL XRP DOGE. */
  symbols?: readonly string[] | Partial<Record<ExchangeId, readonly string[]>>;
  /** Background liquidation rate (a seeded Poisson stream), events per second per exchange. Default 1. */
  liquidationsPerSecond?: number | Partial<Record<ExchangeId, number>>;
  /** A scenario file path, or a parsed scenario (parseScenario). */
  scenario?: string | Scenario;
  /** Clock for market data values (tests pin it to compare runs); timers always use real time. */
  now?: () => number;
  /**
   * The exchanges' own rules (liquidation sampling and batching, keepalive, connection age, request limits, page
   * size), at their documented values by default; tests shorten them.
   */
  timing?: Partial<ExchangeTiming>;
  /** One line per fault start/end and scenario step, for the CLI. */
  onEvent?: (line: string) => void;
}

export interface SimulatedExchange {
  id: ExchangeId;
  port: number;
  /** The REST origin (http://127.0.0.1:port): the exchange's paths live under it (/fapi/v1/…, /v5/market/…). */
  restUrl: string;
  /** The public websocket a non-ccxt client connects to. */
  wsUrl: string;
  /** Pass to the ccxt constructor: `new ccxt.pro.binanceusdm({ ...ccxtOptions })`. */
  ccxtOptions: Record<string, unknown>;
  /** ccxt unified symbols, e.g. BTC/USDT:USDT. */
  symbols: string[];
}

export interface ExchangeState {
  restUrl: string;
  wsUrl: string;
  port: number;
  listening: boolean;
  wsConnections: number;
  /** Topics subscribed over all open websocket connections. */
  wsSubscriptions: number;
  /** Liquidations generated but waiting for the end of their delivery window. */
  liquidationsPending: number;
  symbols: string[];
  liquidationsPerSecond: number;
  activeFaults: number[];
  stats: ExchangeStats;
}

export interface SimulatorState {
  seed: number;
  startedAt: number;
  startedIso: string;
  controlUrl: string;
  scenario: { name: string; loopEveryMs: number | null; steps: number; stepsFired: number } | null;
  exchanges: Partial<Record<ExchangeId, ExchangeState>>;
  /** Every fault so far, oldest first, with its start and end. */
  faults: FaultRecord[];
}

export interface ControlApi {
  /** Injects a fault; resolves once it is in effect (for an outage: listeners closed). */
  inject(exchange: ExchangeId, fault: FaultSpecInput, source?: FaultSource): Promise<FaultRecord>;
  /** Ends every active fault of one exchange (or all); an outage reopens its listeners. Resolves with how many. */
  clear(exchange?: ExchangeId): Promise<number>;
  state(): SimulatorState;
  faults(): FaultRecord[];
}

export interface Simulator {
  /** Control API base URL (http://127.0.0.1:port), see docs/simulator.md. */
  url: string;
  exchanges: Partial<Record<ExchangeId, SimulatedExchange>>;
  control: ControlApi;
  close(): Promise<void>;
}

const PROTOCOLS: Record<ExchangeId, (model: MarketModel, timing: ExchangeTiming) => ExchangeProtocol> = {
  binanceusdm: binanceUsdmProtocol,
  bybit: bybitProtocol,
};

const MAX_RECORDS = 10_000;

function perExchange<T>(value: T | Partial<Record<ExchangeId, T>> | undefined, id: ExchangeId, fallback: T, isScalar: (v: unknown) => v is T): T {
  if (value === undefined) return fallback;
  if (isScalar(value)) return value;
  return (value as Partial<Record<ExchangeId, T>>)[id] ?? fallback;
}

export async function startSimulator(options: StartSimulatorOptions = {}): Promise<Simulator> {
  const host = options.host ?? '127.0.0.1';
  const seed = options.seed ?? 1;
  const now = options.now ?? Date.now;
  const log = options.onEvent ?? (() => undefined);
  const timing: ExchangeTiming = { ...REAL_TIMING, ...options.timing };
  for (const [key, value] of Object.entries(timing)) {
    if (!(typeof value === 'number' && Number.isFinite(value) && value >= 0)) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `timing.${key}: expected a number of ms (or a count) >= 0, got ${describeValue(value)}`);
    }
  }
  const ids = [...new Set(options.exchanges ?? EXCHANGE_IDS)];
  for (const id of ids) {
    if (!EXCHANGE_IDS.includes(id)) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `exchanges: unknown exchange ${describeValue(id)} (simulated: ${EXCHANGE_IDS.join(', ')})`);
    }
  }
  if (!Number.isInteger(seed)) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `seed: expected an integer, got ${describeValue(seed)}`);
  const scenario =
    typeof options.scenario === 'string'
      ? await loadScenarioFile(options.scenario, ids)
      : options.scenario
        ? parseScenarioAgain(options.scenario, ids)
        : undefined;

  const basePort = options.port ?? 0;
  const jitter = seededRandom(hashSeed(seed, 'jitter'));
  const active = new Map<ExchangeId, ActiveFault[]>(ids.map((id) => [id, []]));
  const records: FaultRecord[] = [];
  const expiry = new Map<number, NodeJS.Timeout>();
  const timers = new Set<NodeJS.Timeout>();
  let recordSeq = 0;
  let closed = false;

  const schedule = (ms: number, run: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!closed) run();
    }, Math.max(0, ms));
    timers.add(timer);
    return timer;
  };

  const lookup: FaultLookup = {
    active: <K extends FaultSpec['kind']>(exchange: ExchangeId, kind: K) =>
      (active.get(exchange) ?? []).filter((f) => f.spec.kind === kind) as unknown as ActiveFault<K>[],
    exhausted: (record) => void endFault(record, 'exhausted'),
    random: jitter,
  };

  const servers = new Map<ExchangeId, ExchangeServer>();
  const rates = new Map<ExchangeId, number>();
  for (const [i, id] of ids.entries()) {
    const bases = perExchange(options.symbols, id, DEFAULT_BASES as readonly string[], (v): v is readonly string[] => Array.isArray(v));
    const model = new MarketModel(seed, id, bases.length > 0 ? bases : DEFAULT_BASES);
    const port = options.ports?.[id] ?? (basePort === 0 ? 0 : basePort + 1 + i);
    servers.set(id, new ExchangeServer(PROTOCOLS[id](model, timing), lookup, host, port, now));
    const rate = perExchange(options.liquidationsPerSecond, id, 1, (v): v is number => typeof v === 'number');
    if (!(rate >= 0 && rate <= 10_000)) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `liquidationsPerSecond: expected 0-10000, got ${describeValue(rate)}`);
    }
    rates.set(id, rate);
  }
  const server = (id: ExchangeId): ExchangeServer => {
    const s = servers.get(id);
    if (!s) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `exchange: not simulated in this run (running: ${ids.join(', ')}), got ${describeValue(id)}`);
    return s;
  };

  const startedAt = Date.now();
  const control = createServer((req, res) => void onControl(req, res));
  try {
    for (const s of servers.values()) await s.listen();
    await new Promise<void>((resolve, reject) => {
      control.once('error', reject);
      control.listen(basePort, host, () => resolve());
    });
  } catch (err) {
    for (const s of servers.values()) await s.close();
    control.close();
    throw err;
  }
  const controlAddress = control.address();
  const controlUrl = `http://${host}:${typeof controlAddress === 'object' && controlAddress ? controlAddress.port : basePort}`;

  // background liquidations: a seeded Poisson stream per exchange
  for (const id of ids) {
    const rate = rates.get(id) ?? 0;
    if (rate <= 0) continue;
    const rng = seededRandom(hashSeed(seed, id, 'liquidations'));
    const s = server(id);
    const next = () => {
      const waitMs = (-Math.log(1 - rng()) / rate) * 1000;
      schedule(waitMs, () => {
        s.publishLiquidation(s.protocol.model.liquidation(rng, now()));
        next();
      }).unref();
    };
    next();
  }

  function describeFault(record: FaultRecord): string {
    const { kind: _kind, ...params } = record.spec;
    const shown = Object.entries(params)
      .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
      .join(' ');
    return `#${record.id} ${record.exchange} ${record.kind}${shown ? ` ${shown}` : ''}`;
  }

  async function endFault(record: FaultRecord, endedBy: NonNullable<FaultRecord['endedBy']>): Promise<void> {
    if (record.endedAt !== null) return;
    const list = active.get(record.exchange) ?? [];
    const index = list.findIndex((f) => f.record === record);
    if (index >= 0) list.splice(index, 1);
    const timer = expiry.get(record.id);
    if (timer) clearTimeout(timer);
    expiry.delete(record.id);
    record.endedAt = Date.now();
    record.endedIso = new Date(record.endedAt).toISOString();
    record.endedBy = endedBy;
    if (record.kind === 'outage' && !closed) {
      const still = list.some((f) => f.spec.kind === 'outage');
      if (!still) await reopen(server(record.exchange));
    }
    log(`fault ended (${endedBy}): ${describeFault(record)}`);
  }

  async function reopen(s: ExchangeServer): Promise<void> {
    try {
      await s.listen();
    } catch (err) {
      log(`${s.id}: cannot listen again on port ${s.port} (${(err as Error).message}); retrying in 1 s`);
      schedule(1000, () => void reopen(s));
    }
  }

  async function inject(exchange: ExchangeId, input: FaultSpecInput, source: FaultSource = 'control'): Promise<FaultRecord> {
    if (closed) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, 'the simulator is closed');
    const s = server(exchange);
    const spec = parseFaultSpec(input);
    const started = Date.now();
    const record: FaultRecord = {
      id: ++recordSeq,
      exchange,
      kind: spec.kind,
      spec,
      source,
      startedAt: started,
      startedIso: new Date(started).toISOString(),
      endedAt: null,
      endedIso: null,
      endedBy: null,
      counters: {},
    };
    records.push(record);
    if (records.length > MAX_RECORDS) records.splice(0, records.length - MAX_RECORDS);
    const entry: ActiveFault = { record, spec };
    const list = active.get(exchange) as ActiveFault[];
    let durationMs: number | undefined = 'durationMs' in spec ? spec.durationMs : undefined;
    log(`fault started: ${describeFault(record)}`);

    switch (spec.kind) {
      case 'ws_disconnect':
        record.counters.connectionsClosed = s.disconnectWebsockets(spec.code);
        if (durationMs === undefined) {
          await endFault(record, 'instant');
          return record;
        }
        break;
      case 'outage':
        list.push(entry);
        record.counters.connectionsClosed = await s.closeListener();
        break;
      case 'rate_limit':
        if (durationMs === undefined && spec.retryAfterSec > 0) durationMs = spec.retryAfterSec * 1000;
        break;
      case 'server_errors':
        entry.remaining = spec.requests ?? (durationMs === undefined ? 5 : undefined);
        break;
      case 'liquidation_burst':
        runBurst(s, record, spec);
        return record;
      default:
        break;
    }
    if (!list.includes(entry)) list.push(entry);
    if (durationMs !== undefined) {
      const timer = schedule(durationMs, () => void endFault(record, 'expired'));
      expiry.set(record.id, timer);
    }
    return record;
  }

  function runBurst(s: ExchangeServer, record: FaultRecord, spec: Extract<FaultSpec, { kind: 'liquidation_burst' }>): void {
    const rng = seededRandom(hashSeed(seed, s.id, 'burst', record.id));
    const model = s.protocol.model;
    const only = spec.symbols?.map((sym) => {
      const found = model.find(sym);
      if (!found) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `symbols: not simulated on ${s.id}, got ${describeValue(sym)}`);
      return found;
    });
    const entry: ActiveFault = { record, spec };
    (active.get(s.id) as ActiveFault[]).push(entry);
    record.counters.eventsEmitted = 0;
    const start = Date.now();
    const tickMs = Math.max(5, Math.floor(spec.overMs / spec.count));
    const tick = () => {
      const elapsed = Date.now() - start;
      const due = spec.overMs === 0 ? spec.count : Math.min(spec.count, Math.floor((elapsed / spec.overMs) * spec.count) + 1);
      while ((record.counters.eventsEmitted as number) < due) {
        s.publishLiquidation(model.liquidation(rng, now(), only, spec.side));
        record.counters.eventsEmitted = (record.counters.eventsEmitted as number) + 1;
      }
      if ((record.counters.eventsEmitted as number) >= spec.count) void endFault(record, 'exhausted');
      else expiry.set(record.id, schedule(tickMs, tick));
    };
    tick();
  }

  async function clear(exchange?: ExchangeId): Promise<number> {
    const which = exchange ? [server(exchange).id] : ids;
    let n = 0;
    for (const id of which) {
      for (const fault of [...(active.get(id) ?? [])]) {
        await endFault(fault.record, 'cleared');
        n++;
      }
    }
    return n;
  }

  function state(): SimulatorState {
    const exchanges: Partial<Record<ExchangeId, ExchangeState>> = {};
    for (const [id, s] of servers) {
      exchanges[id] = {
        restUrl: s.restUrl,
        wsUrl: s.protocol.wsUrl(s.wsBase),
        port: s.port,
        listening: s.listening,
        wsConnections: s.wsConnections,
        wsSubscriptions: s.wsSubscriptions,
        liquidationsPending: s.liquidationsPending,
        symbols: s.protocol.model.symbols.map((sym) => sym.symbol),
        liquidationsPerSecond: rates.get(id) ?? 0,
        activeFaults: (active.get(id) ?? []).map((f) => f.record.id),
        stats: structuredClone(s.stats),
      };
    }
    return {
      seed,
      startedAt,
      startedIso: new Date(startedAt).toISOString(),
      controlUrl,
      scenario: scenario
        ? { name: scenario.name, loopEveryMs: scenario.loopEveryMs ?? null, steps: scenario.steps.length, stepsFired }
        : null,
      exchanges,
      faults: structuredClone(records),
    };
  }

  const api: ControlApi = { inject, clear, state, faults: () => structuredClone(records) };

  // scenario timeline, relative to the start
  let stepsFired = 0;
  if (scenario) {
    log(`scenario ${scenario.name}: ${scenario.steps.length} steps${scenario.loopEveryMs ? `, looping every ${scenario.loopEveryMs} ms` : ''}`);
    const runCycle = (cycle: number) => {
      const offset = cycle * (scenario.loopEveryMs ?? 0);
      for (const step of scenario.steps) {
        schedule(startedAt + offset + step.atMs - Date.now(), () => {
          stepsFired++;
          for (const id of step.exchange === 'all' ? ids : [step.exchange]) {
            inject(id, step.fault, 'scenario').catch((err: unknown) => log(`scenario step failed on ${id}: ${(err as Error).message}`));
          }
        });
      }
      if (scenario.loopEveryMs) schedule(startedAt + offset + scenario.loopEveryMs - Date.now(), () => runCycle(cycle + 1));
    };
    runCycle(0);
  }

  async function onControl(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, body: unknown) => {
      const text = JSON.stringify(body, null, 2);
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
      res.end(text);
    };
    try {
      const url = new URL(req.url ?? '/', controlUrl);
      const parts = url.pathname.split('/').filter(Boolean);
      if (parts[0] !== 'control') return send(404, { error: `unknown path ${url.pathname} (see GET /control/state)` });
      if (req.method === 'GET' && (parts.length === 1 || (parts.length === 2 && parts[1] === 'state'))) return send(200, state());
      if (req.method === 'GET' && parts.length === 2 && parts[1] === 'faults') return send(200, api.faults());
      const target = parts[1] as string;
      const targets: ExchangeId[] = target === 'all' ? ids : ids.includes(target as ExchangeId) ? [target as ExchangeId] : [];
      if (parts.length === 3 && targets.length === 0) {
        return send(404, { error: `exchange: not simulated in this run (running: ${ids.join(', ')}), got ${describeValue(target)}` });
      }
      if (req.method === 'POST' && parts.length === 3 && parts[2] === 'fault') {
        const body = await readJson(req);
        const made: FaultRecord[] = [];
        for (const id of targets) made.push(await inject(id, body as FaultSpecInput, 'http'));
        return send(201, target === 'all' ? made : made[0]);
      }
      if (req.method === 'DELETE' && parts.length === 3 && parts[2] === 'faults') {
        let cleared = 0;
        for (const id of targets) cleared += await clear(id);
        return send(200, { cleared });
      }
      return send(404, { error: `unknown route ${req.method} ${url.pathname}` });
    } catch (err) {
      if (isTradewatchError(err)) return send(400, { error: err.message, code: err.code });
      return send(500, { error: (err as Error).message });
    }
  }

  async function close(): Promise<void> {
    if (closed) return;
    closed = true;
    for (const timer of timers) clearTimeout(timer);
    timers.clear();
    for (const list of active.values()) {
      for (const fault of [...list]) await endFault(fault.record, 'closed');
    }
    for (const s of servers.values()) await s.close();
    agent.destroy();
    control.closeAllConnections();
    await new Promise<void>((resolve) => control.close(() => resolve()));
  }

  const exchanges: Partial<Record<ExchangeId, SimulatedExchange>> = {};
  const agent = new Agent();
  for (const [id, s] of servers) {
    exchanges[id] = {
      id,
      port: s.port,
      restUrl: s.restUrl,
      wsUrl: s.protocol.wsUrl(s.wsBase),
      // ccxt in Node refuses ws:// URLs unless it has an http agent (it asks for loadHttpProxyAgent otherwise)
      ccxtOptions: { ...s.protocol.ccxtOptions(s.restUrl, s.wsBase), httpAgent: agent },
      symbols: s.protocol.model.symbols.map((sym) => sym.symbol),
    };
  }
  return { url: controlUrl, exchanges, control: api, close };
}

/** A scenario given as an object is validated too (against the exchanges of this run). */
function parseScenarioAgain(scenario: Scenario, ids: readonly ExchangeId[]): Scenario {
  for (const step of scenario.steps) {
    if (step.exchange !== 'all' && !ids.includes(step.exchange)) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `scenario ${scenario.name}: exchange ${describeValue(step.exchange)} is not simulated in this run`);
    }
    parseFaultSpec(step.fault);
  }
  return scenario;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > 65_536) throw new TradewatchError(ErrorCodes.INVALID_CONFIG, 'request body too large (max 64 KiB)');
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
  } catch {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `request body is not JSON: ${describeValue(text)}`);
  }
}


