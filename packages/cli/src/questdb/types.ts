import type { QuestDbCredentials } from './http.js';

/** How a managed QuestDB process ended. */
export interface QuestDbExit {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Shut down on SIGTERM within the stop timeout (the JVM then exits 143) or exited 0; false after SIGKILL. */
  clean: boolean;
}

/**
 * A QuestDB server to talk to: one tradewatch started (`kind: 'managed'`) or one given by URL (`'external'`).
 * URLs carry no credentials and no trailing slash.
 */
export interface QuestDbServer {
  readonly kind: 'managed' | 'external';
  /** REST API, web console, ILP over HTTP, e.g. `http://127.0.0.1:9000`. */
  readonly httpUrl: string;
  /** Min HTTP server: health at `/`, Prometheus text at `${minHttpUrl}/metrics`. */
  readonly minHttpUrl: string;
  readonly host: string;
  readonly pgPort: number;
  readonly ilpTcpPort: number;
  /** Configuration string for `@questdb/nodejs-client` `Sender.fromConfig` (ILP over HTTP). */
  readonly ilpConfig: string;
  readonly credentials: QuestDbCredentials | undefined;
  /** Managed only. */
  readonly dataRoot: string | undefined;
  /** Current process id (changes on restart); undefined when external or not running. */
  readonly pid: number | undefined;
  /** How the last process ended, once it has. */
  readonly lastExit: QuestDbExit | undefined;
  /** Managed only: resolves when the current process exits (by stop(), kill() or by itself). */
  waitForExit?(): Promise<QuestDbExit>;
  /** SIGTERM, wait for exit, SIGKILL after the stop timeout. Resolves once the process is gone. */
  stop(): Promise<void>;
  /** SIGKILL (a crash, as far as QuestDB can tell), then wait for the process to be gone. */
  kill(): Promise<void>;
  /** Start again on the same data root and ports (stopping first if still running), wait until it answers SQL. */
  restart(): Promise<void>;
}
