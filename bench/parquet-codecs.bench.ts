// Which compression for Parquet partitions: 30 days of the reference workload's open interest converted with each
// codec (the schema's encodings otherwise), then the 30-day raw query for one market timed, and the size read from
// QuestDB's partition list. `npm run bench`; results: bench/results/parquet-codecs.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startQuestDb } from '../packages/cli/src/questdb/index.js';
import { PARQUET_CODEC, schema, setParquetSql } from '../packages/sdk/src/schema/index.js';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { expandQuery, grafanaIntervalMs } from '../test/support/grafana-model/macros.js';
import { describeMachine } from './machine.js';
import { compactWorkload, SYMBOLS, waitApplied, writeWorkload } from './workload.js';

const DAYS = 30;
const CODECS = ['zstd(9)', 'zstd(1)', 'lz4_raw', 'snappy'];
const RUNS = 7;
const table = schema.openInterest;
const log = (line: string) => process.stderr.write(`${line}\n`);

const dataRoot = mkdtempSync(join(tmpdir(), 'tw-bench-codecs-'));
const loadAtStart = loadavg();
const server = await startQuestDb({ dataRoot });
const sql = new SqlClient({ url: server.httpUrl, timeoutMs: 300_000 });
try {
  await applySchema(sql, { tables: [table], views: [] });
  log(`writing ${DAYS} days of open interest…`);
  const nowUs = Date.now() * 1000;
  await writeWorkload(server.httpUrl, nowUs - DAYS * 86_400_000_000, nowUs, undefined, [table]);
  await waitApplied(sql, undefined, 0);

  const to = Date.now();
  const rangeMs = DAYS * 86_400_000;
  const query = expandQuery(
    `SELECT ts AS time, exchange AS series, last(open_interest) AS open_interest FROM ${table.name} WHERE $__timeFilter(ts) AND symbol = '${SYMBOLS[0]}' SAMPLE BY $__sampleByInterval ORDER BY time`,
    { from: to - rangeMs, to, intervalMs: grafanaIntervalMs(rangeMs), variables: {} },
  );
  const measure = async (format: string) => {
    await sql.query(query);
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const started = performance.now();
      await sql.query(query);
      runs.push(performance.now() - started);
    }
    runs.sort((a, b) => a - b);
    // Whole days only: the first (partial) and the active partition are left out.
    const parts = await sql.rows<{ diskSize: number; active: boolean }>(`SELECT diskSize, active FROM table_partitions('${table.name}')`);
    const days = parts.slice(1).filter((p) => !p.active);
    const bytesPerDay = days.reduce((s, p) => s + Number(p.diskSize), 0) / days.length;
    const result = { format, queryMs: Math.round(runs[Math.floor(RUNS / 2)]! * 10) / 10, bytesPerDay: Math.round(bytesPerDay) };
    log(`${format}: ${result.queryMs} ms, ${(bytesPerDay / 1e6).toFixed(1)} MB a day`);
    return result;
  };
  const toNative = async () => {
    await sql.execute(`ALTER TABLE ${table.name} CONVERT PARTITION TO NATIVE WHERE ts < now()`);
    for (;;) {
      const [r] = await sql.rows<{ n: number }>(`SELECT count() n FROM table_partitions('${table.name}') WHERE isParquet`);
      if (Number(r!.n) === 0) return;
      await new Promise((res) => setTimeout(res, 200));
    }
  };

  const results = [await measure('native')];
  for (const codec of CODECS) {
    for (const column of table.columns) await sql.execute(setParquetSql(table, column, codec));
    const started = performance.now();
    await compactWorkload(sql, [table]);
    const convertSeconds = Math.round((performance.now() - started) / 100) / 10;
    results.push({ ...(await measure(`Parquet ${codec}`)), convertSeconds } as (typeof results)[number]);
    await toNative();
  }
  const output = {
    benchmark: 'parquet-codecs',
    machine: describeMachine(),
    load: { atStart: loadAtStart.map((l) => Math.round(l * 100) / 100), atEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    table: table.name,
    days: DAYS,
    chosen: PARQUET_CODEC,
    query: `30 days of one market's open interest on every exchange at the 30-day request interval, median of ${RUNS} warm runs`,
    results,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/parquet-codecs.json', `${JSON.stringify(output, null, 2)}\n`);
} finally {
  await server.stop();
  rmSync(dataRoot, { recursive: true, force: true });
}
