import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Sender } from '@questdb/nodejs-client';
import { seededRandom } from '../packages/sdk/src/common/random.js';
import { describeValue, ErrorCodes, TradewatchError } from '../packages/sdk/src/common/errors.js';
import type { TableDef } from '../packages/sdk/src/schema/types.js';
import { ByteSink, encoderFor, formatNumber, MAX_PREFIX_NODES, MAX_SYMBOL_CHARS, MAX_VARCHAR_CHARS, RowEncoder } from '../packages/sdk/src/storage/ilp-encoder.js';

/** Every column type, symbols interleaved with fields, so schema order vs. ILP order is exercised. */
const allTypes: TableDef = {
  name: 'enc_all',
  group: 'generic',
  description: 'encoder fixture',
  timestamp: 'ts',
  columns: [
    { name: 'ts', type: 'TIMESTAMP', description: '', required: true },
    { name: 'exchange', type: 'SYMBOL', description: '' },
    { name: 'note', type: 'VARCHAR', description: '' },
    { name: 'px', type: 'DOUBLE', description: '' },
    { name: 'market', type: 'SYMBOL', description: '' },
    { name: 'ratio', type: 'FLOAT', description: '' },
    { name: 'qty', type: 'LONG', description: '' },
    { name: 'n', type: 'INT', description: '' },
    { name: 'ok', type: 'BOOLEAN', description: '' },
    { name: 'sent_at', type: 'TIMESTAMP', description: '' },
  ],
  partitionBy: 'DAY',
  ttl: { value: 1, unit: 'DAYS' },
  dedupKeys: ['ts'],
};

const strict: TableDef = {
  name: 'enc_strict',
  group: 'generic',
  description: 'validation fixture',
  timestamp: 'ts',
  columns: [
    { name: 'ts', type: 'TIMESTAMP', description: '', required: true },
    { name: 'service', type: 'SYMBOL', description: '', required: true },
    { name: 'side', type: 'SYMBOL', description: '', values: ['buy', 'sell'] },
    { name: 'status', type: 'VARCHAR', description: '', values: ['open', 'closed'] },
    { name: 'note', type: 'VARCHAR', description: '' },
    { name: 'px', type: 'DOUBLE', description: '' },
    { name: 'ratio', type: 'FLOAT', description: '' },
    { name: 'qty', type: 'LONG', description: '' },
    { name: 'n', type: 'INT', description: '' },
    { name: 'ok', type: 'BOOLEAN', description: '' },
    { name: 'sent_at', type: 'TIMESTAMP', description: '' },
  ],
  partitionBy: 'DAY',
  ttl: { value: 1, unit: 'DAYS' },
  dedupKeys: ['ts', 'service'],
};

const prng = seededRandom;

const PIECES = [
  'a', 'Z', '0', '_', '-', '/', ':', '.', ' ', ',', '=', '\\', '"', '\n', '\r', '\t', "'", '\\\\', '\\n', '\u0001', '\u007f',
  'BTC/USDT:USDT', 'é', 'e\u0301', 'ñ', 'Ω', '€', '漢字', '中文', 'カタカナ', '한국어', '😀', '👩‍👩‍👧', '🇯🇵', '\u{1F680}',
  '\u200b', '\ufeff', '\uffff', 'ǅ', 'ß', '"quoted"', 'a=b,c d', '\\"',
];

function pick<T>(rnd: () => number, items: readonly T[]): T {
  return items[Math.floor(rnd() * items.length)]!;
}

function randomText(rnd: () => number, maxPieces: number): string {
  const n = 1 + Math.floor(rnd() * maxPieces);
  let s = '';
  for (let i = 0; i < n; i++) s += pick(rnd, PIECES);
  return s;
}

