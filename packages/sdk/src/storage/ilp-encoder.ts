import { describeValue, ErrorCodes, TradewatchError } from '../common/errors.js';
import type { ColumnDef, ColumnType, TableDef } from '../schema/index.js';

/**
 * InfluxDB Line Protocol (text, protocol version 1) encoding of tradewatch rows, compiled once per table.
 *
 * We own this instead of using `@questdb/nodejs-client`'s buffer: it is several times faster, and a row that fails
 * validation leaves nothing in the batch (the bytes it wrote are taken back before the error reaches the caller),
 * so a bad value never poisons a batch. The output is byte-for-byte what the official client produces
 * (test/ilp-encoder.unit.test.ts checks this), except where we reject input the client would send (see the rules below).
 *
 * How it is fast (see docs/writer.md, "Performance"): each table gets a generated encode function that reads the
 * row's columns as constant-name properties (monomorphic property loads instead of a megamorphic `row[name]` per
 * column); rows are appended as UTF-8 bytes straight into the batch's reusable buffer (no per-row strings to build,
 * keep alive until the batch is sealed, and collect); integers, timestamps and short decimals are written digit by
 * digit instead of through `String(number)`; and a symbol value equal to the column's previous plain value skips
 * the checks and the escaping scan it already passed.
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
  /** Symbols: the ILP bytes before the value, `,name=` (generated code writes fields' names itself). */
  readonly prefix: Uint8Array;
}

/** Upper bound on cached symbol prefixes (trie nodes) per table; beyond it the cache starts over. */
export const MAX_PREFIX_NODES = 4096;

const NO_KEY: unique symbol = Symbol('none');

/**
 * The symbol-prefix cache: one node per tuple of leading symbol values seen (absent ones included), holding the
 * line's bytes up to there (`table,sym=value,...`, escaped) and how many of the row's keys those columns account
 * for. A node exists only for a value its column accepted, so a row whose symbols are all cached skips every symbol
 * check and escaping scan and copies its whole prefix at once. Symbols repeat heavily in monitoring data (a few
 * services, exchanges, markets), so almost every row hits. Bounded: see MAX_PREFIX_NODES.
 */
class PrefixNode {
  /** One-entry memo in front of `children`: runs of the same value skip the Map look-up. */
  lastKey: unknown = NO_KEY;
  lastChild: PrefixNode | undefined;
  children: Map<unknown, PrefixNode> | undefined;

  constructor(
    readonly bytes: Uint8Array,
    readonly seen: number,
  ) {}

  /** Sets the memo to `child` (found in `children` under `key`) and returns it. */
  remember(key: unknown, child: PrefixNode): PrefixNode {
    this.lastKey = key;
    this.lastChild = child;
    return child;
  }
}

/**
 * A growable byte buffer the encoder appends ILP lines to. The batch being filled is one of these; its memory is
 * reused from batch to batch (sealing copies the bytes out).
 */
export class ByteSink {
  buf: Buffer;
  pos = 0;

  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Makes room for `n` more bytes at `pos`. */
  reserve(n: number): void {
    if (this.pos + n > this.buf.length) this.grow(n);
  }

  private grow(n: number): void {
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
}

type EncodeFn = (row: Row, out: ByteSink) => void;

/** Encodes rows of one table into ILP lines. Reusable; create it once per table (encoderFor caches it). */
export class RowEncoder {
  readonly table: TableDef;
  private readonly symbols: readonly CompiledColumn[];
  private readonly fields: readonly CompiledColumn[];
  private readonly timestamp: string;
  /** Null-prototype lookup of every column name (designated timestamp included) for the unknown-key check. */
  private readonly known: Readonly<Record<string, true>>;
  private readonly encodeRow: EncodeFn;
  private readonly head: Uint8Array;
  private root: PrefixNode;
  private prefixNodes = 0;
  /** encode()'s output, and step()'s: kept apart, since step() runs in the middle of an encode(). */
  private scratch: ByteSink | undefined;
  private symbolScratch: ByteSink | undefined;

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
    this.head = Buffer.from(table.name, 'latin1');
    this.root = new PrefixNode(this.head, 0);
    this.encodeRow = this.generate();
  }

