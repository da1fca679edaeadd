import { describeValue, ErrorCodes, TradewatchError } from '../common/errors.js';
import type { ColumnDef, ColumnType, TableDef } from '../schema/types.js';

/**
 * InfluxDB Line Protocol (text, protocol version 1) encoding of tradewatch rows, compiled once per table.
 *
 * We own this instead of using `@questdb/nodejs-client`'s buffer: string building is several times faster, and it
 * lets us validate a whole row before a single byte of it is buffered, so a bad value never poisons a batch. The
 * output is byte-for-byte what the official client produces (test/ilp-encoder.test.ts checks this), except where we
 * reject input the client would send (see the limits and rules below).
 */

/** A row: column name → value. The designated timestamp is microseconds since the epoch. */
export type Row = Readonly<Record<string, unknown>>;

/** Longest SYMBOL value accepted (UTF-16 code units). Symbols are labels; longer ones are a cardinality bug. */
export const MAX_SYMBOL_CHARS = 256;
/** Longest VARCHAR value accepted (UTF-16 code units). Keeps one row from dominating a batch. */
export const MAX_VARCHAR_CHARS = 64 * 1024;
/** Latest timestamp accepted, in microseconds: QuestDB's designated timestamp travels in int64 nanoseconds. */
export const MAX_TIMESTAMP_MICROS = 9_223_372_036_854_775n;
/**
 * QuestDB stores NULL for INT as -2^31 and for LONG as -2^63, so those values would silently read back as NULL; the
 * usable ranges are symmetric.
 */
const INT_MAX = 2_147_483_647;
const LONG_MAX = 9_223_372_036_854_775_807n;

const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

const enum Kind {
  Symbol,
  Varchar,
  Double,
  Float,
  Long,
  Int,
  Boolean,
  Timestamp,
}

const KIND_BY_TYPE: Readonly<Record<ColumnType, Kind>> = {
  SYMBOL: Kind.Symbol,
  VARCHAR: Kind.Varchar,
  DOUBLE: Kind.Double,
  FLOAT: Kind.Float,
  LONG: Kind.Long,
  INT: Kind.Int,
  BOOLEAN: Kind.Boolean,
  TIMESTAMP: Kind.Timestamp,
};

interface CompiledColumn {
  readonly name: string;
  readonly type: ColumnType;
  readonly kind: Kind;
  readonly required: boolean;
  readonly vocabulary: ReadonlySet<string> | undefined;
  /** Symbols: `,name=`. Fields: the prefix used when it is the first field of the line (` name=`). */
  readonly firstPrefix: string;
  /** Fields only: the prefix when another field came before it (`,name=`). */
  readonly nextPrefix: string;
}

/** Encodes rows of one table into ILP lines. Stateless and reusable; create it once per table. */
export class RowEncoder {
  readonly table: TableDef;
  private readonly symbols: readonly CompiledColumn[];
  private readonly fields: readonly CompiledColumn[];
  private readonly timestamp: string;
  /** Null-prototype lookup of every column name (designated timestamp included) for the unknown-key check. */
  private readonly known: Readonly<Record<string, true>>;

  constructor(table: TableDef) {
    if (!NAME_PATTERN.test(table.name)) throw invalidSchema(table, `table name ${JSON.stringify(table.name)} is not a plain identifier`);
    const tsColumn = table.columns.find((c) => c.name === table.timestamp);
    if (!tsColumn || tsColumn.type !== 'TIMESTAMP') {
      throw invalidSchema(table, `designated timestamp ${JSON.stringify(table.timestamp)} is not a TIMESTAMP column of the table`);
    }
    const known: Record<string, true> = Object.create(null) as Record<string, true>;
    const symbols: CompiledColumn[] = [];
    const fields: CompiledColumn[] = [];
    for (const column of table.columns) {
      if (!NAME_PATTERN.test(column.name)) throw invalidSchema(table, `column name ${JSON.stringify(column.name)} is not a plain identifier`);
      if (known[column.name]) throw invalidSchema(table, `column ${column.name} is defined twice`);
      known[column.name] = true;
      if (column.name === table.timestamp) continue;
      const compiled = compileColumn(column);
      (compiled.kind === Kind.Symbol ? symbols : fields).push(compiled);
    }
    this.table = table;
    this.symbols = symbols;
    this.fields = fields;
    this.timestamp = table.timestamp;
    this.known = known;
  }

