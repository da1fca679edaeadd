/**
 * Storage tiers on real QuestDB: day partitions older than the threshold are converted to Parquet, the active one
 * never; the data reads back the same; rows replayed into a converted day are deduplicated, new ones added.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { schema } from '../packages/sdk/src/schema/index.js';
import { applySchema, compactPartitions, createWriter, SqlClient, waitForParquet } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { waitFor } from './helpers/rows.js';

const server = await useQuestDb();
const sql = new SqlClient({ url: server.httpUrl });
const table = schema.openInterest;
await applySchema(sql, { tables: [table], views: [] });

const DAY_US = 86_400_000_000;
const todayUs = Math.floor(Date.now() / 86_400_000) * DAY_US;
/** 2,000 rows a day, three days ago, two days ago and today (the active partition). */
const days = [todayUs - 3 * DAY_US, todayUs - 2 * DAY_US, todayUs];
const rowOf = (dayUs: number, i: number) => ({
  ts: dayUs + i * 40_000_000,
  exchange: ['binanceusdm', 'bybit'][i % 2]!,
  symbol: `C${i % 25}/USDT:USDT`,
  service: 'compaction-test',
  open_interest: Math.round((84_000 + i * 0.37) * 1000) / 1000,
  open_interest_value: Math.round((84_000 + i * 0.37) * 67_000.5 * 100) / 100,
});

async function write(rows: Iterable<Record<string, unknown>>): Promise<void> {
  const writer = createWriter({ url: server.httpUrl, service: 'compaction-test' });
  for (const row of rows) writer.write(table, row as never);
  await writer.close();
}
const fingerprint = async () =>
  (await sql.rows<{ n: number; oi: number; value: number; first: string; last: string; symbols: number }>(
    `SELECT count() n, sum(open_interest) oi, sum(open_interest_value) value, min(ts) first, max(ts) last, count_distinct(symbol) symbols FROM ${table.name}`,
  ))[0]!;
const partitions = () =>
  sql.rows<{ name: string; isParquet: boolean; active: boolean; numRows: number }>(`SELECT name, isParquet, active, numRows FROM table_partitions('${table.name}')`);

test('partitions older than the threshold go to Parquet, smaller and reading back the same; the active one stays native', async () => {
  await write(days.flatMap((d) => Array.from({ length: 2000 }, (_, i) => rowOf(d, i))));
  await waitFor(async () => Number((await fingerprint()).n) === 6000, 30_000, () => 'rows visible');
  const before = await fingerprint();

  const report = await compactPartitions(sql, { olderThanDays: 1, tables: [table] });
  assert.deepEqual(report.converting.map((p) => p.rows), [2000, 2000], JSON.stringify(report));
  const converted = await waitForParquet(sql, report.converting, { timeoutMs: 60_000 });
  assert.equal(converted.length, 2);
  for (const p of converted) assert.ok(p.parquetBytes < p.bytes / 2, `${p.partition}: ${p.bytes} native → ${p.parquetBytes} Parquet`);

  const parts = await partitions();
  assert.deepEqual(parts.map((p) => p.isParquet), [true, true, false], JSON.stringify(parts));
  assert.equal(parts.at(-1)!.active, true);
  assert.deepEqual(await fingerprint(), before, 'the same rows, values and timestamps');

  const again = await compactPartitions(sql, { olderThanDays: 1, tables: [table] });
  assert.deepEqual(again.converting, [], 'a second run has nothing to do');
  assert.equal(again.parquetPartitions, 2);
  const dry = await compactPartitions(sql, { olderThanDays: 0, tables: [table], dryRun: true });
  assert.deepEqual(dry.converting, [], 'the active partition is never a candidate');
});

test('a replay into a converted day is deduplicated and new rows still land there', async () => {
  const oldest = days[0]!;
  const replayed = Array.from({ length: 500 }, (_, i) => rowOf(oldest, i));
  const revised = { ...rowOf(oldest, 500), open_interest: 1 };
  const added = Array.from({ length: 10 }, (_, i) => ({ ...rowOf(oldest, i), ts: oldest + 23 * 3_600_000_000 + i }));
  assert.ok(added.every((r) => r.ts < oldest + DAY_US), 'the added rows belong to the same day');
  await write([...replayed, revised, ...added]);
  const dayName = new Date(oldest / 1000).toISOString().slice(0, 10);
  await waitFor(
    async () => Number((await sql.rows<{ n: number }>(`SELECT count() n FROM ${table.name} WHERE ts IN '${dayName}'`))[0]!.n) === 2010,
    30_000,
    () => 'the 10 new rows visible',
  );
  const [dup] = await sql.rows<{ n: number; keys: number }>(
    `SELECT count() n, count_distinct(concat(ts, exchange, symbol)) keys FROM ${table.name}`,
  );
  assert.equal(Number(dup!.n), 6010);
  assert.equal(Number(dup!.keys), 6010, 'no row stored twice');
  const [upserted] = await sql.rows<{ open_interest: number }>(
    `SELECT open_interest FROM ${table.name} WHERE ts = ${revised.ts}::timestamp AND exchange = '${revised.exchange}' AND symbol = '${revised.symbol}'`,
  );
  assert.equal(Number(upserted!.open_interest), 1, 'the replayed row with a new value replaced the old one');
  // QuestDB rewrites the Parquet partition with the new rows: it stays in Parquet, no second compaction needed.
  assert.deepEqual((await partitions()).map((p) => p.isParquet), [true, true, false]);
});