  /**
   * One ILP line, newline-terminated. Throws TradewatchError (TW_INVALID_VALUE / TW_UNKNOWN_COLUMN) naming the
   * table, column and value; nothing is returned for an invalid row.
   */
  encode(row: Row): string {
    const out = (this.scratch ??= new ByteSink(1024));
    out.pos = 0;
    this.encodeInto(row, out);
    return out.buf.toString('utf8', 0, out.pos);
  }

  /**
   * Appends one ILP line to `out`. Same checks and errors as encode(); on an error `out` is left exactly as it was
   * (the row's bytes are taken back), so an invalid row never reaches a batch.
   */
  encodeInto(row: Row, out: ByteSink): void {
    if (typeof row !== 'object' || row === null) {
      throw new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}: a row must be an object, got ${describeValue(row)}`, {
        table: this.table.name,
      });
    }
    const start = out.pos;
    try {
      this.encodeRow(row, out);
    } catch (err) {
      out.pos = start;
      throw err;
    }
  }

  /**
   * Generates this table's encode function. Column names are plain identifiers (checked above) and go in only as
   * JSON string literals, so the generated source cannot be anything but the code below. Why generate: a loop doing
   * `row[column.name]` makes that one property load megamorphic across every table and column (~12 ns each, over
   * 100 ns a row); a constant-name load per column stays monomorphic (~1 ns). Order of checks and errors is the
   * specification: symbols, then fields (schema order each), then the designated timestamp, "no columns", unknown keys.
   */
  private generate(): EncodeFn {
    const src: string[] = ['"use strict";'];
    src.push('const { putBytes, putByte, putDesignated, FIELD } = h;');
    this.fields.forEach((c, i) => src.push(`const f${i} = fields[${i}], put_f${i} = FIELD[${c.kind}];`));
    src.push('return function encode(row, out) {');
    src.push('  const start = out.pos;');
    src.push('  let fieldCount = 0, v, b, p, c, node = enc.prefixRoot();');
    // Symbols: walk the prefix cache by value; a value it has no node for yet is checked (and cached) by step().
    this.symbols.forEach((c, i) => {
      src.push(`  v = row[${JSON.stringify(c.name)}];`);
      // Fast path inline: the node's one-entry memo, then its children Map; enc.step() only for a value not cached.
      src.push(`  node = node.lastKey === v ? node.lastChild : (c = node.children?.get(v)) !== undefined ? node.remember(v, c) : enc.step(node, ${i}, v);`);
    });
    src.push('  putBytes(out, node.bytes);');
    src.push('  let seen = node.seen;');
    const absent = (col: string, required: boolean) =>
      `if (v === undefined || v === null) { if (v === null) seen++;${required ? ` throw enc.missing(${col});` : ''} }`;
    this.fields.forEach((c, i) => {
      src.push(`  v = row[${JSON.stringify(c.name)}];`);
      // The field's `,name=` (` name=` when first) as constant byte stores: ~1 ns instead of a ~12 ns copy loop.
      const name = Buffer.from(`${c.name}=`, 'latin1');
      const stores = Array.from(name, (b, k) => `b[p + ${k + 1}] = ${b};`).join(' ');
      src.push(`  ${absent(`f${i}`, c.required)} else {`);
      src.push(`    seen++; out.reserve(${name.length + 1}); b = out.buf; p = out.pos; b[p] = fieldCount++ === 0 ? 32 : 44; ${stores} out.pos = p + ${name.length + 1};`);
      src.push(`    put_f${i}(out, enc, f${i}, v);`);
      src.push('  }');
    });
    src.push(`  v = row[${JSON.stringify(this.timestamp)}];`);
    src.push('  if (v === undefined || v === null) throw enc.missingTimestamp(v);');
    src.push('  seen++;');
    src.push(`  if (out.pos === start + ${this.head.length}) throw enc.noColumns();`);
    src.push('  putByte(out, 32);');
    src.push('  putDesignated(out, enc, v);');
    src.push('  putByte(out, 10);');
    src.push('  let keys = 0;');
    src.push('  for (const _ in row) keys++;');
    src.push('  if (keys !== seen) enc.checkKeys(row);');
    src.push('};');
    const factory = new Function('enc', 'h', 'fields', src.join('\n')) as (
      enc: RowEncoder,
      h: typeof HELPERS,
      fields: readonly CompiledColumn[],
    ) => EncodeFn;
    return factory(this, HELPERS, this.fields);
  }

  /** @internal The prefix cache's root (the table name alone). */
  prefixRoot(): PrefixNode {
    return this.root;
  }

  /** @internal Cached symbol prefixes (trie nodes), for tests of the bound. */
  get cachedPrefixes(): number {
    return this.prefixNodes;
  }

  /**
   * @internal From `node`, the node for symbol column `index` having `value`: cached, or checked and added. Throws
   * for a value the column refuses (nothing is cached then).
   */
  step(node: PrefixNode, index: number, value: unknown): PrefixNode {
    let child = node.children?.get(value);
    if (child === undefined) {
      const column = this.symbols[index]!;
      if (value === undefined || value === null) {
        if (column.required) throw this.missing(column);
        child = new PrefixNode(node.bytes, value === null ? node.seen + 1 : node.seen);
      } else {
        const out = (this.symbolScratch ??= new ByteSink(1024));
        out.pos = 0;
        putBytes(out, node.bytes);
        putSymbol(out, this, column, value);
        // A copy (Buffer#slice would be a view of the scratch buffer).
        child = new PrefixNode(Uint8Array.prototype.slice.call(out.buf, 0, out.pos), node.seen + 1);
      }
      if (this.prefixNodes >= MAX_PREFIX_NODES) {
        // Start over rather than stop learning: the tuples in use now get cached again. `node` may be left
        // detached from the new root; it is still correct for this row and is collected afterwards.
        this.root = new PrefixNode(this.head, 0);
        this.prefixNodes = 0;
      }
      (node.children ??= new Map()).set(value, child);
      this.prefixNodes++;
    }
    node.lastKey = value;
    node.lastChild = child;
    return child;
  }

  /** @internal The designated timestamp is not valid. */
  badTimestamp(ts: unknown): TradewatchError {
    return new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}.${this.timestamp}: ${TIMESTAMP_RULE}, got ${describeValue(ts)}`, {
      table: this.table.name,
      column: this.timestamp,
      value: ts,
    });
  }