  /**
   * One ILP line, newline-terminated. Throws TradewatchError (TW_INVALID_VALUE / TW_UNKNOWN_COLUMN) naming the
   * table, column and value; nothing is returned (so nothing can be buffered) for an invalid row.
   */
  encode(row: Row): string {
    if (typeof row !== 'object' || row === null) {
      throw new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}: a row must be an object, got ${describeValue(row)}`, {
        table: this.table.name,
      });
    }
    // Keys we recognised with a value other than undefined; compared with the row's own key count at the end.
    let seen = 0;
    let line = this.table.name;

    for (let i = 0; i < this.symbols.length; i++) {
      const column = this.symbols[i]!;
      const value = row[column.name];
      if (value === undefined || value === null) {
        if (value === null) seen++;
        if (column.required) throw this.missing(column);
        continue;
      }
      seen++;
      if (typeof value !== 'string') throw this.invalid(column, value, 'must be a string');
      if (value.length === 0) throw this.invalid(column, value, 'must not be empty');
      if (value.length > MAX_SYMBOL_CHARS) throw this.invalid(column, value, `is longer than ${MAX_SYMBOL_CHARS} characters`);
      if (column.vocabulary !== undefined && !column.vocabulary.has(value)) throw this.notInVocabulary(column, value);
      const escaped = escapeUnquoted(value);
      if (escaped === undefined) throw this.invalid(column, value, TEXT_RULE);
      line += column.firstPrefix + escaped;
    }

    let fieldCount = 0;
    for (let i = 0; i < this.fields.length; i++) {
      const column = this.fields[i]!;
      const value = row[column.name];
      if (value === undefined || value === null) {
        if (value === null) seen++;
        if (column.required) throw this.missing(column);
        continue;
      }
      seen++;
      line += fieldCount === 0 ? column.firstPrefix : column.nextPrefix;
      fieldCount++;
      line += this.fieldValue(column, value);
    }

    const ts = row[this.timestamp];
    if (ts === undefined || ts === null) throw this.missingTimestamp(ts);
    seen++;
    if (line.length === this.table.name.length) {
      // QuestDB rejects a line with neither symbols nor fields ("Field value is missing"); so does the official client.
      throw new TradewatchError(
        ErrorCodes.INVALID_VALUE,
        `${this.table.name}: a row needs at least one column besides ${this.timestamp}`,
        { table: this.table.name },
      );
    }
    line += ' ' + this.designatedTimestamp(ts) + '\n';

    let keys = 0;
    for (const _key in row) keys++;
    if (keys !== seen) this.checkKeys(row);
    return line;
  }

  private fieldValue(column: CompiledColumn, value: unknown): string {
    switch (column.kind) {
      case Kind.Varchar: {
        if (typeof value !== 'string') throw this.invalid(column, value, 'must be a string');
        if (value.length > MAX_VARCHAR_CHARS) throw this.invalid(column, value, `is longer than ${MAX_VARCHAR_CHARS} characters`);
        if (column.vocabulary !== undefined && !column.vocabulary.has(value)) throw this.notInVocabulary(column, value);
        const escaped = escapeQuoted(value);
        if (escaped === undefined) throw this.invalid(column, value, TEXT_RULE);
        return '"' + escaped + '"';
      }
      case Kind.Double:
        if (typeof value !== 'number') throw this.invalid(column, value, 'must be a number');
        // NaN and ±Infinity are stored as NULL by QuestDB: almost always an upstream bug, so we refuse them.
        if (!Number.isFinite(value)) throw this.invalid(column, value, 'must be finite (NaN and Infinity are rejected)');
        return String(value);
      case Kind.Float:
        if (typeof value !== 'number') throw this.invalid(column, value, 'must be a number');
        if (!Number.isFinite(value)) throw this.invalid(column, value, 'must be finite (NaN and Infinity are rejected)');
        // QuestDB narrows to 32-bit float; an overflow would be stored as NULL without any error.
        if (!Number.isFinite(Math.fround(value))) throw this.invalid(column, value, 'is outside the 32-bit FLOAT range');
        return String(value);
      case Kind.Long:
        if (typeof value === 'number') {
          if (!Number.isSafeInteger(value)) throw this.invalid(column, value, 'must be a safe integer (use a bigint beyond 2^53)');
          return String(value) + 'i';
        }
        if (typeof value === 'bigint') {
          if (value > LONG_MAX || value < -LONG_MAX) throw this.invalid(column, value, 'is outside the LONG range');
          return value.toString() + 'i';
        }
        throw this.invalid(column, value, 'must be an integer number or bigint');
      case Kind.Int:
        if (typeof value === 'number') {
          if (!Number.isInteger(value) || value > INT_MAX || value < -INT_MAX) {
            throw this.invalid(column, value, 'must be an integer within ±2147483647');
          }
          return String(value) + 'i';
        }
        if (typeof value === 'bigint') {
          if (value > BigInt(INT_MAX) || value < -BigInt(INT_MAX)) throw this.invalid(column, value, 'must be an integer within ±2147483647');
          return value.toString() + 'i';
        }
        throw this.invalid(column, value, 'must be an integer number or bigint');
      case Kind.Boolean:
        if (value === true) return 't';
        if (value === false) return 'f';
        throw this.invalid(column, value, 'must be a boolean');
      case Kind.Timestamp:
        return timestampMicros(value, () => this.invalid(column, value, TIMESTAMP_RULE)) + 't';
      default:
        throw new Error(`unreachable column kind for ${column.name}`);
    }
  }

  /** The designated timestamp: microseconds in, nanoseconds out (ILP's default precision). */
  private designatedTimestamp(ts: unknown): string {
    const micros = timestampMicros(ts, () =>
      new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}.${this.timestamp}: ${TIMESTAMP_RULE}, got ${describeValue(ts)}`, {
        table: this.table.name,
        column: this.timestamp,
        value: ts,
      }),
    );
    // Appending digits is exact where multiplying a number by 1000 could leave the safe-integer range.
    return micros === '0' ? '0' : micros + '000';
  }

  private checkKeys(row: Row): void {
    for (const key in row) {
      if (this.known[key] !== true) {
        throw new TradewatchError(
          ErrorCodes.UNKNOWN_COLUMN,
          `${this.table.name}: unknown column ${JSON.stringify(key)} (value ${describeValue(row[key])}); columns are: ${this.table.columns.map((c) => c.name).join(', ')}`,
          { table: this.table.name, column: key },
        );
      }
    }
    // Otherwise the difference came from keys explicitly set to undefined, which mean "omitted".
  }

  private invalid(column: CompiledColumn, value: unknown, rule: string): TradewatchError {
    return new TradewatchError(
      ErrorCodes.INVALID_VALUE,
      `${this.table.name}.${column.name} (${column.type}) ${rule}, got ${describeValue(value)}`,
      { table: this.table.name, column: column.name, value },
    );
  }

  private notInVocabulary(column: CompiledColumn, value: unknown): TradewatchError {
    return this.invalid(column, value, `must be one of ${[...column.vocabulary!].join(', ')}`);
  }

  private missing(column: CompiledColumn): TradewatchError {
    return new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}.${column.name} (${column.type}) is required, got no value`, {
      table: this.table.name,
      column: column.name,
    });
  }

  private missingTimestamp(value: unknown): TradewatchError {
    return new TradewatchError(
      ErrorCodes.INVALID_VALUE,
      `${this.table.name}.${this.timestamp} (designated timestamp, microseconds) is required, got ${describeValue(value)}`,
      { table: this.table.name, column: this.timestamp },
    );
  }
}

const TIMESTAMP_RULE = 'must be whole microseconds since 1970-01-01 (a safe integer or bigint, not after 2262-04-11)';

/** Decimal microseconds of a timestamp value, or throws the error that `fail` builds. */
function timestampMicros(value: unknown, fail: () => TradewatchError): string {
  if (typeof value === 'number') {
    // Every non-negative safe integer is before 2262, so the upper bound needs no check here.
    if (!Number.isSafeInteger(value) || value < 0) throw fail();
    return String(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_TIMESTAMP_MICROS) throw fail();
    return value.toString();
  }
  throw fail();
}

function compileColumn(column: ColumnDef): CompiledColumn {
  const kind = KIND_BY_TYPE[column.type];
  if (kind === undefined) throw new Error(`column ${column.name}: unsupported type ${String(column.type)}`);
  const symbol = kind === Kind.Symbol;
  return {
    name: column.name,
    type: column.type,
    kind,
    required: column.required === true,
    vocabulary: column.values ? new Set(column.values) : undefined,
    firstPrefix: symbol ? `,${column.name}=` : ` ${column.name}=`,
    nextPrefix: `,${column.name}=`,
  };
}

function invalidSchema(table: TableDef, reason: string): TradewatchError {
  return new TradewatchError(ErrorCodes.INVALID_CONFIG, `table ${table.name}: ${reason}`, { table: table.name });
}

const TEXT_RULE = 'contains U+0000 or a lone surrogate (QuestDB rejects or mangles both)';

/**
 * Escapes a tag (symbol) value: space, comma, equals, backslash, CR and LF get a backslash in front, as the official
 * client does and QuestDB unescapes. Returns undefined for text QuestDB cannot store faithfully: a lone surrogate
 * (it would arrive as U+FFFD) or U+0000 (QuestDB 9.3 rejects it in a symbol and turns it into a space in a VARCHAR).
 * A plain char-code scan: no regex, no allocation when nothing needs escaping (the common case).
 */
export function escapeUnquoted(value: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 92) {
      if (c >= 0xd800 && c <= 0xdfff) {
        if (c <= 0xdbff && isLowSurrogate(value.charCodeAt(i + 1))) i++;
        else return undefined;
      }
      continue;
    }
    if (c === 32 || c === 44 || c === 61 || c === 92 || c === 10 || c === 13) {
      out += value.slice(from, i) + '\\';
      from = i;
    } else if (c === 0) {
      return undefined;
    }
  }
  return from === 0 && out === '' ? value : out + value.slice(from);
}

/** Escapes a quoted string field: double quote, backslash, CR and LF get a backslash in front. */
export function escapeQuoted(value: string): string | undefined {
  let out = '';
  let from = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 92) {
      if (c >= 0xd800 && c <= 0xdfff) {
        if (c <= 0xdbff && isLowSurrogate(value.charCodeAt(i + 1))) i++;
        else return undefined;
      }
      continue;
    }
    if (c === 34 || c === 92 || c === 10 || c === 13) {
      out += value.slice(from, i) + '\\';
      from = i;
    } else if (c === 0) {
      return undefined;
    }
  }
  return from === 0 && out === '' ? value : out + value.slice(from);
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

const encoders = new WeakMap<TableDef, RowEncoder>();

/** The encoder for a table, compiled on first use and cached for the table object's lifetime. */
export function encoderFor(table: TableDef): RowEncoder {
  let encoder = encoders.get(table);
  if (encoder === undefined) {
    encoder = new RowEncoder(table);
    encoders.set(table, encoder);
  }
  return encoder;
}
