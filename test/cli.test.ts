import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';

const run = promisify(execFile);
const server = await useQuestDb();
const sql = new SqlClient({ url: server.httpUrl });
const env = { ...process.env, TRADEWATCH_QUESTDB_URL: server.httpUrl, TRADEWATCH_WRITER_SPOOL_DIR: `${server.dataRoot ?? '/tmp'}-spool` };

const tradewatch = (...args: string[]) => run('node', ['packages/cli/bin/tradewatch.js', ...args], { env, timeout: 60_000 });

test('schema apply creates everything once, then reports nothing to change', async () => {
  const first = await tradewatch('schema', 'apply');
  assert.match(first.stdout, /create-table +tw_fetches/);
  assert.match(first.stdout, /schema v\d+ on .*: \d+ change\(s\) ran, 0 of \d+ objects already current/);
  const second = await tradewatch('schema', 'apply');
  assert.match(second.stdout, /: 0 change\(s\) ran, (\d+) of \1 objects already current/);
});

test('storage compact converts nothing young, names a bad age, and usage lists every table', async () => {
  await tradewatch('schema', 'apply');
  const dry = await tradewatch('storage', 'compact', '--dry-run');
  assert.match(dry.stdout, /would convert 0 partition\(s\) older than 1 day\(s\) \(0\.0 MB native\); 0 already in Parquet/);
  await assert.rejects(tradewatch('storage', 'compact', '--storage-parquet-after-days', '-1'), (err: { code: number; stderr: string }) => {
    assert.equal(err.code, 2);
    assert.match(err.stderr, /storage\.parquetAfterDays.*TRADEWATCH_STORAGE_PARQUET_AFTER_DAYS.*--storage-parquet-after-days.*-1.*\[TW_INVALID_CONFIG\]/s);
    return true;
  });
  const usage = await tradewatch('storage', 'usage');
  assert.match(usage.stdout, /^tw_open_interest +\d+\/\d+ +[\d,]+ +[\d.]+ MB +[\d.]+ MB$/m);
  assert.match(usage.stdout, /tables: [\d.]+ MB native, [\d.]+ MB Parquet/);
});

test('a bad setting is refused with its name and value, exit status 2', async () => {
  await assert.rejects(
    run('node', ['packages/cli/bin/tradewatch.js', 'schema', 'apply'], { env: { ...env, TRADEWATCH_QUESTDB_URL: 'not a url' } }),
    (err: { code: number; stderr: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /questdb\.url.*TRADEWATCH_QUESTDB_URL.*--questdb-url.*"not a url".*\[TW_INVALID_CONFIG\]/s);
      return true;
    },
  );
});

// The demo's run, stop and stored rows: test/demo.test.ts (as `npm run demo`, stopped by Ctrl-C).

test('query prints a table, exports CSV through QuestDB, and the web console is served', async () => {
  await sql.execute(
    `INSERT INTO tw_open_interest (ts, exchange, symbol, open_interest) VALUES ('2026-11-20T00:00:00.000000Z', 'bybit', 'BTC/USDT:USDT', 1234.5)`,
  );
  const query = "SELECT exchange, symbol, open_interest FROM tw_open_interest WHERE exchange = 'bybit' AND ts = '2026-11-20T00:00:00.000000Z'";
  let table = '';
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline && !table.includes('1234.5')) {
    table = (await tradewatch('query', query)).stdout;
  }
  assert.match(table, /^exchange\s+symbol\s+open_interest\n-+\s+-+\s+-+\nbybit\s+BTC\/USDT:USDT\s+1234\.5\n$/);
  const csv = (await tradewatch('query', '--format', 'csv', query)).stdout;
  // RFC 4180 line ends, as QuestDB writes them.
  assert.equal(csv.trim(), '"exchange","symbol","open_interest"\r\n"bybit","BTC/USDT:USDT",1234.5');
  await assert.rejects(tradewatch('query', 'SELECT nope FROM tw_open_interest'), /Invalid column: nope|TW_QUESTDB_SQL_ERROR/);
  // US6: custom SQL and CSV export in QuestDB's own web console.
  const page = await fetch(`${server.httpUrl}/`);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /<html/i);
});
