/**
 * The writer's seam to QuestDB: one request carrying one or more consecutive ILP batches, and its classified answer.
 * IlpHttpSender (http-sender.ts) is the real one; unit tests use a fake (test/helpers/fake-transport.ts).
 * A request is all or nothing: QuestDB commits every line of it (ok) or none (every other outcome).
 */
export type SendOutcome =
  /** 2xx: QuestDB committed every line. */
  | { readonly kind: 'ok' }
  /** The data is at fault (400 and other 4xx that are not about access): retrying the same bytes cannot help. */
  | { readonly kind: 'rejected'; readonly status: number; readonly message: string; readonly line?: number; readonly errorId?: string }
  /** QuestDB is down, restarting or overloaded (connection errors, timeouts, 408, 429, 5xx): try again later. */
  | { readonly kind: 'unavailable'; readonly status?: number; readonly message: string }
  /** Access or address is wrong (401, 403, 404, 405): needs a human; keep the data and retry slowly. */
  | { readonly kind: 'config'; readonly status: number; readonly message: string };

export type Rejection = SendOutcome & { kind: 'rejected' };
export type Unreachable = SendOutcome & { kind: 'unavailable' | 'config' };

export interface Transport {
  /** Where requests go, for log lines. */
  readonly endpoint: string;
  /**
   * Sends one request whose body is `payload`, or its parts in order. Never rejects: every failure is an outcome.
   * The caller sends one request at a time.
   */
  send(payload: Buffer | readonly Buffer[]): Promise<SendOutcome>;
  /** Releases connections. */
  close(): void;
}