const DOUBLES = [
  0, -0, 1, -1, 0.1, 1 / 3, -1.5e-7, 1e-300, -1e-300, 1e300, -1e300, 5e-324, -5e-324, 2.2250738585072014e-308,
  2.225073858507201e-308, Number.MAX_VALUE, -Number.MAX_VALUE, Number.MIN_VALUE, Number.EPSILON, Number.MAX_SAFE_INTEGER,
  Number.MIN_SAFE_INTEGER, 2 ** 53 + 2, 1e21, 1e-7, 123456789.12345679, 3.4028234663852886e38, 1.17549435e-38,
];
const FLOATS = [0, -0, 1.5, -2.25, 1e-45, 1e-50, 3.4028234663852886e38, -3.4028234663852886e38, 1e-7, 0.1, 65504];
const INTEGERS = [0, -0, 1, -1, 2147483647, -2147483647, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER, 1e15, -42];

function randomDouble(rnd: () => number): number {
  const r = rnd();
  if (r < 0.4) return pick(rnd, DOUBLES);
  if (r < 0.7) return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
  // Random bit patterns cover subnormals and every exponent.
  const view = new DataView(new ArrayBuffer(8));
  view.setUint32(0, Math.floor(rnd() * 2 ** 32));
  view.setUint32(4, Math.floor(rnd() * 2 ** 32));
  const v = view.getFloat64(0);
  return Number.isFinite(v) ? v : 1.5;
}

function randomFloat(rnd: () => number): number {
  return rnd() < 0.5 ? pick(rnd, FLOATS) : Math.fround((rnd() - 0.5) * 10 ** Math.floor(rnd() * 60 - 30));
}

function randomLong(rnd: () => number): number {
  return rnd() < 0.4 ? pick(rnd, INTEGERS) : Math.floor((rnd() - 0.5) * 2 * Number.MAX_SAFE_INTEGER);
}

function randomInt(rnd: () => number): number {
  return rnd() < 0.3 ? pick(rnd, [0, 1, -1, 2147483647, -2147483647]) : Math.floor((rnd() - 0.5) * 2 * 2147483647);
}

function randomTimestamp(rnd: () => number): number {
  return rnd() < 0.1 ? pick(rnd, [0, 1, Number.MAX_SAFE_INTEGER]) : 1_600_000_000_000_000 + Math.floor(rnd() * 2 ** 50);
}

type MutableRow = Record<string, unknown>;

function randomRow(rnd: () => number): MutableRow {
  const row: MutableRow = { ts: randomTimestamp(rnd) };
  const maybe = (make: () => unknown) => {
    const r = rnd();
    return r < 0.15 ? undefined : r < 0.2 ? null : make();
  };
  row.exchange = maybe(() => randomText(rnd, 4));
  row.note = maybe(() => (rnd() < 0.05 ? '' : randomText(rnd, 12)));
  row.px = maybe(() => randomDouble(rnd));
  row.market = maybe(() => randomText(rnd, 4));
  row.ratio = maybe(() => randomFloat(rnd));
  row.qty = maybe(() => randomLong(rnd));
  row.n = maybe(() => randomInt(rnd));
  row.ok = maybe(() => rnd() < 0.5);
  row.sent_at = maybe(() => randomTimestamp(rnd));
  for (const key of Object.keys(row)) if (row[key] === undefined && rnd() < 0.5) delete row[key];
  if (row.px === undefined || row.px === null) row.px = 1.25; // keep at least one column besides ts
  return row;
}

/** Feeds the same row to the official client, in the order our encoder promises: symbols, then fields. */
async function oracleLine(sender: Sender, table: TableDef, row: MutableRow): Promise<string> {
  sender.table(table.name);
  for (const column of table.columns) {
    const value = row[column.name];
    if (column.type === 'SYMBOL' && value !== undefined && value !== null) sender.symbol(column.name, value as string);
  }
  for (const column of table.columns) {
    const value = row[column.name];
    if (column.name === table.timestamp || column.type === 'SYMBOL' || value === undefined || value === null) continue;
    switch (column.type) {
      case 'VARCHAR':
        sender.stringColumn(column.name, value as string);
        break;
      case 'DOUBLE':
      case 'FLOAT':
        sender.floatColumn(column.name, value as number);
        break;
      case 'LONG':
      case 'INT':
        sender.intColumn(column.name, value as number);
        break;
      case 'BOOLEAN':
        sender.booleanColumn(column.name, value as boolean);
        break;
      case 'TIMESTAMP':
        sender.timestampColumn(column.name, value as number, 'us');
        break;
    }
  }
  await sender.at(row[table.timestamp] as number, 'us');
  const view = (sender as unknown as { buffer: { toBufferView(): Buffer | null } }).buffer.toBufferView();
  const text = view ? Buffer.from(view).toString('utf8') : '';
  sender.reset();
  return text;
}

