import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createWriter, type Writer, type WriterLogger, type WriterOptions } from '../../packages/sdk/src/storage/index.js';
import type { CleanupRegistrar } from './questdb.js';

/** Helpers the writer tests share: writers closed after their test, loggers, temp dirs and proxies in front of QuestDB. */

export const quietLogger: WriterLogger = { warn: () => {}, error: () => {} };

export interface CapturingLogger extends WriterLogger {
  readonly lines: { level: string; message: string }[];
}

export function captureLogger(): CapturingLogger {
  const lines: { level: string; message: string }[] = [];
  return {
    lines,
    warn: (_c, message) => lines.push({ level: 'warn', message }),
    error: (_c, message) => lines.push({ level: 'error', message }),
    info: (_c, message) => lines.push({ level: 'info', message }),
  };
}

/** openWriter(t, options): a writer to `url` as `service`, quiet unless a logger is given, closed after test t. */
export function writerOpener(url: string, service: string) {
  return (t: CleanupRegistrar, options: Partial<WriterOptions>): Writer => {
    const writer = createWriter({ url, service, logger: quietLogger, ...options });
    t.after(() => writer.close());
    return writer;
  };
}

export function tempDir(t: CleanupRegistrar, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A loopback port with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

export interface QuestDbAnswer {
  readonly status: number;
  readonly contentType: string;
  readonly text: string;
}

/** Forwards one ILP request body to QuestDB; a failure to reach it becomes a 502 answer. */
export async function forwardToQuestDb(target: string, requestUrl: string | undefined, body: Buffer): Promise<QuestDbAnswer> {
  try {
    const answer = await fetch(`${target}${requestUrl ?? ''}`, { method: 'POST', body, headers: { 'content-type': 'text/plain; charset=utf-8' } });
    return { status: answer.status, contentType: answer.headers.get('content-type') ?? 'text/plain', text: await answer.text() };
  } catch (err) {
    return { status: 502, contentType: 'text/plain', text: (err as Error).message };
  }
}

export function sendAnswer(res: http.ServerResponse, answer: QuestDbAnswer): void {
  res.writeHead(answer.status, { 'content-type': answer.contentType });
  res.end(answer.text);
}

/** Listens on a free loopback port; closed (connections included) after test t. Returns the server's URL. */
export async function listenForTest(t: CleanupRegistrar, server: http.Server, beforeClose?: () => void): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(
    () =>
      new Promise<void>((resolve) => {
        beforeClose?.();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
}
