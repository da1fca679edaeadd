// Overload: offer 5x the writer's sustained capacity for 60 s into a real QuestDB and check what the docs promise:
// memory stays bounded, the spool fills to its cap and then drops the oldest segments (counted), and every row
// that was not counted as dropped is stored exactly once. `npm run bench`; results: bench/results/overload.json.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { startQuestDb } from '../src/questdb/index.js';
import { schema } from '../src/schema/index.js';
import { applySchema, createWriter, SqlClient } from '../src/storage/index.js';
import { describeMachine } from './machine.js';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 60);
const SPOOL_MAX_BYTES = 256 * 1024 * 1024;
const log = (line: string) => process.stderr.write(`${line}\n`);

/** The capacity measured by the ingestion bench on this machine (writer.json), else a conservative default. */
function sustainedCapacity(): number {
  try {
    return (JSON.parse(readFileSync('bench/results/writer.json', 'utf8')) as { ours: { rowsPerSecond: number } }).ours.rowsPerSecond;
  } catch {
    return 200_000;
  }
}

const capacity = sustainedCapacity();
const offeredRate = capacity * 5;
const loadAtStart = loadavg();
const dataRoot = mkdtempSync(join(tmpdir(), 'tw-overload-questdb-'));
const spoolDir = mkdtempSync(join(tmpdir(), 'tw-overload-spool-'));
log(`starting QuestDB; offering ${Math.round(offeredRate)} rows/s (5 × ${Math.round(capacity)}) for ${SECONDS} s`);
const server = await startQuestDb({ dataRoot });
try {
  const sql = new SqlClient({ url: server.httpUrl });
  await applySchema(sql);
  const writer = createWriter({
    url: server.httpUrl,
    service: 'overload',
    spoolDir,
    healthIntervalMs: 0,
    spool: { maxBytes: SPOOL_MAX_BYTES, onFull: 'drop-oldest' },
  });
  const t0 = Date.now() * 1000;
  const samples: { s: number; rssMiB: number; queueMiB: number; spoolMiB: number; dropped: number; written: number }[] = [];
  let offered = 0;
  let maxRss = 0;
  const start = performance.now();
  let nextSample = 0;
  while (performance.now() - start < SECONDS * 1000) {
    // Pace to the offered rate in 10 ms slices; a slice the producer cannot fill is simply what Node can offer.
    const due = Math.floor(((performance.now() - start) / 1000) * offeredRate);
    for (; offered < due; offered++) {
      writer.write(schema.fetches, {
        ts: t0 + offered,
        service: 'overload',
        instance: 'a',
        exchange: 'binanceusdm',
        dataset: 'open_interest',
        symbol: `C${offered % 50}/USDT:USDT`,
        status: 'ok',
        latency_ms: offered % 500,
        records: 1,
      });
    }
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= nextSample) {
      const st = writer.stats();
      const rss = process.memoryUsage.rss() / 2 ** 20;
      maxRss = Math.max(maxRss, rss);
      samples.push({ s: Math.round(elapsed), rssMiB: Math.round(rss), queueMiB: Math.round(st.queueBytes / 2 ** 20), spoolMiB: Math.round(st.spoolBytes / 2 ** 20), dropped: st.rowsDropped, written: st.rowsWritten });
      log(`  ${Math.round(elapsed)} s: offered ${offered}, written ${st.rowsWritten}, spool ${Math.round(st.spoolBytes / 2 ** 20)} MiB, dropped ${st.rowsDropped}, rss ${Math.round(rss)} MiB`);
      nextSample += 5;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const offerSeconds = (performance.now() - start) / 1000;
  log('draining the spool…');
  while (writer.stats().spoolRows > 0 || writer.stats().queueRows > 0) {
    await writer.flush();
    await new Promise((r) => setTimeout(r, 50));
  }
  await writer.close();
  const st = writer.stats();
  let stored = { n: -1, ids: -1 };
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    const [row] = await sql.rows<{ n: number; ids: number }>(`SELECT count() n, count_distinct(ts) ids FROM tw_fetches WHERE service = 'overload'`);
    stored = { n: Number(row?.n), ids: Number(row?.ids) };
    if (stored.n >= st.rowsWritten) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  const result = {
    benchmark: 'overload',
    machine: describeMachine(),
    load: { atStart: loadAtStart.map((l) => Math.round(l * 100) / 100), atEnd: loadavg().map((l) => Math.round(l * 100) / 100) },
    seconds: Math.round(offerSeconds),
    capacityRowsPerSecond: Math.round(capacity),
    offeredRowsPerSecond: Math.round(offered / offerSeconds),
    offered,
    accepted: st.rowsAccepted,
    written: st.rowsWritten,
    dropped: st.rowsDropped,
    stored: stored.n,
    storedDistinct: stored.ids,
    spoolMaxMiB: SPOOL_MAX_BYTES / 2 ** 20,
    maxRssMiB: Math.round(maxRss),
    accountedFor: st.rowsAccepted === st.rowsWritten + st.rowsDropped && stored.n === st.rowsWritten && stored.ids === stored.n,
    samples,
  };
  mkdirSync('bench/results', { recursive: true });
  writeFileSync('bench/results/overload.json', `${JSON.stringify(result, null, 2)}\n`);
  console.log(
    `offered ${result.offeredRowsPerSecond} rows/s for ${result.seconds} s: accepted ${result.accepted}, written ${result.written}, ` +
      `dropped ${result.dropped} (spool cap ${result.spoolMaxMiB} MiB, drop-oldest), stored ${result.stored} (distinct ${result.storedDistinct}), ` +
      `max RSS ${result.maxRssMiB} MiB; every row accounted for: ${result.accountedFor}`,
  );
} finally {
  await server.stop();
  rmSync(dataRoot, { recursive: true, force: true });
  rmSync(spoolDir, { recursive: true, force: true });
}
