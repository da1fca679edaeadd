import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

export const LOOPBACK = '127.0.0.1';

/** The four listeners of a QuestDB server, all bound to 127.0.0.1. */
export interface QuestDbPorts {
  /** REST API, web console and ILP over HTTP. */
  http: number;
  /** Health check and Prometheus `/metrics`. */
  minHttp: number;
  /** PostgreSQL wire protocol. */
  pg: number;
  /** ILP over TCP. */
  ilpTcp: number;
}

export const PORT_NAMES = ['http', 'minHttp', 'pg', 'ilpTcp'] as const;

/** QuestDB's usual ports, used by the CLI so that a dev server keeps stable addresses. */
export const STANDARD_PORTS: QuestDbPorts = { http: 9000, minHttp: 9003, pg: 8812, ilpTcp: 9009 };

function listen(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: LOOPBACK, port, exclusive: true }, () => resolve(server));
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * Where auto-picked ports come from: below the kernel's ephemeral range (Linux: ip_local_port_range, 32768-60999 by
 * default), from 10000 up. A port the kernel hands out for port 0 is also one it hands out as the local port of any
 * outgoing connection: while a server that was given one is down (a crash, a restart, an outage test), another
 * process's connection can take it, and the server cannot come back on its address (a loaded test run lost a
 * restarted QuestDB's ILP port this way). Nothing takes a port outside that range without asking for it by number.
 * Undefined when the range is unknown (not Linux) or leaves no room below it: port 0 then.
 */
export function pickablePortRange(rangeFile = '/proc/sys/net/ipv4/ip_local_port_range'): { from: number; to: number } | undefined {
  let low: number;
  try {
    low = Number(readFileSync(rangeFile, 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return undefined;
  }
  const from = 10_000;
  return Number.isInteger(low) && low - from >= 1000 ? { from, to: low - 1 } : undefined;
}

/** A listener on a free port: a random one in `range` when it has a free one within a few tries, else port 0. */
async function listenOnFreePort(range: { from: number; to: number } | undefined): Promise<Server> {
  for (let attempt = 0; range && attempt < 20; attempt++) {
    const port = range.from + Math.floor(Math.random() * (range.to - range.from + 1));
    const server = await listen(port).catch(() => undefined);
    if (server) return server;
  }
  return listen(0);
}

/**
 * Fills in the ports not given with distinct free loopback ports, outside the ephemeral range (pickablePortRange).
 * All probe sockets stay open until every port is chosen, so the same port is never chosen twice.
 */
export async function completePorts(given: Partial<QuestDbPorts> = {}): Promise<QuestDbPorts> {
  const held: Server[] = [];
  const range = pickablePortRange();
  try {
    const chosen = { ...given };
    for (const name of PORT_NAMES) {
      if (chosen[name] !== undefined) continue;
      const server = await listenOnFreePort(range);
      held.push(server);
      chosen[name] = (server.address() as { port: number }).port;
    }
    return chosen as QuestDbPorts;
  } finally {
    await Promise.all(held.map(close));
  }
}

export async function isPortFree(port: number): Promise<boolean> {
  try {
    await close(await listen(port));
    return true;
  } catch {
    return false;
  }
}

/** Ports among `ports` that something is still listening on after `timeoutMs` (empty when all are free). */
export async function waitForPortsFree(ports: QuestDbPorts, timeoutMs: number): Promise<number[]> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const busy: number[] = [];
    for (const name of PORT_NAMES) if (!(await isPortFree(ports[name]))) busy.push(ports[name]);
    if (busy.length === 0 || Date.now() >= deadline) return busy;
    await new Promise((r) => setTimeout(r, 100));
  }
}
