import http from 'node:http';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { getTable } from '@tradewatch/sdk/schema';
import { encoderFor, type Writer } from '@tradewatch/sdk/storage';
import { parseWebhookPayload, PayloadError } from './payload.js';
import { alertRows } from './rows.js';

const alertEvents = getTable('tw_alert_events');

/** Grafana's notifications are a few KiB; anything near this is not one. */
export const MAX_BODY_BYTES = 1024 * 1024;

export interface AlertReceiverOptions {
  readonly writer: Writer;
  readonly host?: string;
  readonly port?: number;
  /** Expected `Authorization` header value: `Bearer <token>` or `Basic <base64>`; unset: no check. */
  readonly authorization?: string;
  readonly maxBodyBytes?: number;
  /** Microseconds since the epoch (injectable for tests). */
  readonly now?: () => number;
  readonly onNotification?: (report: { readonly alerts: number; readonly error?: string }) => void;
}

export interface AlertReceiverStats {
  notifications: number;
  alerts: number;
  refused: number;
}

export interface AlertReceiver {
  /** Listens; resolves with the base URL. */
  listen(): Promise<string>;
  close(): Promise<void>;
  stats(): AlertReceiverStats;
}

/** Authorization header value from the environment's token or user:password (basic), or undefined. */
export function expectedAuthorization(options: { token?: string; basicUser?: string; basicPassword?: string }): string | undefined {
  if (options.token) return `Bearer ${options.token}`;
  if (options.basicUser) return `Basic ${Buffer.from(`${options.basicUser}:${options.basicPassword ?? ''}`).toString('base64')}`;
  return undefined;
}

/**
 * Grafana's webhook contact point posts here. A notification is stored only whole: every alert is checked and
 * encoded before any is written, and 200 is answered only once the writer holds the rows (acknowledged by QuestDB,
 * or spooled), so a failure makes Grafana retry rather than lose it. Re-deliveries are idempotent (dedup keys).
 */
export function createAlertReceiver(options: AlertReceiverOptions): AlertReceiver {
  const maxBodyBytes = options.maxBodyBytes ?? MAX_BODY_BYTES;
  const now = options.now ?? (() => Date.now() * 1000);
  const encoder = encoderFor(alertEvents);
  const stats: AlertReceiverStats = { notifications: 0, alerts: 0, refused: 0 };
  const server = http.createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) answer(res, 500, `not stored: ${(err as Error).message}`);
    });
  });

  const answer = (res: http.ServerResponse, status: number, message: string) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(status === 200 ? { stored: message } : { error: message }));
  };
  const refuse = (res: http.ServerResponse, status: number, message: string) => {
    stats.refused++;
    options.onNotification?.({ alerts: 0, error: message });
    answer(res, status, message);
  };

  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    if (req.method === 'GET' && req.url === '/healthz') return answer(res, 200, 'ok');
    if (req.method !== 'POST') return refuse(res, 405, `method ${req.method}: POST Grafana's webhook notification here`);
    if (options.authorization && !sameSecret(req.headers.authorization ?? '', options.authorization)) {
      req.resume();
      return refuse(res, 401, 'authorization: missing or wrong credentials');
    }
    const body = await readBody(req, maxBodyBytes);
    if (body === undefined) {
      res.setHeader('connection', 'close');
      return refuse(res, 400, `body: larger than ${maxBodyBytes} bytes`);
    }
    let rows;
    try {
      rows = alertRows(parseWebhookPayload(body), now());
      rows.forEach((row, i) => {
        try {
          encoder.encode(row);
        } catch (err) {
          throw new PayloadError(`alerts[${i}]: ${(err as Error).message}`);
        }
      });
    } catch (err) {
      if (err instanceof PayloadError) return refuse(res, 400, err.message);
      throw err;
    }
    for (const row of rows) options.writer.write(alertEvents, row);
    await options.writer.flush();
    stats.notifications++;
    stats.alerts += rows.length;
    options.onNotification?.({ alerts: rows.length });
    answer(res, 200, `${rows.length} alert(s)`);
  }

  return {
    listen: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => {
          server.off('error', reject);
          const address = server.address() as AddressInfo;
          const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
          resolve(`http://${host}:${address.port}`);
        });
      }),
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
    stats: () => ({ ...stats }),
  };
}

/** The body as text, or undefined once it passes the limit (the rest is discarded, not buffered). */
function readBody(req: http.IncomingMessage, limit: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', () => resolve(tooLarge ? undefined : Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
