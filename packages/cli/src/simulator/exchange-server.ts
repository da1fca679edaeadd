import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, type RawData, type WebSocket } from 'ws';
import type { ExchangeId, FaultRecord, FaultSpec } from './faults.js';
import type { LiquidationEvent } from './market-data.js';
import type { BlockKind, ExchangeProtocol, HttpAnswer, WsMessageKind, WsSession } from './protocol.js';

type SpecOf<K extends FaultSpec['kind']> = Extract<FaultSpec, { kind: K }>;

/** An active fault as the server sees it: its record (counters are updated in place) and its spec. */
export interface ActiveFault<K extends FaultSpec['kind'] = FaultSpec['kind']> {
  record: FaultRecord;
  spec: SpecOf<K>;
  /** server_errors: requests still to fail (undefined: time-bound only). */
  remaining?: number;
}

/** How the server asks about faults; implemented by the simulator's fault manager. */
export interface FaultLookup {
  active<K extends FaultSpec['kind']>(exchange: ExchangeId, kind: K): ActiveFault<K>[];
  /** server_errors with a request budget reports its last failed request here. */
  exhausted(record: FaultRecord): void;
  /** Jitter source (seeded). */
  random(): number;
}

export interface ExchangeStats {
  restRequests: number;
  restByStatus: Record<string, number>;
  wsConnectionsOpened: number;
  wsConnectionsRefused: number;
  wsMessagesSent: number;
  liquidationsGenerated: number;
  liquidationsBySymbol: Record<string, number>;
  /**
   * Liquidation events pushed to at least one subscribed connection. Binance pushes only the latest event per symbol
   * per second, so there this is below liquidationsGenerated in a burst; Bybit batches, and delivers every event.
   */
  liquidationsDelivered: number;
  liquidationsDeliveredBySymbol: Record<string, number>;
  /** Connections the server closed by its own rules: no pong in time, maximum age, idle (no client ping). */
  wsClosedByRule: { pongTimeout: number; maxAge: number; idle: number };
  /** Requests refused by the exchange's own limiter (weights, IP limit, the ban that follows). */
  restRefusedByLimiter: number;
}

interface Session extends WsSession {
  ws: WebSocket;
  /** Delivery time of the last scheduled message: latency keeps messages in order. */
  lastDeliveryAt: number;
  openedAt: number;
  lastPongAt: number;
  lastClientMessageAt: number;
  lastDataAt: number;
}

/** Liquidations of one symbol waiting for the end of their delivery window. */
interface PendingLiquidations {
  events: LiquidationEvent[];
  timer: NodeJS.Timeout;
}

const BLOCK_KINDS: readonly BlockKind[] = ['region_block', 'ip_ban', 'waf_block', 'maintenance'];

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * One exchange on its own port: HTTP for REST, upgrades for websockets. Faults are applied here, in the order a
 * client would meet them: listener closed (outage) → latency → rate limit → 5xx → missing data → the endpoint.
 */
export class ExchangeServer {
  readonly stats: ExchangeStats = {
    restRequests: 0,
    restByStatus: {},
    wsConnectionsOpened: 0,
    wsConnectionsRefused: 0,
    wsMessagesSent: 0,
    liquidationsGenerated: 0,
    liquidationsBySymbol: {},
    liquidationsDelivered: 0,
    liquidationsDeliveredBySymbol: {},
    wsClosedByRule: { pongTimeout: 0, maxAge: 0, idle: 0 },
    restRefusedByLimiter: 0,
  };
  private readonly pendingLiquidations = new Map<string, PendingLiquidations>();
  private rulesTimer: NodeJS.Timeout | undefined;
  private server: Server | undefined;
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly sockets = new Set<Socket>();
  private readonly sessions = new Set<Session>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private pingTimer: NodeJS.Timeout | undefined;
  private sessionSeq = 0;
  private boundPort: number;

  constructor(
    readonly protocol: ExchangeProtocol,
    private readonly faults: FaultLookup,
    readonly host: string,
    port: number,
    private readonly now: () => number,
  ) {
    this.boundPort = port;
  }

