import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tables, type ColumnDef, type TableDef } from '../packages/sdk/src/schema/index.js';
import { applySchema, createWriter, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';

// The schema is the contract for producers in any language: the official Python client writes every table.
const PYTHON = '.venv/bin/python';

const server = await useQuestDb(undefined, { schema: true });
const sql = new SqlClient({ url: server.httpUrl });
await applySchema(sql);

/** QuestDB renders TIMESTAMP as ISO with microseconds; Date.parse would drop them. */
function isoToMicros(iso: string): number {
  const match = /^(.*T\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z$/.exec(iso);
  assert.ok(match, `ISO timestamp: ${iso}`);
  return Date.parse(`${match[1]}Z`) * 1000 + Number((match[2] ?? '').padEnd(6, '0'));
}

const T0 = Date.UTC(2026, 10, 27, 8, 30) * 1000;

/** A valid value for a column, distinct per table so a mix-up between tables would show. */
function sample(table: TableDef, column: ColumnDef, index: number): string | number | boolean {
  if (column.values) return column.values[index % column.values.length]!;
  switch (column.type) {
    case 'SYMBOL':
      return `${column.name}-${index}`;
    case 'VARCHAR':
      return `${table.name} ${column.name} — ünïcode ✓ "quoted", comma`;
    case 'DOUBLE':
      return 1234.5678 + index;
    case 'FLOAT':
      return 0.5 + index;
    case 'LONG':
      return 9_007_199_254_740 + index;
    case 'INT':
      return 42 + index;
    case 'BOOLEAN':
      return index % 2 === 0;
    case 'TIMESTAMP':
      return T0 - 3_600_000_000 + index;
  }
}

/** One row per table with every column set, as both producers send it. */
function contractRows(base: number) {
  return tables.map((table, index) => {
    const symbols: Record<string, string> = {};
    const columns: Record<string, { type: string; value: unknown }> = {};
    for (const column of table.columns) {
      if (column.name === table.timestamp) continue;
      const value = sample(table, column, index);
      if (column.type === 'SYMBOL') symbols[column.name] = String(value);
      else columns[column.name] = { type: column.type, value };
    }
    return { table: table.name, ts: base + index, symbols, columns };
  });
}

/** Reads each table's row back and compares every column with what was sent. */
async function verifyRows(base: number, producer: string) {
  for (const [index, table] of tables.entries()) {
    const deadline = Date.now() + 20_000;
    let got: Record<string, unknown>[] = [];
    while (Date.now() < deadline && got.length === 0) {
      got = await sql.rows(`SELECT * FROM ${table.name} WHERE ${table.timestamp} = ${base + index}::timestamp`);
      if (got.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(got.length, 1, `${table.name}: the ${producer} row is visible`);
    const row = got[0]!;
    for (const column of table.columns) {
      if (column.name === table.timestamp) continue;
      const expected = sample(table, column, index);
      const actual = row[column.name];
      if (column.type === 'TIMESTAMP') {
        assert.equal(isoToMicros(String(actual)), expected, `${table.name}.${column.name}`);
      } else if (column.type === 'FLOAT') {
        assert.ok(Math.abs(Number(actual) - Number(expected)) < 1e-3, `${table.name}.${column.name}`);
      } else {
        assert.equal(actual, expected, `${table.name}.${column.name}`);
      }
    }
  }
}

test('rows written by the Python questdb client land in every table with the schema types', async () => {
  assert.ok(existsSync(PYTHON), `${PYTHON} missing: run npm test (scripts/setup.sh installs the Python client)`);
  const rows = contractRows(T0);
  const conf = `http::addr=${new URL(server.httpUrl).host};`;
  const out = execFileSync(PYTHON, ['test/fixtures/python_producer.py'], {
    input: JSON.stringify({ conf, rows }),
    encoding: 'utf8',
  });
  assert.equal(out.trim(), String(rows.length));
  await verifyRows(T0, 'Python');
});

test('round trip of every table through the tradewatch writer', async () => {
  const base = T0 + 1_000_000;
  const writer = createWriter({ url: server.httpUrl, service: 'contract' });
  for (const row of contractRows(base)) {
    const values = Object.fromEntries(Object.entries(row.columns).map(([name, c]) => [name, c.value]));
    writer.write(row.table, { ts: row.ts, ...row.symbols, ...values });
  }
  await writer.close();
  assert.equal(writer.stats().rowsWritten, tables.length);
  await verifyRows(base, 'writer');
});