async function withOracle<T>(fn: (sender: Sender) => Promise<T>): Promise<T> {
  // auto_flush=off: nothing is ever sent, so the address only has to parse.
  const sender = await Sender.fromConfig('http::addr=127.0.0.1:9;protocol_version=1;auto_flush=off');
  try {
    return await fn(sender);
  } finally {
    sender.reset();
    await sender.close();
  }
}

test('encoder output equals @questdb/nodejs-client byte for byte on randomized rows', async () => {
  const encoder = new RowEncoder(allTypes);
  await withOracle(async (sender) => {
    for (const seed of [1, 7, 42, 2024]) {
      const rnd = prng(seed);
      const ours: Buffer[] = [];
      const theirs: Buffer[] = [];
      for (let i = 0; i < 1500; i++) {
        const row = randomRow(rnd);
        const line = encoder.encode(row);
        const expected = await oracleLine(sender, allTypes, row);
        if (line !== expected) {
          assert.fail(`seed ${seed} row ${i} differs:\n ours:   ${JSON.stringify(line)}\n client: ${JSON.stringify(expected)}`);
        }
        ours.push(Buffer.from(line, 'utf8'));
        theirs.push(Buffer.from(expected, 'utf8'));
      }
      assert.ok(Buffer.concat(ours).equals(Buffer.concat(theirs)), `seed ${seed}: joined batches differ`);
    }
  });
});

test('encoder matches the client on hand-picked edge cases', async () => {
  const encoder = encoderFor(allTypes);
  const rows: MutableRow[] = [
    { ts: 0, px: 0 },
    { ts: 1, px: -0, ratio: -0, qty: -0, n: -0 },
    { ts: 1_700_000_000_000_001, exchange: ' ,=\\\n\r"', note: ' ,=\\\n\r"', px: 1e-300 },
    { ts: Number.MAX_SAFE_INTEGER, market: '😀漢字e\u0301', note: '👩‍👩‍👧🇯🇵', px: 5e-324, qty: Number.MAX_SAFE_INTEGER },
    { ts: 5, exchange: 'x', ok: false },
    { ts: 6, exchange: 'only-a-symbol' },
    { ts: 7, note: '', sent_at: 0 },
    { ts: 8, px: -1.5e-7, ratio: 3.4028234663852886e38, n: -2147483647, qty: Number.MIN_SAFE_INTEGER },
  ];
  await withOracle(async (sender) => {
    for (const row of rows) assert.equal(encoder.encode(row), await oracleLine(sender, allTypes, row));
  });
});

test('encoder output format: symbols first, fields in schema order, nanosecond timestamp', () => {
  const line = encoderFor(allTypes).encode({ ts: 1_700_000_000_123_456, qty: 3, market: 'BTC', px: 2.5, exchange: 'bybit' });
  assert.equal(line, 'enc_all,exchange=bybit,market=BTC px=2.5,qty=3i 1700000000123456000\n');
});

test('bigint is accepted for LONG, INT and timestamps', () => {
  const line = encoderFor(strict).encode({
    ts: 1_700_000_000_000_000n,
    service: 's',
    qty: 9_223_372_036_854_775_807n,
    n: -5n,
    sent_at: 9_223_372_036_854_775n,
  });
  assert.equal(line, 'enc_strict,service=s qty=9223372036854775807i,n=-5i,sent_at=9223372036854775t 1700000000000000000\n');
});