  get id(): ExchangeId {
    return this.protocol.id;
  }
  get port(): number {
    return this.boundPort;
  }
  get listening(): boolean {
    return this.server?.listening === true;
  }
  get restUrl(): string {
    return `http://${this.host}:${this.boundPort}`;
  }
  get wsBase(): string {
    return `ws://${this.host}:${this.boundPort}`;
  }
  get wsConnections(): number {
    return this.sessions.size;
  }
  /** Topics subscribed over all open connections: a client's watch is live once this counts it. */
  get wsSubscriptions(): number {
    let n = 0;
    for (const session of this.sessions) n += session.subscriptions.size;
    return n;
  }

  /** Listens on the configured port (0: any), later on the same port again (after an outage). */
  async listen(): Promise<void> {
    if (this.server) return;
    const server = createServer((req, res) => void this.onRequest(req, res));
    server.keepAliveTimeout = 5000;
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => this.onUpgrade(req, socket, head));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.boundPort, this.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    const address = server.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
    this.server = server;
    const rules = this.protocol.wsRules;
    if (rules.serverPingIntervalMs > 0 && !this.pingTimer) {
      this.pingTimer = setInterval(() => this.serverPing(), rules.serverPingIntervalMs);
      this.pingTimer.unref();
    }
    const limits = [rules.pongTimeoutMs, rules.maxConnectionAgeMs, rules.idleTimeoutMs].filter((ms) => ms > 0);
    if (limits.length > 0 && !this.rulesTimer) {
      this.rulesTimer = setInterval(() => this.enforceRules(), Math.max(20, Math.min(1000, Math.min(...limits) / 10)));
      this.rulesTimer.unref();
    }
  }

  /** Closes the listener and every connection: clients get connection refused until listen() again. */
  async closeListener(): Promise<number> {
    const server = this.server;
    this.server = undefined;
    let closed = 0;
    for (const session of this.sessions) {
      session.ws.terminate();
      closed++;
    }
    this.sessions.clear();
    for (const socket of this.sockets) {
      socket.destroy();
      closed++;
    }
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    return closed;
  }

  /** Closes every websocket (with a close frame when code is given, else dropped). Returns how many. */
  disconnectWebsockets(code?: number): number {
    let closed = 0;
    for (const session of [...this.sessions]) {
      if (code === undefined) session.ws.terminate();
      else session.ws.close(code, 'simulated disconnect');
      this.sessions.delete(session);
      closed++;
    }
    return closed;
  }

  async close(): Promise<void> {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
    if (this.rulesTimer) clearInterval(this.rulesTimer);
    this.rulesTimer = undefined;
    for (const pending of this.pendingLiquidations.values()) clearTimeout(pending.timer);
    this.pendingLiquidations.clear();
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    await this.closeListener();
    this.wss.close();
  }

  /**
   * Records a generated liquidation; it reaches subscribed connections at the end of its symbol's delivery window:
   * alone if it is the window's latest (Binance), or with the others of the window (Bybit's batches).
   */
  publishLiquidation(event: LiquidationEvent): void {
    this.stats.liquidationsGenerated++;
    this.stats.liquidationsBySymbol[event.symbolId] = (this.stats.liquidationsBySymbol[event.symbolId] ?? 0) + 1;
    const delivery = this.protocol.liquidationDelivery;
    if (delivery.windowMs <= 0) {
      this.pushLiquidations(event.symbolId, [event]);
      return;
    }
    const pending = this.pendingLiquidations.get(event.symbolId);
    if (pending) {
      if (delivery.mode === 'latest') pending.events = [event];
      else pending.events.push(event);
      return;
    }
    const timer = setTimeout(() => {
      const due = this.pendingLiquidations.get(event.symbolId);
      this.pendingLiquidations.delete(event.symbolId);
      if (due) this.pushLiquidations(event.symbolId, due.events);
    }, delivery.windowMs);
    this.pendingLiquidations.set(event.symbolId, { events: [event], timer });
  }

  /** Liquidations waiting for their window's end (Binance keeps only the latest per symbol). */
  get liquidationsPending(): number {
    let n = 0;
    for (const pending of this.pendingLiquidations.values()) n += pending.events.length;
    return n;
  }

  private pushLiquidations(symbolId: string, events: LiquidationEvent[]): void {
    let delivered = false;
    for (const session of this.sessions) {
      for (const message of this.protocol.liquidationMessages(events, session)) {
        if (this.deliver(session, message, 'data')) delivered = true;
      }
    }
    if (!delivered) return;
    this.stats.liquidationsDelivered += events.length;
    this.stats.liquidationsDeliveredBySymbol[symbolId] = (this.stats.liquidationsDeliveredBySymbol[symbolId] ?? 0) + events.length;
  }

  private latencyMs(target: 'rest' | 'ws'): number {
    let total = 0;
    for (const fault of this.faults.active(this.id, 'latency')) {
      if (fault.spec.target !== 'both' && fault.spec.target !== target) continue;
      total += fault.spec.ms + Math.round(fault.spec.jitterMs * this.faults.random());
    }
    return total;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.stats.restRequests++;
    const url = new URL(req.url ?? '/', this.restUrl);
    const delay = this.latencyMs('rest');
    if (delay > 0) await sleep(delay);
    if (res.destroyed) return;
    this.answer(res, this.decide(req.method ?? 'GET', url));
  }

  private decide(method: string, url: URL): HttpAnswer {
    const now = this.now();
    for (const kind of BLOCK_KINDS) {
      const block = this.faults.active(this.id, kind)[0];
      if (!block) continue;
      block.record.counters.requestsRejected = (block.record.counters.requestsRejected ?? 0) + 1;
      const retryAfterSec = 'retryAfterSec' in block.spec ? block.spec.retryAfterSec : 0;
      return this.protocol.blockedAnswer(kind, retryAfterSec, now);
    }
    const limited = this.faults.active(this.id, 'rate_limit')[0];
    if (limited) {
      limited.record.counters.requestsRejected = (limited.record.counters.requestsRejected ?? 0) + 1;
      return this.protocol.rateLimited(limited.spec.retryAfterSec, limited.spec.status);
    }
    const route = this.protocol.route(method, url);
    const admission = this.protocol.admit(route, url, Date.now());
    if (admission.refuse) {
      this.stats.restRefusedByLimiter++;
      return withHeaders(admission.refuse, admission.headers);
    }
    return withHeaders(this.serve(route, url, now), admission.headers);
  }

  private serve(route: ReturnType<ExchangeProtocol['route']>, url: URL, now: number): HttpAnswer {
    const failing = this.faults.active(this.id, 'server_errors')[0];
    if (failing) {
      const n = failing.record.counters.requestsFailed ?? 0;
      failing.record.counters.requestsFailed = n + 1;
      const status = failing.spec.statuses[n % failing.spec.statuses.length] ?? 500;
      if (failing.remaining !== undefined) {
        failing.remaining--;
        if (failing.remaining <= 0) this.faults.exhausted(failing.record);
      }
      return { status, body: serverErrorBody(status) };
    }
    if (!route) return this.protocol.notFound(url);
    if (route.data) {
      for (const fault of this.faults.active(this.id, 'missing_window')) {
        if (!fault.spec.data.includes(route.data)) continue;
        const only = fault.spec.symbols?.map((s) => this.protocol.model.find(s)?.id);
        if (only && route.symbolIds && !route.symbolIds.some((id) => only.includes(id))) continue;
        fault.record.counters.requestsAffected = (fault.record.counters.requestsAffected ?? 0) + 1;
        return this.protocol.missing(route, fault.spec.mode, now);
      }
    }
    return route.respond(now);
  }

  private answer(res: ServerResponse, answer: HttpAnswer): void {
    const key = String(answer.status);
    this.stats.restByStatus[key] = (this.stats.restByStatus[key] ?? 0) + 1;
    const text = typeof answer.body === 'string';
    const body = text ? (answer.body as string) : JSON.stringify(answer.body);
    res.writeHead(answer.status, {
      'Content-Type': text ? 'text/html' : 'application/json',
      'Content-Length': Buffer.byteLength(body),
      ...answer.headers,
    });
    res.end(body);
  }

  private onUpgrade(req: IncomingMessage, socket: Socket, head: Buffer): void {
    const url = new URL(req.url ?? '/', this.restUrl);
    const refusing = this.faults.active(this.id, 'ws_disconnect').find((f) => f.spec.durationMs !== undefined);
    const reject = (status: string) => {
      this.stats.wsConnectionsRefused++;
      socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (refusing) {
      refusing.record.counters.connectionsRefused = (refusing.record.counters.connectionsRefused ?? 0) + 1;
      reject('503 Service Unavailable');
      return;
    }
    if (!this.protocol.acceptsWsPath(url)) {
      reject('404 Not Found');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onConnection(ws, url));
  }

  private onConnection(ws: WebSocket, url: URL): void {
    this.stats.wsConnectionsOpened++;
    const opened = Date.now();
    const session: Session = {
      id: `sim-${this.id}-${++this.sessionSeq}`,
      url,
      subscriptions: new Set(),
      ws,
      lastDeliveryAt: 0,
      openedAt: opened,
      lastPongAt: opened,
      lastClientMessageAt: opened,
      lastDataAt: opened,
      send: (message: unknown, kind: WsMessageKind) => void this.deliver(session, message, kind),
      close: (code?: number, reason?: string) => ws.close(code, reason),
    };
    this.sessions.add(session);
    ws.on('close', () => this.sessions.delete(session));
    ws.on('error', () => this.sessions.delete(session));
    ws.on('ping', (data: Buffer) => {
      if (this.stalled(false)) return;
      this.afterLatency(session, () => ws.pong(data));
    });
    ws.on('pong', () => {
      session.lastPongAt = Date.now();
    });
    ws.on('message', (data: RawData) => {
      session.lastClientMessageAt = Date.now();
      const text = Array.isArray(data) ? Buffer.concat(data).toString('utf8') : Buffer.from(data as ArrayBuffer).toString('utf8');
      this.protocol.onWsMessage(session, text);
    });
    this.protocol.onWsOpen(session);
  }

  /** The active stall, if any that silences this kind of traffic (pongs only when answerPings is false). */
  private stalled(isData: boolean): ActiveFault<'stall'> | undefined {
    return this.faults.active(this.id, 'stall').find((f) => isData || !f.spec.answerPings);
  }

  private deliver(session: Session, message: unknown, kind: WsMessageKind): boolean {
    const stall = this.stalled(kind !== 'pong');
    if (stall) {
      stall.record.counters.messagesDropped = (stall.record.counters.messagesDropped ?? 0) + 1;
      return false;
    }
    const text = JSON.stringify(message);
    this.afterLatency(session, () => {
      if (session.ws.readyState !== session.ws.OPEN) return;
      session.ws.send(text);
      this.stats.wsMessagesSent++;
      if (kind === 'data') session.lastDataAt = Date.now();
    });
    return true;
  }

  /** Runs now, or after the websocket latency while keeping this connection's messages in order. */
  private afterLatency(session: Session, run: () => void): void {
    const delay = this.latencyMs('ws');
    const now = Date.now();
    if (delay <= 0 && session.lastDeliveryAt <= now) {
      run();
      return;
    }
    const at = Math.max(now + delay, session.lastDeliveryAt);
    session.lastDeliveryAt = at;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      run();
    }, at - now);
    this.timers.add(timer);
  }

  /** Closes connections that broke the exchange's keepalive rules, or reached their maximum age. */
  private enforceRules(): void {
    const rules = this.protocol.wsRules;
    const now = Date.now();
    for (const session of [...this.sessions]) {
      let rule: keyof ExchangeStats['wsClosedByRule'] | undefined;
      if (rules.maxConnectionAgeMs > 0 && now - session.openedAt >= rules.maxConnectionAgeMs) rule = 'maxAge';
      else if (rules.pongTimeoutMs > 0 && now - session.lastPongAt > rules.pongTimeoutMs) rule = 'pongTimeout';
      else if (rules.idleTimeoutMs > 0 && now - Math.max(session.lastClientMessageAt, session.lastDataAt) > rules.idleTimeoutMs) rule = 'idle';
      if (!rule) continue;
      this.stats.wsClosedByRule[rule]++;
      this.sessions.delete(session);
      // The exchanges just drop such connections; a close frame lets the client tell it from a network failure.
      if (rule === 'maxAge') session.ws.close(1000, 'connection max age reached');
      else session.ws.terminate();
    }
  }

  private serverPing(): void {
    if (this.stalled(false)) return;
    for (const session of this.sessions) {
      if (session.ws.readyState === session.ws.OPEN) session.ws.ping();
    }
  }
}

function withHeaders(answer: HttpAnswer, headers: Record<string, string> | undefined): HttpAnswer {
  return headers ? { ...answer, headers: { ...headers, ...answer.headers } } : answer;
}

function serverErrorBody(status: number): string {
  const reason: Record<number, string> = { 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Temporarily Unavailable', 504: 'Gateway Time-out' };
  const text = `${status} ${reason[status] ?? 'Server Error'}`;
  return `<html>\r\n<head><title>${text}</title></head>\r\n<body>\r\n<center><h1>${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
}