  /** @internal Neither symbols nor fields. */
  noColumns(): TradewatchError {
    // QuestDB rejects a line with neither symbols nor fields ("Field value is missing"); so does the official client.
    return new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}: a row needs at least one column besides ${this.timestamp}`, {
      table: this.table.name,
    });
  }

  /** @internal Throws for the first key that is not a column (the key count said there is one, or keys set to undefined). */
  checkKeys(row: Row): void {
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

  /** @internal */
  invalid(column: CompiledColumn, value: unknown, rule: string): TradewatchError {
    return new TradewatchError(
      ErrorCodes.INVALID_VALUE,
      `${this.table.name}.${column.name} (${column.type}) ${rule}, got ${describeValue(value)}`,
      { table: this.table.name, column: column.name, value },
    );
  }

  /** @internal */
  notInVocabulary(column: CompiledColumn, value: unknown): TradewatchError {
    return this.invalid(column, value, `must be one of ${[...column.vocabulary!].join(', ')}`);
  }

  /** @internal */
  missing(column: CompiledColumn): TradewatchError {
    return new TradewatchError(ErrorCodes.INVALID_VALUE, `${this.table.name}.${column.name} (${column.type}) is required, got no value`, {
      table: this.table.name,
      column: column.name,
    });
  }

  /** @internal */
  missingTimestamp(value: unknown): TradewatchError {
    return new TradewatchError(
      ErrorCodes.INVALID_VALUE,
      `${this.table.name}.${this.timestamp} (designated timestamp, microseconds) is required, got ${describeValue(value)}`,
      { table: this.table.name, column: this.timestamp },
    );
  }
}

// ---- value writers (called from the generated code) -----------------------------------------------------------

const TEXT_RULE = 'contains U+0000 or a lone surrogate (QuestDB rejects or mangles both)';
const TIMESTAMP_RULE = 'must be whole microseconds since 1970-01-01 (a safe integer or bigint, not after 2262-04-11)';

/** Per ASCII code: 0 plain, 1 needs a backslash in front, 2 refused (U+0000). */
const SYMBOL_ESCAPES = escapeTable(' ,=\\\n\r');
const QUOTED_ESCAPES = escapeTable('"\\\n\r');

function escapeTable(escaped: string): Uint8Array {
  const table = new Uint8Array(128);
  for (const ch of escaped) table[ch.charCodeAt(0)] = 1;
  table[0] = 2;
  return table;
}

function putBytes(out: ByteSink, bytes: Uint8Array): void {
  const n = bytes.length;
  out.reserve(n);
  const buf = out.buf;
  const p = out.pos;
  // A JS byte loop costs ~1.3 ns a byte, TypedArray#set ~17 ns whatever the length (measured, Node 20).
  if (n > 12) buf.set(bytes, p);
  else for (let i = 0; i < n; i++) buf[p + i] = bytes[i]!;
  out.pos = p + n;
}

function putByte(out: ByteSink, byte: number): void {
  out.reserve(1);
  out.buf[out.pos++] = byte;
}

/** A string known to be ASCII with nothing to escape (number formatting, memoised symbols). */
function putAscii(out: ByteSink, s: string): void {
  const n = s.length;
  out.reserve(n);
  const buf = out.buf;
  const p = out.pos;
  for (let i = 0; i < n; i++) buf[p + i] = s.charCodeAt(i);
  out.pos = p + n;
}

/**
 * Appends `value` UTF-8 encoded, with a backslash before each character `escapes` marks: what the official client
 * does and QuestDB unescapes. Returns -1 (having written a partial value: the caller throws, and the row is taken
 * back) for text QuestDB cannot store faithfully: a lone surrogate (it would arrive as U+FFFD) or U+0000 (QuestDB
 * 9.3 rejects it in a symbol and turns it into a space in a VARCHAR). Returns 1 when the value was plain ASCII with
 * nothing escaped, else 0. One pass: checking, escaping and encoding together.
 */
function putText(out: ByteSink, value: string, escapes: Uint8Array): number {
  const n = value.length;
  // Worst case: 3 bytes per UTF-16 unit (a surrogate pair is 4 bytes for 2 units; an escaped ASCII char 2 for 1).
  out.reserve(3 * n);
  const buf = out.buf;
  let p = out.pos;
  let plain = 1;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x80) {
      const e = escapes[c]!;
      if (e !== 0) {
        if (e === 2) return -1;
        buf[p++] = 0x5c;
        plain = 0;
      }
      buf[p++] = c;
    } else if (c < 0x800) {
      buf[p++] = 0xc0 | (c >> 6);
      buf[p++] = 0x80 | (c & 0x3f);
      plain = 0;
    } else if (c < 0xd800 || c > 0xdfff) {
      buf[p++] = 0xe0 | (c >> 12);
      buf[p++] = 0x80 | ((c >> 6) & 0x3f);
      buf[p++] = 0x80 | (c & 0x3f);
      plain = 0;
    } else {
      const d = value.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) return -1;
      const cp = ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
      buf[p++] = 0xf0 | (cp >> 18);
      buf[p++] = 0x80 | ((cp >> 12) & 0x3f);
      buf[p++] = 0x80 | ((cp >> 6) & 0x3f);
      buf[p++] = 0x80 | (cp & 0x3f);
      plain = 0;
      i++;
    }
  }
  out.pos = p;
  return plain;
}

/** "00" … "99" as ASCII byte pairs: digits are written two at a time. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, i) => 48 + (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)));

/** "0000" … "9999" as ASCII byte quads (40 KB). */
const DIGIT_QUADS = Uint8Array.from({ length: 40000 }, (_, i) => 48 + (Math.floor((i >> 2) / 10 ** (3 - (i & 3))) % 10));

function digitCount(x: number): number {
  if (x < 10000) return x < 10 ? 1 : x < 100 ? 2 : x < 1000 ? 3 : 4;
  if (x < 100000000) return x < 100000 ? 5 : x < 1000000 ? 6 : x < 10000000 ? 7 : 8;
  return x < 1000000000 ? 9 : 10;
}

/** Writes the last `len` digits of 0 ≤ x < 2^31 ending just before `end` (zero-padded if x has fewer). */
function digitsBefore(buf: Buffer, end: number, x: number, len: number): void {
  let p = end;
  while (len >= 2) {
    const q = (x / 100) | 0;
    const r = (x - q * 100) << 1;
    buf[--p] = DIGIT_PAIRS[r + 1]!;
    buf[--p] = DIGIT_PAIRS[r]!;
    x = q;
    len -= 2;
  }
  if (len === 1) buf[--p] = 48 + (x % 10);
}

/** Decimal digits of an integer 0 ≤ x < 2^31. */
function putSmall(out: ByteSink, x: number): void {
  const len = digitCount(x);
  out.reserve(len);
  digitsBefore(out.buf, out.pos + len, x, len);
  out.pos += len;
}

/** Exactly 4 digits, zero-padded, of 0 ≤ x < 10^4, at buf[p]. */
function quadAt(buf: Buffer, p: number, x: number): void {
  const q = x << 2;
  buf[p] = DIGIT_QUADS[q]!;
  buf[p + 1] = DIGIT_QUADS[q + 1]!;
  buf[p + 2] = DIGIT_QUADS[q + 2]!;
  buf[p + 3] = DIGIT_QUADS[q + 3]!;
}

/**
 * Decimal digits of an integer 0 ≤ x ≤ 2^53, as String(x) writes them. Timestamps (two or more a row, 16 digits)
 * make this the encoder's hottest number path: the low digits go in groups of four from a table, so a timestamp
 * costs three divisions and no allocation (String(x) of a 16-digit number costs ~130 ns here).
 */
function putUint(out: ByteSink, x: number): void {
  if (x < 100000000) {
    putSmall(out, x);
    return;
  }
  let hi = Math.floor(x / 1e8);
  let lo = x - hi * 1e8;
  // The division may round to the neighbouring integer; products and differences of these integers are exact.
  if (lo < 0) {
    hi--;
    lo += 1e8;
  } else if (lo >= 1e8) {
    hi++;
    lo -= 1e8;
  }
  // hi < 2^53 / 10^8 < 10^8: at most 4 leading digits, then 4 padded ones.
  const top = Math.floor(hi / 10000);
  const lead = top > 0 ? digitCount(top) + 4 : digitCount(hi);
  out.reserve(lead + 8);
  const buf = out.buf;
  const p = out.pos;
  if (top > 0) {
    digitsBefore(buf, p + lead - 4, top, lead - 4);
    quadAt(buf, p + lead - 4, hi - top * 10000);
  } else {
    digitsBefore(buf, p + lead, hi, lead);
  }
  const a = Math.floor(lo / 10000);
  quadAt(buf, p + lead, a);
  quadAt(buf, p + lead + 4, lo - a * 10000);
  out.pos = p + lead + 8;
}

/** An integer with |x| ≤ 2^53 as String(x) writes it (-0 as 0). */
function putInt(out: ByteSink, x: number): void {
  if (x < 0) {
    putByte(out, 45);
    x = -x;
  }
  putUint(out, x);
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6];

/**
 * A non-integer with at most 6 decimals and fewer than 15 significant digits (prices, amounts, rates), written as
 * String(x) would: false (nothing written) for any other number. Exact: `n / 10^k === a` holds only if the decimal
 * n·10^-k rounds to a, and a decimal of at most 15 significant digits is the only one that does (doubles carry
 * 15.95 digits), so it is the shortest round-trip form ECMAScript's Number::toString prints; for 1e-6 ≤ |x| < 1e21
 * that form has no exponent. test/ilp-encoder.unit.test.ts compares it with String(x) on many values.
 */
function putDecimal(out: ByteSink, x: number): boolean {
  const a = x < 0 ? -x : x;
  if (!(a < 1e8)) return false;
  for (let k = 1; k <= 6; k++) {
    const scale = POW10[k]!;
    const n = Math.round(a * scale);
    if (n / scale !== a) continue;
    const ip = Math.floor(a);
    let frac = n - ip * scale;
    let digits = k;
    // The smallest k has no trailing zero; this only guards the reasoning.
    while (frac % 10 === 0 && digits > 0) {
      frac /= 10;
      digits--;
    }
    if (x < 0) putByte(out, 45);
    putSmall(out, ip);
    if (digits === 0) return true;
    out.reserve(1 + digits);
    out.buf[out.pos] = 46; // .
    out.pos += 1 + digits;
    digitsBefore(out.buf, out.pos, frac, digits);
    return true;
  }
  return false;
}

/** A finite number exactly as String(x) (and so the official client) writes it. */
function putNumber(out: ByteSink, x: number): void {
  if (Number.isInteger(x)) {
    if (x <= Number.MAX_SAFE_INTEGER && x >= -Number.MAX_SAFE_INTEGER) {
      putInt(out, x);
      return;
    }
  } else if (putDecimal(out, x)) {
    return;
  }
  putAscii(out, String(x));
}

/** A symbol value's checks and its `,name=value` bytes (slow path: PrefixNode caches the result). */
function putSymbol(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value !== 'string') throw enc.invalid(column, value, 'must be a string');
  if (value.length === 0) throw enc.invalid(column, value, 'must not be empty');
  if (value.length > MAX_SYMBOL_CHARS) throw enc.invalid(column, value, `is longer than ${MAX_SYMBOL_CHARS} characters`);
  if (column.vocabulary !== undefined && !column.vocabulary.has(value)) throw enc.notInVocabulary(column, value);
  putBytes(out, column.prefix);
  if (putText(out, value, SYMBOL_ESCAPES) < 0) throw enc.invalid(column, value, TEXT_RULE);
}

function putVarchar(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value !== 'string') throw enc.invalid(column, value, 'must be a string');
  if (value.length > MAX_VARCHAR_CHARS) throw enc.invalid(column, value, `is longer than ${MAX_VARCHAR_CHARS} characters`);
  if (column.vocabulary !== undefined && !column.vocabulary.has(value)) throw enc.notInVocabulary(column, value);
  putByte(out, 34);
  if (putText(out, value, QUOTED_ESCAPES) < 0) throw enc.invalid(column, value, TEXT_RULE);
  putByte(out, 34);
}

function putDouble(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value !== 'number') throw enc.invalid(column, value, 'must be a number');
  // NaN and ±Infinity are stored as NULL by QuestDB: almost always an upstream bug, so we refuse them.
  if (!Number.isFinite(value)) throw enc.invalid(column, value, 'must be finite (NaN and Infinity are rejected)');
  putNumber(out, value);
}

function putFloat(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value !== 'number') throw enc.invalid(column, value, 'must be a number');
  if (!Number.isFinite(value)) throw enc.invalid(column, value, 'must be finite (NaN and Infinity are rejected)');
  // QuestDB narrows to 32-bit float; an overflow would be stored as NULL without any error.
  if (!Number.isFinite(Math.fround(value))) throw enc.invalid(column, value, 'is outside the 32-bit FLOAT range');
  putNumber(out, value);
}

function putLong(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw enc.invalid(column, value, 'must be a safe integer (use a bigint beyond 2^53)');
    putInt(out, value);
  } else if (typeof value === 'bigint') {
    if (value > LONG_MAX || value < -LONG_MAX) throw enc.invalid(column, value, 'is outside the LONG range');
    putAscii(out, value.toString());
  } else {
    throw enc.invalid(column, value, 'must be an integer number or bigint');
  }
  putByte(out, 105); // i
}

function putInt32(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value > INT_MAX || value < -INT_MAX) throw enc.invalid(column, value, 'must be an integer within ±2147483647');
    putInt(out, value);
  } else if (typeof value === 'bigint') {
    if (value > BigInt(INT_MAX) || value < -BigInt(INT_MAX)) throw enc.invalid(column, value, 'must be an integer within ±2147483647');
    putAscii(out, value.toString());
  } else {
    throw enc.invalid(column, value, 'must be an integer number or bigint');
  }
  putByte(out, 105); // i
}

function putBoolean(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (value === true) putByte(out, 116); // t
  else if (value === false) putByte(out, 102); // f
  else throw enc.invalid(column, value, 'must be a boolean');
}

function putTimestamp(out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown): void {
  if (typeof value === 'number') {
    // Every non-negative safe integer is before 2262, so the upper bound needs no check here.
    if (!Number.isSafeInteger(value) || value < 0) throw enc.invalid(column, value, TIMESTAMP_RULE);
    putUint(out, value);
  } else if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_TIMESTAMP_MICROS) throw enc.invalid(column, value, TIMESTAMP_RULE);
    putAscii(out, value.toString());
  } else {
    throw enc.invalid(column, value, TIMESTAMP_RULE);
  }
  putByte(out, 116); // t
}

/** The designated timestamp: microseconds in, nanoseconds out (ILP's default precision). */
function putDesignated(out: ByteSink, enc: RowEncoder, value: unknown): void {
  // Appending digits is exact where multiplying a number by 1000 could leave the safe-integer range.
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw enc.badTimestamp(value);
    putUint(out, value);
    if (value === 0) return;
  } else if (typeof value === 'bigint') {
    if (value < 0n || value > MAX_TIMESTAMP_MICROS) throw enc.badTimestamp(value);
    putAscii(out, value.toString());
    if (value === 0n) return;
  } else {
    throw enc.badTimestamp(value);
  }
  out.reserve(3);
  const buf = out.buf;
  buf[out.pos] = 48;
  buf[out.pos + 1] = 48;
  buf[out.pos + 2] = 48;
  out.pos += 3;
}

type FieldWriter = (out: ByteSink, enc: RowEncoder, column: CompiledColumn, value: unknown) => void;

/** Field writers by Kind (symbols are written by putSymbol). */
const FIELD: readonly (FieldWriter | undefined)[] = [
  undefined,
  putVarchar,
  putDouble,
  putFloat,
  putLong,
  putInt32,
  putBoolean,
  putTimestamp,
];

const HELPERS = { putBytes, putByte, putDesignated, FIELD };

/** @internal For tests: how a number is written into ILP (String(x) for every finite x). */
export function formatNumber(x: number): string {
  const out = new ByteSink(64);
  putNumber(out, x);
  return out.buf.toString('latin1', 0, out.pos);
}

function compileColumn(column: ColumnDef): CompiledColumn {
  const kind = KIND_BY_TYPE[column.type];
  if (kind === undefined) throw new Error(`column ${column.name}: unsupported type ${String(column.type)}`);
  return {
    name: column.name,
    type: column.type,
    kind,
    required: column.required === true,
    vocabulary: column.values ? new Set(column.values) : undefined,
    prefix: Buffer.from(`,${column.name}=`, 'latin1'),
  };
}

function invalidSchema(table: TableDef, reason: string): TradewatchError {
  return new TradewatchError(ErrorCodes.INVALID_CONFIG, `table ${table.name}: ${reason}`, { table: table.name });
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
