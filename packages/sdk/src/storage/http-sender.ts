import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';
import type { SendOutcome, Transport } from './transport.js';

/**
 * Sends one ILP batch to QuestDB's `/write?precision=n` endpoint and classifies the answer. QuestDB 9.3 treats an
 * ILP/HTTP request as one transaction: 204 means every line was accepted; on the first bad line it rejects the whole
 * request with 400 and JSON like
 *   {"code":"invalid","message":"failed to parse line protocol:errors encountered on line(s):\nerror in line 2: ...",
 *    "line":2,"errorId":"d6258f57ff9e-1"}
 * where `line` is 1-based and counts logical lines (escaped newlines inside values do not count).
 */

export type { SendOutcome } from './transport.js';

export interface IlpHttpSenderOptions {
  /** QuestDB HTTP base URL; user:password in it become basic auth. */
  readonly url: string;
  /** Bearer token (QuestDB Enterprise); takes precedence over basic auth. */
  readonly token?: string;
  readonly timeoutMs: number;
}

const CONNECTION_RETRY_CODES = new Set(['ECONNRESET', 'EPIPE']);

/** The Transport to QuestDB's ILP/HTTP endpoint. */
export class IlpHttpSender implements Transport {
  private readonly transport: typeof http | typeof https;
  private readonly agent: http.Agent;
  private readonly requestOptions: http.RequestOptions;
  private readonly timeoutMs: number;
  readonly endpoint: string;

  constructor(options: IlpHttpSenderOptions) {
    const url = new URL(options.url);
    this.transport = url.protocol === 'https:' ? https : http;
    // One socket: one batch in flight keeps order, and keep-alive saves a handshake per batch.
    this.agent = new this.transport.Agent({ keepAlive: true, maxSockets: 1, keepAliveMsecs: 10_000 });
    const headers: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8' };
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    else if (url.username) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`;
    }
    const basePath = url.pathname.replace(/\/$/, '');
    this.requestOptions = {
      method: 'POST',
      hostname: url.hostname.replace(/^\[|\]$/g, ''),
      port: url.port || (url.protocol === 'https:' ? 443 : 80),
      path: `${basePath}/write?precision=n`,
      headers,
      agent: this.agent,
    };
    this.timeoutMs = options.timeoutMs;
    this.endpoint = `${url.protocol}//${url.host}${basePath}/write`;
  }

  /**
   * Sends one request whose body is `payload`, or the parts of it in order (consecutive batches sent together,
   * without copying them into one buffer). Never rejects: every failure is an outcome.
   */
  async send(payload: Buffer | readonly Buffer[]): Promise<SendOutcome> {
    const first = await this.attempt(payload);
    // A kept-alive socket the server closed meanwhile (e.g. after a restart) fails on reuse before QuestDB saw
    // anything; one immediate retry on a fresh socket avoids reporting an outage that is not one.
    if (first.kind === 'unavailable' && first.reusedSocket && first.code !== undefined && CONNECTION_RETRY_CODES.has(first.code)) {
      return this.attempt(payload);
    }
    return first;
  }

  close(): void {
    this.agent.destroy();
  }

  private attempt(payload: Buffer | readonly Buffer[]): Promise<SendOutcome & { reusedSocket?: boolean; code?: string }> {
    const parts = Buffer.isBuffer(payload) ? [payload] : payload;
    let length = 0;
    for (const part of parts) length += part.length;
    return new Promise((resolve) => {
      let settled = false;
      let stopDeadline = () => {};
      const finish = (outcome: SendOutcome & { reusedSocket?: boolean; code?: string }) => {
        if (settled) return;
        settled = true;
        stopDeadline();
        resolve(outcome);
      };
      let request: http.ClientRequest;
      try {
        request = this.transport.request({ ...this.requestOptions, headers: { ...this.requestOptions.headers, 'content-length': length } });
      } catch (err) {
        finish({ kind: 'unavailable', message: (err as Error).message });
        return;
      }
      stopDeadline = watchForAnswer(request, this.timeoutMs, () => {
        request.destroy(new Error(`no answer within ${this.timeoutMs} ms`));
      });
      request.on('error', (err: NodeJS.ErrnoException) => {
        finish({ kind: 'unavailable', message: `${this.endpoint}: ${err.message}`, reusedSocket: request.reusedSocket, code: err.code });
      });
      request.on('response', (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', (err) => finish({ kind: 'unavailable', message: `${this.endpoint}: ${err.message}` }));
        response.on('end', () => finish(classify(response.statusCode ?? 0, Buffer.concat(chunks).toString('utf8'))));
      });
      for (let i = 0; i < parts.length - 1; i++) request.write(parts[i]);
      request.end(parts.at(-1));
    });
  }
}

