import type { ColumnDef, TableDef } from '../../packages/sdk/src/schema/index.js';
import type { SqlClient } from '../../packages/sdk/src/storage/index.js';

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `check` every 100 ms; throws with `describe()` (the state worth seeing) after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, describe: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await sleep(100);
  }
}

/** Rows of a test table and its distinct `id`s: equal counts mean no row was stored twice. */
export async function counts(sql: SqlClient, table: string): Promise<{ rows: number; ids: number }> {
  const [row] = (await sql.query(`SELECT count() n, count_distinct(id) ids FROM ${table}`)).dataset;
  return { rows: Number(row?.[0] ?? 0), ids: Number(row?.[1] ?? 0) };
}

/** WAL applies asynchronously: wait until the rows are visible, then a little longer so extras would show too. */
export async function waitForRows(
  sql: SqlClient,
  table: string,
  expected: number,
  { timeoutMs = 30_000, settleMs = 300 } = {},
): Promise<{ rows: number; ids: number }> {
  let last = { rows: -1, ids: -1 };
  await waitFor(async () => (last = await counts(sql, table)).rows >= expected, timeoutMs, () => `${table}: ${JSON.stringify(last)}, expected ${expected}`);
  await sleep(settleMs);
  return counts(sql, table);
}

/** A small test table definition: designated `ts` plus the given columns, WAL-style dedup on `dedupKeys`. */
export function tableDef(name: string, columns: readonly [string, ColumnDef['type']][], dedupKeys: readonly string[] = ['ts', 'id']): TableDef {
  return {
    name,
    group: 'generic',
    description: 'test table',
    timestamp: 'ts',
    columns: [{ name: 'ts', type: 'TIMESTAMP', description: '', required: true }, ...columns.map(([n, type]) => ({ name: n, type, description: '' }))],
    partitionBy: 'DAY',
    ttl: { value: 1, unit: 'DAYS' },
    dedupKeys,
  };
}
