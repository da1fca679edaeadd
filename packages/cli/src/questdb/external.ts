import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { answersSelectOne, splitCredentials } from './http.js';
import type { QuestDbServer } from './types.js';

export interface ConnectQuestDbOptions {
  /** PostgreSQL wire port of that server. Default 8812. */
  pgPort?: number;
  /** ILP/TCP port of that server. Default 9009. */
  ilpTcpPort?: number;
  /** Its min HTTP server (health, /metrics). Default: same host, port 9003. */
  minHttpUrl?: string;
  /** How long the initial `select 1` may take. Default 5 s. */
  timeoutMs?: number;
}

/**
 * A handle on a QuestDB server tradewatch does not run, e.g. `http://admin:quest@db.internal:9000`.
 * Checks that it answers SQL; stop/kill/restart reject, since its lifecycle belongs to someone else.
 */
export async function connectQuestDb(url: string, options: ConnectQuestDbOptions = {}): Promise<QuestDbServer> {
  let parts: ReturnType<typeof splitCredentials>;
  try {
    parts = splitCredentials(url);
  } catch (err) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `not a QuestDB HTTP URL: ${JSON.stringify(url)}`, { url }, { cause: err });
  }
  const { baseUrl, credentials } = parts;
  const parsed = new URL(baseUrl);
  const host = parsed.hostname;
  // Always spelled out: ILP clients assume 9000 when the port is missing, URLs assume 80/443.
  const httpPort = parsed.port || (parsed.protocol === 'https:' ? '443' : '80');
  if (!(await answersSelectOne(baseUrl, credentials, options.timeoutMs ?? 5_000))) {
    throw new TradewatchError(
      ErrorCodes.QUESTDB_UNREACHABLE,
      `QuestDB at ${baseUrl} does not answer 'select 1' over HTTP; check the URL, credentials and that the server is up`,
      { httpUrl: baseUrl },
    );
  }
  const notManaged = (action: string) => () =>
    Promise.reject(
      new TradewatchError(
        ErrorCodes.QUESTDB_NOT_MANAGED,
        `cannot ${action} the QuestDB at ${baseUrl}: tradewatch did not start it (it was given by URL); manage it where it runs`,
        { httpUrl: baseUrl },
      ),
    );
  const auth = credentials ? `username=${credentials.username};password=${credentials.password};` : '';
  const scheme = parsed.protocol === 'https:' ? 'https' : 'http';
  return {
    kind: 'external',
    httpUrl: baseUrl,
    minHttpUrl: (options.minHttpUrl ?? `${parsed.protocol}//${host}:9003`).replace(/\/+$/, ''),
    host,
    pgPort: options.pgPort ?? 8812,
    ilpTcpPort: options.ilpTcpPort ?? 9009,
    ilpConfig: `${scheme}::addr=${host}:${httpPort};${auth}`,
    credentials,
    dataRoot: undefined,
    pid: undefined,
    lastExit: undefined,
    stop: notManaged('stop'),
    kill: notManaged('kill'),
    restart: notManaged('restart'),
  };
}

/**
 * The external server named by TRADEWATCH_QUESTDB_URL (with optional TRADEWATCH_QUESTDB_PG_PORT,
 * TRADEWATCH_QUESTDB_ILP_TCP_PORT, TRADEWATCH_QUESTDB_MIN_HTTP_URL), or undefined when it is not set.
 */
export async function resolveQuestDb(env: NodeJS.ProcessEnv = process.env): Promise<QuestDbServer | undefined> {
  const url = env.TRADEWATCH_QUESTDB_URL;
  if (!url) return undefined;
  return connectQuestDb(url, {
    pgPort: optionalPort(env, 'TRADEWATCH_QUESTDB_PG_PORT'),
    ilpTcpPort: optionalPort(env, 'TRADEWATCH_QUESTDB_ILP_TCP_PORT'),
    minHttpUrl: env.TRADEWATCH_QUESTDB_MIN_HTTP_URL || undefined,
  });
}

function optionalPort(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const port = Number(raw);
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `${name} must be a port number, got ${JSON.stringify(raw)}`, { [name]: raw });
  }
  return port;
}
