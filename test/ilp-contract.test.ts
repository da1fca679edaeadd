import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { schema } from '../packages/sdk/src/schema/index.js';
import type { TableDef } from '../packages/sdk/src/schema/types.js';
import { applySchema, createWriter, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { waitFor } from './helpers/rows.js';

/**
 * Item 15 of issue 13: the schema is the contract, and the server enforces it. A producer that names a table or a
 * column the schema does not define (a typo'd table, an extra field) must be refused by QuestDB, not silently
 * create them; and `schema apply --dry-run` reports what such producers created where auto-creation was on.
 */
const run = promisify(execFile);

/** The rogue producer: tw_fetches' columns under a typo'd name, and tw_fetches with an extra field. */
const typoTable: TableDef = { ...schema.fetches, name: 'tw_fetchez' };
const extraColumn: TableDef = { ...schema.fetches, columns: [...schema.fetches.columns, { name: 'note', type: 'VARCHAR', description: '' }] };
const fetchRow = (id: number) => ({ ts: Date.now() * 1000 + id, service: 'rogue', instance: 'test', exchange: 'bybit', dataset: 'open_interest', symbol: 'BTC/USDT:USDT', status: 'ok', latency_ms: 12, records: id });

async function produce(url: string, spoolDir: string) {
  const writer = createWriter({ url, service: 'rogue', spoolDir, flushIntervalMs: 50 });
  writer.write(schema.fetches, fetchRow(1));
  writer.write(typoTable, fetchRow(2));
  writer.write(extraColumn, { ...fetchRow(3), note: 'not in the schema' });
  await writer.close();
  return writer.stats();
}

/** The QuestDB settings compose gives its questdb service, as server.conf keys (QDB_LINE_X_Y → line.x.y). */
function composeLineSettings(): Record<string, string> {
  const doc = parseYaml(readFileSync('deploy/docker-compose.yml', 'utf8'), { merge: true }) as { services: Record<string, { environment?: Record<string, string> }> };
  const env = doc.services.questdb!.environment ?? {};
  return Object.fromEntries(Object.entries(env).filter(([key]) => key.startsWith('QDB_LINE_AUTO_CREATE')).map(([key, value]) => [key.slice(4).toLowerCase().replace(/_/g, '.'), String(value)]));
}

for (const [label, options] of [
  ["tradewatch's managed QuestDB", { ilpAutoCreate: false }],
  ["QuestDB configured as compose configures it", { extraConfig: composeLineSettings() }],
] as const) {
  test(`${label} refuses a typo'd table and an extra column over ILP; the writer quarantines them with QuestDB's error`, async (t) => {
    if ('extraConfig' in options) assert.deepEqual(options.extraConfig, { 'line.auto.create.new.tables': 'false', 'line.auto.create.new.columns': 'false' });
    const server = await useQuestDb(t, options);
    const sql = new SqlClient({ url: server.httpUrl });
    await applySchema(sql);
    const spoolDir = await mkdtemp(join(tmpdir(), 'tradewatch-contract-'));
    t.after(() => rm(spoolDir, { recursive: true, force: true }));
    const stats = await produce(server.httpUrl, spoolDir);
    assert.equal(stats.rowsRejected, 2, 'both rows outside the contract are refused');
    assert.equal(stats.rowsWritten, stats.rowsAccepted - 2, "the rest (the row within it, the writer's health row) is stored");
    const files = await readdir(join(spoolDir, 'quarantine'));
    const entries = (await Promise.all(files.map((f) => readFile(join(spoolDir, 'quarantine', f), 'utf8')))).join('').trim().split('\n').map((l) => JSON.parse(l) as { table: string; error: string; status: number });
    assert.deepEqual(entries.map((e) => e.table).sort(), ['tw_fetches', 'tw_fetchez']);
    for (const e of entries) {
      assert.equal(e.status, 400);
      assert.ok(e.error.length > 0, 'QuestDB gave a reason');
    }
    const tables = await sql.rows<{ table_name: string }>("SELECT table_name FROM tables() WHERE table_name = 'tw_fetchez'");
    assert.equal(tables.length, 0, 'no table was created');
    const note = await sql.rows<{ column: string }>(`SELECT "column" FROM table_columns('tw_fetches') WHERE "column" = 'note'`);
    assert.equal(note.length, 0, 'no column was created');
    const report = await applySchema(sql, { dryRun: true });
    assert.deepEqual(report.drift, []);
  });
}

test('schema apply --dry-run reports the tables and columns a producer created that the schema does not define', async (t) => {
  // A server with QuestDB's default (auto-creation on), as every tradewatch QuestDB was before.
  const server = await useQuestDb(t, { ilpAutoCreate: true });
  const sql = new SqlClient({ url: server.httpUrl });
  await applySchema(sql);
  const spoolDir = await mkdtemp(join(tmpdir(), 'tradewatch-contract-'));
  t.after(() => rm(spoolDir, { recursive: true, force: true }));
  const stats = await produce(server.httpUrl, spoolDir);
  assert.equal(stats.rowsRejected, 0, 'auto-creation accepted everything');
  await waitFor(async () => (await sql.rows("SELECT 1 FROM tables() WHERE table_name = 'tw_fetchez'")).length === 1, 30_000, () => 'tw_fetchez created');
  const env = { ...process.env, TRADEWATCH_QUESTDB_URL: server.httpUrl };
  const result = await run('node', ['packages/cli/bin/tradewatch.js', 'schema', 'apply', '--dry-run'], { env, timeout: 60_000 }).then(
    () => assert.fail('drift must make the dry run exit 1'),
    (err: { code: number; stdout: string }) => err,
  );
  assert.equal(result.code, 1);
  assert.match(result.stdout, /^drift +tw_fetchez: table is not defined by the schema/m);
  assert.match(result.stdout, /^drift +tw_fetches\.note: column is not defined by the schema/m);
  assert.match(result.stdout, /2 drift\(s\) left as they are/);
});
