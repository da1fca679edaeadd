import { ErrorCodes, TradewatchError } from '../common/errors.js';

/** A column of a SQL result: name and QuestDB type. */
export interface SqlColumn {
  readonly name: string;
  readonly type: string;
}

/** A SQL result: the columns, the rows (`dataset`, one array per row) and the row count. */
export interface SqlResult {
  readonly columns: readonly SqlColumn[];
  readonly dataset: readonly (readonly unknown[])[];
  readonly count: number;
}

/** Options of SqlClient. */
export interface SqlClientOptions {
  /** QuestDB HTTP base URL; user:password in the URL become basic auth. */
  readonly url: string;
  readonly timeoutMs?: number;
}

/**
 * SQL over QuestDB's HTTP `/exec` endpoint: DDL for schema apply, reads for tests and the CLI. Not for ingestion,
 * which goes through ILP.
 */
export class SqlClient {
  readonly baseUrl: string;
  private readonly authHeader: string | undefined;
  private readonly timeoutMs: number;

  constructor(options: SqlClientOptions) {
    const url = new URL(options.url);
    this.authHeader = url.username
      ? `Basic ${Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`).toString('base64')}`
      : undefined;
    url.username = '';
    url.password = '';
    this.baseUrl = url.toString().replace(/\/$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  async query(sql: string): Promise<SqlResult> {
    const body = await this.exec(sql);
    const columns = (body.columns as SqlColumn[] | undefined) ?? [];
    const dataset = (body.dataset as unknown[][] | undefined) ?? [];
    return { columns, dataset, count: typeof body.count === 'number' ? body.count : dataset.length };
  }

  /** Rows as objects keyed by column name: convenient for small results. */
  async rows<T = Record<string, unknown>>(sql: string): Promise<T[]> {
    const { columns, dataset } = await this.query(sql);
    return dataset.map((row) => Object.fromEntries(columns.map((c, i) => [c.name, row[i]])) as T);
  }

  async execute(sql: string): Promise<void> {
    await this.exec(sql);
  }

  private async exec(sql: string): Promise<Record<string, unknown>> {
    const url = `${this.baseUrl}/exec?${new URLSearchParams({ query: sql, timings: 'false' })}`;
    let response: Response;
    try {
      response = await fetch(url, {
        headers: this.authHeader ? { authorization: this.authHeader } : {},
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new TradewatchError(
        ErrorCodes.QUESTDB_UNREACHABLE,
        `QuestDB at ${this.baseUrl} did not answer (${(err as Error).message}); is it running? (tradewatch questdb status)`,
        { url: this.baseUrl },
        { cause: err },
      );
    }
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { error: text.slice(0, 500) };
    }
    if (!response.ok || typeof body.error === 'string') {
      throw new TradewatchError(
        ErrorCodes.QUESTDB_SQL_ERROR,
        `QuestDB rejected SQL: ${String(body.error ?? response.statusText)} — in: ${sql.length > 300 ? `${sql.slice(0, 300)}…` : sql}`,
        { sql, status: response.status, position: body.position },
      );
    }
    return body;
  }
}
