// Which compression for Parquet partitions: 30 days of the reference workload's open interest converted with each
// codec (the schema's encodings otherwise), then the 30-day raw query for one market timed, and the size read from
// QuestDB's partition list. `npm run bench`; results: bench/results/parquet-codecs.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { expandQuery, grafanaIntervalMs } from '../src/grafana/index.js';
import { startQuestDb } from '../src/questdb/index.js';
import { PARQUET_CODEC, schema } from '../src/schema/index.js';
import { applySchema, compactPartitions, createWriter, SqlClient, waitForParquet } from '../src/storage/index.js';
import { describeMachine } from './machine.js';
import { SYMBOLS, workloadStreams } from './workload.js';

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
  const stream = workloadStreams().find((s) => s.table === table)!;
  const writer = createWriter({ url: server.httpUrl, service: 'bench-codecs', healthIntervalMs: 0, flushRows: 20_000 });
  const now = Math.floor(Date.now() / 1000);
  for (let t = now - DAYS * 86_400; t < now; t++) {
    const first = stream.at(t);
    const n = stream.at(t + 1) - first;
    for (let j = 0; j < n; j++) writer.write(table, stream.row(first + j, t * 1e6 + Math.floor((j * 1e6) / n), t));
    if (writer.needDrain) await writer.drained();
  }
  await writer.close();
  for (;;) {
    const [w] = await sql.rows<{ applied: number; committed: number }>(`SELECT writerTxn applied, sequencerTxn committed FROM wal_tables() WHERE name = '${table.name}'`);
    if (Number(w!.applied) >= Number(w!.committed)) break;
    await new Promise((r) => setTimeout(r, 500));
  }

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
    for (const c of table.columns) {
      const encoding = c.type === 'TIMESTAMP' ? 'delta_binary_packed' : 'default';
      await sql.execute(`ALTER TABLE ${table.name} ALTER COLUMN ${c.name} SET PARQUET(${encoding}, ${codec})`);
    }
    const started = performance.now();
    const report = await compactPartitions(sql, { olderThanDays: 1, tables: [table] });
    await waitForParquet(sql, report.converting);
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
