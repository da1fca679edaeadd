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
 * Fills in the ports not given with distinct free loopback ports. All probe sockets stay open until every
 * port is chosen, so the kernel cannot hand out the same port twice.
 */
export async function completePorts(given: Partial<QuestDbPorts> = {}): Promise<QuestDbPorts> {
  const held: Server[] = [];
  try {
    const chosen = { ...given };
    for (const name of PORT_NAMES) {
      if (chosen[name] !== undefined) continue;
      const server = await listen(0);
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
