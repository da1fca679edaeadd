import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { negotiateFormat, renderMetrics } from './exposition.js';
import type { Readiness } from './types.js';

/** Options of startMetricsServer. */
export interface MetricsServerOptions {
  readonly registry: Registry;
  /** 0 picks a free port (see `port` on the result). */
  readonly port: number;
  /** Default 127.0.0.1: metrics stay on loopback unless asked otherwise. */
  readonly host?: string;
  /** What /readyz reports; e.g. `() => monitor.readiness()`. Default: always ready. */
  readonly ready?: () => Readiness | boolean | Promise<Readiness | boolean>;
}

/** A running /metrics, /healthz and /readyz endpoint; close() stops it. */
export interface MetricsServer {
  readonly url: string;
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/**
 * A small HTTP endpoint for Prometheus:
 * - `GET /metrics`: the registry, as Prometheus text (0.0.4), or OpenMetrics 1.0 when the Accept header prefers
 *   `application/openmetrics-text` (as Prometheus itself sends when it scrapes);
 * - `GET /healthz`: 200 while the process is alive and serving;
 * - `GET /readyz`: 200 when `ready()` says so, else 503 with the reason.
 */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((req, res) => {
    handle(req, res, options).catch((err: unknown) => {
      if (!res.headersSent) reply(res, 500, `error: ${(err as Error)?.message ?? String(err)}\n`);
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { url: `http://${urlHost}:${port}`, port, host, close: () => closeServer(server) };
}

async function handle(req: IncomingMessage, res: ServerResponse, options: MetricsServerOptions): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    reply(res, 405, 'method not allowed\n');
    return;
  }
  switch (path) {
    case '/metrics': {
      const { contentType, body } = await renderMetrics(options.registry, negotiateFormat(req.headers.accept));
      reply(res, 200, body, contentType, req.method === 'HEAD');
      return;
    }
    case '/healthz':
      reply(res, 200, 'ok\n');
      return;
    case '/readyz': {
      const answer = options.ready ? await options.ready() : true;
      const readiness: Readiness = typeof answer === 'boolean' ? { ready: answer } : answer;
      if (readiness.ready) reply(res, 200, 'ready\n');
      else reply(res, 503, `not ready: ${readiness.reason ?? 'unknown reason'}\n`);
      return;
    }
    default:
      reply(res, 404, 'not found; try /metrics, /healthz or /readyz\n');
  }
}

function reply(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8', head = false): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(head ? undefined : body);
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Scrapers keep connections alive; do not wait for them to go away.
    server.closeAllConnections();
  });
}