/** A request's deadline is checked this many times, so a late check can take at most this share of it for itself. */
const DEADLINE_STEPS = 10;

/**
 * Calls `expire` once `request` has gone `timeoutMs` without progress, counting only time in which the event loop
 * was free to read an answer. Returns a function that cancels the watch.
 *
 * Why not `request.setTimeout`: while a producer on the same thread holds the event loop, an answer that QuestDB sent
 * within milliseconds waits unread in the socket, and when the loop turns, Node runs expired timers before it polls
 * the sockets. A plain timer therefore fires first and blames QuestDB for our own busy thread. The overload bench
 * showed exactly that: a producer holding the loop for 12 s turned 204s into "no answer within 10000 ms", the writer
 * declared QuestDB unreachable, and delivery stopped for the rest of the run.
 *
 * So the deadline is checked in DEADLINE_STEPS steps, and a step credits at most its own length: the time by which
 * its timer fired late is time the loop was blocked, not time QuestDB had to answer. A late check that would
 * conclude looks once more right after the next poll (setImmediate), which reads whatever has arrived meanwhile;
 * that verdict is final. Any byte received, or any progress writing the body, restarts the count, as Node's socket
 * timeout does. A QuestDB that really is gone is still detected: after timeoutMs of a free loop, or after
 * DEADLINE_STEPS turns of a loop that is blocked at every turn.
 */
export function watchForAnswer(request: http.ClientRequest, timeoutMs: number, expire: () => void): () => void {
  const step = Math.max(1, Math.floor(timeoutMs / DEADLINE_STEPS));
  // Timers fire a few ms late on a loop that is merely busy; lateness beyond this means it was blocked.
  const lateAfter = step + Math.max(20, step / 2);
  let credited = 0;
  let lastCheck = performance.now();
  let lastRead = -1;
  let lastQueued = -1;
  let timer: NodeJS.Timeout | undefined;
  let immediate: NodeJS.Immediate | undefined;
  const check = (afterPoll: boolean) => {
    timer = undefined;
    immediate = undefined;
    const now = performance.now();
    const elapsed = now - lastCheck;
    lastCheck = now;
    const socket = request.socket;
    const read = socket ? socket.bytesRead : -1;
    const queued = socket ? socket.writableLength : -1;
    if (read !== lastRead || queued !== lastQueued) {
      lastRead = read;
      lastQueued = queued;
      credited = 0;
    } else {
      credited += Math.min(elapsed, step);
    }
    if (credited < timeoutMs) {
      timer = setTimeout(check, Math.max(1, Math.min(step, timeoutMs - credited)), false);
      timer.unref();
    } else if (afterPoll || elapsed <= lateAfter) {
      expire();
    } else {
      immediate = setImmediate(check, true);
      immediate.unref();
    }
  };
  timer = setTimeout(check, step, false);
  timer.unref();
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    if (immediate !== undefined) clearImmediate(immediate);
    timer = undefined;
    immediate = undefined;
  };
}

export function classify(status: number, body: string): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'ok' };
  const parsed = parseError(body);
  const message = parsed.message ?? (body.trim().slice(0, 500) || `HTTP ${status}`);
  if (status === 401 || status === 403 || status === 404 || status === 405) return { kind: 'config', status, message };
  if (status === 408 || status === 429 || status >= 500 || status < 200) return { kind: 'unavailable', status, message };
  return { kind: 'rejected', status, message, line: parsed.line, errorId: parsed.errorId };
}

function parseError(body: string): { message?: string; line?: number; errorId?: string } {
  try {
    const json = JSON.parse(body) as { message?: unknown; line?: unknown; errorId?: unknown };
    return {
      message: typeof json.message === 'string' ? json.message : undefined,
      line: typeof json.line === 'number' && Number.isInteger(json.line) ? json.line : undefined,
      errorId: typeof json.errorId === 'string' ? json.errorId : undefined,
    };
  } catch {
    return {};
  }
}
