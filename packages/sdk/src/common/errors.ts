/**
 * Configuration-time and lifecycle errors carry a stable code (listed in docs/errors.md) so that
 * callers and users can act on them without parsing messages. The recording hot path never throws
 * these into a caller: it reports them through diagnostics instead.
 */
export const ErrorCodes = {
  /** A value given to the writer or SDK is not acceptable for its column. */
  INVALID_VALUE: 'TW_INVALID_VALUE',
  /** A table or column name that the schema does not define. */
  UNKNOWN_TABLE: 'TW_UNKNOWN_TABLE',
  UNKNOWN_COLUMN: 'TW_UNKNOWN_COLUMN',
  /** Configuration (file, environment, flags) failed validation. */
  INVALID_CONFIG: 'TW_INVALID_CONFIG',
  /** The QuestDB server jar could not be obtained through Maven. */
  QUESTDB_JAR_UNAVAILABLE: 'TW_QUESTDB_JAR_UNAVAILABLE',
  /** Java is missing or too old to run QuestDB. */
  JAVA_UNAVAILABLE: 'TW_JAVA_UNAVAILABLE',
  /** A QuestDB server did not answer in time after start. */
  QUESTDB_START_TIMEOUT: 'TW_QUESTDB_START_TIMEOUT',
  /** A QuestDB server could not start: it exited while starting, its ports are taken, or its data root is in use. */
  QUESTDB_START_FAILED: 'TW_QUESTDB_START_FAILED',
  /** stop/kill/restart was asked of a QuestDB that tradewatch did not start (one given by URL). */
  QUESTDB_NOT_MANAGED: 'TW_QUESTDB_NOT_MANAGED',
  /** QuestDB could not be reached (HTTP). */
  QUESTDB_UNREACHABLE: 'TW_QUESTDB_UNREACHABLE',
  /** QuestDB answered a SQL statement with an error. */
  QUESTDB_SQL_ERROR: 'TW_QUESTDB_SQL_ERROR',
  /** The writer was used after close(). */
  WRITER_CLOSED: 'TW_WRITER_CLOSED',
  /** The spool directory cannot be used (permissions, locked by another writer). */
  SPOOL_UNAVAILABLE: 'TW_SPOOL_UNAVAILABLE',
} as const;

/** A stable configuration-time error code (docs/errors.md). */
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An error with a stable code (ErrorCodes, docs/errors.md); thrown at configuration time, never by recording calls. */
export class TradewatchError extends Error {
  readonly code: ErrorCode;
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TradewatchError';
    this.code = code;
    this.details = details;
  }
}

/** Whether `err` is a TradewatchError (with this code, when one is given). */
export function isTradewatchError(err: unknown, code?: ErrorCode): err is TradewatchError {
  return err instanceof TradewatchError && (code === undefined || err.code === code);
}

/** Renders a value for an error message: short, unambiguous, never multi-line. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const shown = value.length > 64 ? `${value.slice(0, 64)}… (${value.length} chars)` : value;
    return JSON.stringify(shown);
  }
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  if (value === null || value === undefined) return String(value);
  if (value instanceof Date) return `Date(${Number.isNaN(value.getTime()) ? 'Invalid' : value.toISOString()})`;
  try {
    const json = JSON.stringify(value);
    return json === undefined ? typeof value : json.length > 80 ? `${json.slice(0, 80)}…` : json;
  } catch {
    return typeof value;
  }
}