test('undefined and null mean "no value"; keys set to undefined are not unknown columns', () => {
  const line = encoderFor(strict).encode({ ts: 1, service: 's', px: 1, note: undefined, qty: null });
  assert.equal(line, 'enc_strict,service=s px=1 1000\n');
});

function expectInvalid(row: unknown, column: string, value: unknown, code: string = ErrorCodes.INVALID_VALUE) {
  const encoder = encoderFor(strict);
  assert.throws(
    () => encoder.encode(row as Record<string, unknown>),
    (err: unknown) => {
      assert.ok(err instanceof TradewatchError, `expected TradewatchError, got ${String(err)}`);
      assert.equal(err.code, code);
      assert.match(err.message, /enc_strict/);
      assert.ok(err.message.includes(column), `message names the column ${column}: ${err.message}`);
      if (value !== undefined) {
        assert.ok(err.message.includes(describeValue(value)), `message shows ${describeValue(value)}: ${err.message}`);
      }
      return true;
    },
  );
}

const base = { ts: 1_700_000_000_000_000, service: 'svc' };

test('validation: floats', () => {
  expectInvalid({ ...base, px: Number.NaN }, 'px', Number.NaN);
  expectInvalid({ ...base, px: Infinity }, 'px', Infinity);
  expectInvalid({ ...base, px: -Infinity }, 'px', -Infinity);
  expectInvalid({ ...base, px: '1.5' }, 'px', '1.5');
  expectInvalid({ ...base, px: 1n }, 'px', 1n);
  expectInvalid({ ...base, ratio: 1e39 }, 'ratio', 1e39);
  expectInvalid({ ...base, ratio: Number.NaN }, 'ratio', Number.NaN);
});

test('validation: integers', () => {
  expectInvalid({ ...base, qty: 1.5 }, 'qty', 1.5);
  expectInvalid({ ...base, qty: 2 ** 53 }, 'qty', 2 ** 53);
  expectInvalid({ ...base, qty: -(2n ** 63n) }, 'qty', -(2n ** 63n));
  expectInvalid({ ...base, qty: 2n ** 63n }, 'qty', 2n ** 63n);
  expectInvalid({ ...base, qty: '5' }, 'qty', '5');
  expectInvalid({ ...base, n: 2147483648 }, 'n', 2147483648);
  expectInvalid({ ...base, n: -2147483648 }, 'n', -2147483648);
  expectInvalid({ ...base, n: 0.5 }, 'n', 0.5);
  expectInvalid({ ...base, n: 2n ** 31n }, 'n', 2n ** 31n);
  expectInvalid({ ...base, ok: 1 }, 'ok', 1);
  expectInvalid({ ...base, ok: 'true' }, 'ok', 'true');
});

test('validation: text', () => {
  expectInvalid({ ...base, service: '' }, 'service', '');
  expectInvalid({ ...base, service: 'x'.repeat(MAX_SYMBOL_CHARS + 1) }, 'service', 'x'.repeat(MAX_SYMBOL_CHARS + 1));
  expectInvalid({ ...base, service: 5 }, 'service', 5);
  expectInvalid({ ...base, service: 'a\ud800b' }, 'service', 'a\ud800b');
  expectInvalid({ ...base, service: 'a\u0000b' }, 'service', 'a\u0000b');
  expectInvalid({ ...base, note: 'x'.repeat(MAX_VARCHAR_CHARS + 1) }, 'note', 'x'.repeat(MAX_VARCHAR_CHARS + 1));
  expectInvalid({ ...base, note: '\udc00' }, 'note', '\udc00');
  expectInvalid({ ...base, note: 'x\u0000' }, 'note', 'x\u0000');
  expectInvalid({ ...base, note: 12 }, 'note', 12);
  expectInvalid({ ...base, side: 'hold' }, 'side', 'hold');
  expectInvalid({ ...base, status: 'pending' }, 'status', 'pending');
  // Limits are inclusive, and escaping characters is never an error.
  const ok = encoderFor(strict).encode({ ...base, service: 's'.repeat(MAX_SYMBOL_CHARS), note: ', ="\\\n' });
  assert.ok(ok.startsWith('enc_strict,service=sss'));
});

