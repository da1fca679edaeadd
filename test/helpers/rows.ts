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

/**
 * A barrier for absence checks: resolves once QuestDB has applied every WAL transaction committed so far to each of
 * `tables` (wal_tables(): writerTxn caught up with sequencerTxn), so a row that was committed, a duplicate say, is
 * visible now. Call it after the writers involved acknowledged (flush, close, a process exit); then a count that
 * shows no extra row proves there is none, without a "wait a little and see" pause. Throws on a suspended table.
 */
export async function walApplied(sql: SqlClient, tables: readonly string[], timeoutMs = 60_000): Promise<void> {
  const list = tables.map((t) => `'${t}'`).join(', ');
  let last = '';
  await waitFor(
    async () => {
      const rows = await sql.rows<{ name: string; suspended: boolean; writerTxn: number; sequencerTxn: number }>(
        `SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables() WHERE name IN (${list})`,
      );
      last = JSON.stringify(rows);
      const suspended = rows.find((r) => r.suspended);
      if (suspended) throw new Error(`table ${suspended.name} is suspended: ${last}`);
      return rows.length === tables.length && rows.every((r) => r.writerTxn >= r.sequencerTxn);
    },
    timeoutMs,
    () => `WAL not applied: ${last}`,
  );
}

/**
 * A barrier for reads that may go through rollups (dashboard panels): resolves once QuestDB has applied every WAL
 * transaction committed so far, of every table and materialized view, and every materialized view has been refreshed
 * from its base table's latest transaction (materialized_views().refresh_base_table_txn caught up with the base's
 * wal_tables().sequencerTxn). Applied rows are not enough: a view refreshes after its base table's transaction is
 * applied, and a view of a view after that (a loaded run read an hourly rollup that did not yet hold rows its base
 * table showed). The state must hold at two checks in a row: the two functions are read one after the other, and a
 * refresh between them could otherwise pass unseen. Call it once the writers involved acknowledged (flush, close).
 * Throws on a suspended table or an invalid view.
 */
export async function settled(sql: SqlClient, timeoutMs = 60_000): Promise<void> {
  let last = '';
  let previous = '';
  await waitFor(
    async () => {
      const views = await sql.rows<{ view_name: string; base_table_name: string; view_status: string; invalidation_reason: string | null; refresh_base_table_txn: number }>(
        'SELECT view_name, base_table_name, view_status, invalidation_reason, refresh_base_table_txn FROM materialized_views() ORDER BY view_name',
      );
      const wal = await sql.rows<{ name: string; suspended: boolean; writerTxn: number; sequencerTxn: number }>('SELECT name, suspended, writerTxn, sequencerTxn FROM wal_tables() ORDER BY name');
      last = JSON.stringify({ views, wal });
      const suspended = wal.find((r) => r.suspended);
      if (suspended) throw new Error(`table ${suspended.name} is suspended: ${last}`);
      const invalid = views.find((v) => v.view_status === 'invalid');
      if (invalid) throw new Error(`materialized view ${invalid.view_name} is invalid (${invalid.invalidation_reason}): ${last}`);
      const committed = new Map(wal.map((r) => [r.name, Number(r.sequencerTxn)]));
      const done = wal.every((r) => Number(r.writerTxn) >= Number(r.sequencerTxn)) && views.every((v) => Number(v.refresh_base_table_txn) >= (committed.get(v.base_table_name) ?? 0));
      const stable = done && last === previous;
      previous = done ? last : '';
      return stable;
    },
    timeoutMs,
    () => `not settled (WAL applied, views refreshed): ${last}`,
  );
}

/**
 * WAL applies asynchronously: wait until the rows are visible, then for the WAL barrier (walApplied), so that extras
 * committed so far would show too. Call it once the writer acknowledged everything it will send.
 */
export async function waitForRows(
  sql: SqlClient,
  table: string,
  expected: number,
  { timeoutMs = 30_000 } = {},
): Promise<{ rows: number; ids: number }> {
  let last = { rows: -1, ids: -1 };
  await waitFor(async () => (last = await counts(sql, table)).rows >= expected, timeoutMs, () => `${table}: ${JSON.stringify(last)}, expected ${expected}`);
  await walApplied(sql, [table], timeoutMs);
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