test('validation: timestamps', () => {
  expectInvalid({ service: 's', px: 1 }, 'ts', undefined);
  expectInvalid({ ...base, ts: -1 }, 'ts', -1);
  expectInvalid({ ...base, ts: 1.5 }, 'ts', 1.5);
  expectInvalid({ ...base, ts: 2 ** 53 }, 'ts', 2 ** 53);
  expectInvalid({ ...base, ts: 9_223_372_036_854_776n }, 'ts', 9_223_372_036_854_776n);
  expectInvalid({ ...base, ts: new Date(0) }, 'ts', new Date(0));
  expectInvalid({ ...base, ts: '2024-01-01' }, 'ts', '2024-01-01');
  expectInvalid({ ...base, sent_at: -5 }, 'sent_at', -5);
  expectInvalid({ ...base, sent_at: 1.5 }, 'sent_at', 1.5);
});

test('validation: shape of the row', () => {
  expectInvalid({ ts: 1, px: 1 }, 'service', undefined);
  expectInvalid({ ts: 1, service: null, px: 1 }, 'service', undefined);
  expectInvalid({ ...base, colour: 'red' }, 'colour', 'red', ErrorCodes.UNKNOWN_COLUMN);
  expectInvalid({ ...base, colour: undefined }, 'colour', undefined, ErrorCodes.UNKNOWN_COLUMN);
  const bare: TableDef = { ...strict, name: 'enc_bare', columns: strict.columns.map((c) => ({ ...c, required: c.name === 'ts' })) };
  assert.throws(() => new RowEncoder(bare).encode({ ts: 1 }), /at least one column/);
  assert.throws(() => encoderFor(strict).encode(null as unknown as Record<string, unknown>), /must be an object/);
});

test('a table definition that cannot be encoded is refused when compiled', () => {
  assert.throws(() => new RowEncoder({ ...strict, name: 'bad name' }), /plain identifier/);
  assert.throws(() => new RowEncoder({ ...strict, timestamp: 'nope' }), /designated timestamp/);
});

test('numbers are written exactly as String(x) writes them (integer, timestamp and short-decimal fast paths)', () => {
  const rnd = prng(99);
  const values: number[] = [...DOUBLES, ...FLOATS, ...INTEGERS, 0.5, -0.5, 0.0001, 0.000001, -0.000001, 0.0000015, 1e-6, 9.999999, 99999999.5,
    99999999.999999, 1e8 + 0.5, 2 ** 31, 2 ** 31 - 1, -(2 ** 31), 1e8, 1e8 - 1, 99_999_999, 100_000_001, 1_700_000_000_000_000, 1_699_999_999_999_999,
    2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 0.1 + 0.2, 1.005, 123.456, 0.3, 2.675, 1.1, 100.25, 1e-7, 1.5e-6];
  for (let i = 0; i < 100_000; i++) {
    const digits = Math.floor(rnd() * 7);
    const magnitude = 10 ** Math.floor(rnd() * 10);
    const sign = rnd() < 0.3 ? -1 : 1;
    // Short decimals as prices and amounts are typed, values near the fast path's limits, and arbitrary doubles.
    values.push(sign * Math.round(rnd() * magnitude * 10 ** digits) / 10 ** digits);
    values.push(sign * (Math.floor(rnd() * 2 ** 53) + (rnd() < 0.5 ? 0 : rnd())));
    values.push(randomDouble(rnd), randomFloat(rnd), randomLong(rnd), randomTimestamp(rnd));
  }
  for (const x of values) {
    const expected = String(x);
    const ours = formatNumber(x);
    if (ours !== expected) assert.fail(`formatNumber(${expected}) wrote ${ours}`);
  }
});

test('symbol-prefix cache: bounded, and every row right across many distinct tuples', () => {
  const encoder = new RowEncoder(strict);
  let expectedMax = 0;
  for (let i = 0; i < 3 * MAX_PREFIX_NODES; i++) {
    const service = `svc${i % 7}`;
    const side = i % 3 === 0 ? undefined : i % 3 === 1 ? 'buy' : 'sell';
    // Mostly new tuples (i as a symbol value), some repeats, some values that need escaping.
    const value = i % 5 === 0 ? `s ${i % 11},=x` : `s${i}`;
    const row = { ts: i + 1, service: i % 2 ? service : value, side, px: i };
    const escaped = (i % 2 ? service : value).replace(/[ ,=]/g, (c) => `\\${c}`);
    const expected = `enc_strict,service=${escaped}${side ? `,side=${side}` : ''} px=${i} ${i + 1}000\n`;
    assert.equal(encoder.encode(row), expected);
    expectedMax = Math.max(expectedMax, encoder.cachedPrefixes);
  }
  assert.ok(expectedMax <= MAX_PREFIX_NODES, `cache grew to ${expectedMax} nodes`);
  assert.ok(encoder.cachedPrefixes > 0);
});

test('symbol-prefix cache never lets an invalid value through after valid ones were cached', () => {
  const encoder = new RowEncoder(strict);
  for (let i = 0; i < 100; i++) encoder.encode({ ts: 1, service: 'svc', side: i % 2 ? 'buy' : 'sell', px: 1 });
  // A value refused by the vocabulary, a wrong type, an empty or NUL value, a missing required one: still refused.
  assert.throws(() => encoder.encode({ ts: 1, service: 'svc', side: 'hold', px: 1 }), /side .*must be one of/);
  assert.throws(() => encoder.encode({ ts: 1, service: 5 as unknown as string, px: 1 }), /service .*must be a string/);
  assert.throws(() => encoder.encode({ ts: 1, service: '', px: 1 }), /must not be empty/);
  assert.throws(() => encoder.encode({ ts: 1, service: 's\u0000', px: 1 }), /U\+0000/);
  assert.throws(() => encoder.encode({ ts: 1, side: 'buy', px: 1 }), /service .*required/);
  assert.throws(() => encoder.encode({ ts: 1, service: null, px: 1 }), /service .*required/);
  // null and undefined for an optional symbol are cached apart: null counts as a known key, an unknown one is still found.
  assert.equal(encoder.encode({ ts: 1, service: 'svc', side: null, px: 1 }), 'enc_strict,service=svc px=1 1000\n');
  assert.throws(() => encoder.encode({ ts: 1, service: 'svc', side: null, px: 1, colour: 'red' }), /unknown column "colour"/);
  assert.throws(() => encoder.encode({ ts: 1, service: 'svc', side: undefined, colour: 'red', px: 1 }), /unknown column "colour"/);
  // Equal content in another string object is the same value.
  assert.equal(encoder.encode({ ts: 1, service: ['s', 'vc'].join(''), side: 'buy', px: 1 }), 'enc_strict,service=svc,side=buy px=1 1000\n');
});

test('encodeInto appends to a sink and takes a failed row back completely', () => {
  const encoder = new RowEncoder(strict);
  const sink = new ByteSink(16); // grows as needed
  encoder.encodeInto({ ts: 1, service: 'a', px: 1 }, sink);
  const before = sink.pos;
  assert.throws(() => encoder.encodeInto({ ts: 1, service: 'b', note: 'x'.repeat(500), px: 1, qty: 1.5 }, sink), /qty/);
  assert.equal(sink.pos, before);
  assert.throws(() => encoder.encodeInto({ ts: -1, service: 'c', px: 1 }, sink), /ts/);
  assert.equal(sink.pos, before);
  encoder.encodeInto({ ts: 2, service: 'd', note: 'é"\n😀', px: 0.25 }, sink);
  assert.equal(
    sink.buf.toString('utf8', 0, sink.pos),
    'enc_strict,service=a px=1 1000\nenc_strict,service=d note="é\\"\\\n😀",px=0.25 2000\n',
  );
});
