import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { TableDef } from '../packages/sdk/src/schema/types.js';
import { createWriter, SqlClient, type Writer } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { sleep, tableDef, waitFor, waitForRows } from './helpers/rows.js';
import { captureLogger, closedPort, quietLogger, tempDir as tempDirOf, writerOpener } from './helpers/writer.js';

// Fault injection against a real QuestDB: it is killed, stopped and restarted under load. Never mocked, never skipped.
const server = await useQuestDb();
const sql = new SqlClient({ url: server.httpUrl });
const run = Date.now().toString(36);
const openWriter = writerOpener(server.httpUrl, 'faults');
const tempDir = (t: { after(fn: () => void): void }) => tempDirOf(t, 'tw-faults-');

test('(b) QuestDB SIGKILLed during sustained writes: after restart every accepted row is there exactly once', async (t) => {
  const table = await createTable(`f_kill_${run}`);
  const writer = openWriter(t, { spoolDir: tempDir(t), retry: { initialDelayMs: 100, maxDelayMs: 1_000 } });
  const load = startLoad(writer, table, 5_000);
  await sleep(1_500);
  await server.kill();
  await sleep(700);
  await server.restart();
  await sleep(1_500);
  const accepted = await load.stop();
  await writer.flush();
  await waitFor(() => drained(writer), 30_000, () => JSON.stringify(writer.stats()));
  assert.ok(accepted >= 15_000, `load generator kept up: ${accepted} rows`);
  assert.deepEqual(await waitForRows(sql, table.name, accepted, { timeoutMs: 60_000 }), { rows: accepted, ids: accepted });
  const stats = writer.stats();
  assert.equal(stats.rowsRejected, 0);
  assert.equal(stats.rowsDropped, 0);
  assert.ok(stats.rowsWritten >= accepted, `acknowledged ${stats.rowsWritten} of ${accepted}`);
  assert.ok(stats.rowsSpooled > 0 && stats.rowsReplayed > 0, `the crash reached the writer: ${JSON.stringify(stats)}`);
});

// 20 s is long enough for the spool to rotate segments and for lag to report the outage several times over; the
// length of an outage changes nothing in the logic (the Python SDK's test holds QuestDB down for 30 s).
const OUTAGE_MS = 20_000;
const LOAD_ROWS_PER_SECOND = 1_000;

test('(c) QuestDB stopped for 20 s under 1k rows/s: the spool grows, replays on restart, nothing lost or doubled', async (t) => {
  const table = await createTable(`f_outage_${run}`);
  const spoolDir = tempDir(t);
  const logger = captureLogger();
  const writer = openWriter(t, {
    spoolDir,
    logger,
    spool: { segmentBytes: 64 * 1024 },
    retry: { initialDelayMs: 100, maxDelayMs: 2_000 },
  });
  const load = startLoad(writer, table, LOAD_ROWS_PER_SECOND);
  await waitFor(() => writer.stats().rowsWritten > 0, 60_000, () => `rows flow before the outage: ${JSON.stringify(writer.stats())}`);

  await server.stop();
  const outageStarted = Date.now();
  const samples: { spoolBytes: number; spoolRows: number; rowsSpooled: number }[] = [];
  while (Date.now() - outageStarted < OUTAGE_MS) {
    await sleep(5_000);
    const { spoolBytes, spoolRows, rowsSpooled, connected } = writer.stats();
    assert.equal(connected, false);
    samples.push({ spoolBytes, spoolRows, rowsSpooled });
  }
  for (let i = 1; i < samples.length; i++) {
    assert.ok(samples[i]!.spoolBytes > samples[i - 1]!.spoolBytes, `spool grows: ${JSON.stringify(samples)}`);
    assert.ok(samples[i]!.spoolRows > samples[i - 1]!.spoolRows, `spooled rows grow: ${JSON.stringify(samples)}`);
  }
  const during = writer.stats();
  // The load generator catches up on its schedule (rows due by the clock), so every outage row is written; a quarter
  // is left for the rows still in memory or sent before the writer noticed QuestDB was gone.
  const outageRows = (LOAD_ROWS_PER_SECOND * OUTAGE_MS) / 1000;
  assert.ok(during.spoolRows >= 0.75 * outageRows, `about ${outageRows} rows are spooled: ${during.spoolRows}`);
  assert.ok(during.spoolSegments > 1, 'the spool rotated segments');
  assert.ok(during.lagMs >= OUTAGE_MS - 5_000, `lag reports the outage: ${during.lagMs} ms`);
  assert.match(during.lastError ?? '', /unreachable/);
  assert.ok(logger.lines.some((l) => l.level === 'error' && /unreachable/.test(l.message)));

  await server.restart();
  await sleep(2_000);
  const accepted = await load.stop();
  await writer.flush();
  await waitFor(() => drained(writer), 60_000, () => JSON.stringify(writer.stats()));
  assert.deepEqual(await waitForRows(sql, table.name, accepted, { timeoutMs: 60_000 }), { rows: accepted, ids: accepted });
  const after = writer.stats();
  assert.equal(after.connected, true);
  assert.ok(after.rowsReplayed >= during.spoolRows, `replayed ${after.rowsReplayed} rows`);
  assert.equal(after.rowsDropped, 0);
  assert.equal(after.spoolBytes, 0);
  assert.deepEqual(fs.readdirSync(spoolDir).filter((f) => f !== 'spool.lock' && f !== 'quarantine'), [], 'spool files deleted after replay');
});

test('(d) torn and corrupt spool records are reported and skipped; the good ones replay', async (t) => {
  const table = await createTable(`f_torn_${run}`);
  const spoolDir = tempDir(t);
  // First writer: QuestDB "unreachable" (nothing listens), so each flushed batch becomes one spool record.
  const offline = createWriter({ url: `http://127.0.0.1:${await closedPort()}`, service: 'faults', spoolDir, logger: quietLogger });
  const base = Date.now() * 1000;
  for (let batch = 0; batch < 10; batch++) {
    for (let i = 0; i < 100; i++) offline.write(table, { ts: base + batch * 100 + i, id: batch * 100 + i, px: i, venue: `v${batch}` });
    await offline.flush();
  }
  assert.equal(offline.stats().spoolRows, 1000);
  await offline.close();

  const segments = fs.readdirSync(spoolDir).filter((f) => f.endsWith('.tws'));
  assert.equal(segments.length, 1);
  const file = path.join(spoolDir, segments[0]!);
  const data = fs.readFileSync(file);
  const offsets: number[] = [];
  for (let at = 0; at < data.length; at += 24 + data.readUInt32LE(at + 4)) offsets.push(at);
  assert.equal(offsets.length, 10);
  data[offsets[4]! + 24 + 40]! ^= 0x01; // one flipped bit inside batch 4
  fs.writeFileSync(file, data.subarray(0, data.length - 10)); // batch 9 torn, as by a crash mid-write

  const logger = captureLogger();
  const writer = openWriter(t, { spoolDir, logger });
  assert.equal(writer.stats().spoolCorruptRecords, 2);
  assert.equal(logger.lines.filter((l) => l.level === 'error' && /corrupt|torn/.test(l.message)).length, 2);
  await waitFor(() => drained(writer), 20_000, () => JSON.stringify(writer.stats()));
  assert.deepEqual(await waitForRows(sql, table.name, 800, { timeoutMs: 60_000 }), { rows: 800, ids: 800 });
  const batches = await sql.rows<{ venue: string; n: number }>(`SELECT venue, count() n FROM ${table.name} ORDER BY venue`);
  assert.deepEqual(batches, ['v0', 'v1', 'v2', 'v3', 'v5', 'v6', 'v7', 'v8'].map((venue) => ({ venue, n: 100 })));
  assert.equal(writer.stats().rowsReplayed, 800);
});

// ---- helpers -------------------------------------------------------------------------------------------------

async function createTable(name: string): Promise<TableDef> {
  const table = tableDef(name, [['id', 'LONG'], ['px', 'DOUBLE'], ['venue', 'SYMBOL']]);
  await sql.execute(`CREATE TABLE ${name} (ts TIMESTAMP, id LONG, px DOUBLE, venue SYMBOL) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, id)`);
  return table;
}


/**
 * Writes `rowsPerSecond` rows with unique ids and timestamps in 10 ms ticks until stopped; resolves to the number of
 * rows write() accepted. Catches nothing: any throw from write() is a test failure.
 */
function startLoad(writer: Writer, table: TableDef, rowsPerSecond: number): { stop(): Promise<number> } {
  const base = Date.now() * 1000;
  const started = Date.now();
  let written = 0;
  let failure: unknown;
  const timer = setInterval(() => {
    const due = Math.floor(((Date.now() - started) * rowsPerSecond) / 1000);
    try {
      while (written < due) {
        writer.write(table, { ts: base + written, id: written, px: written * 0.25, venue: `v${written % 16}` });
        written++;
      }
    } catch (err) {
      failure = err;
      clearInterval(timer);
    }
  }, 10);
  return {
    async stop() {
      clearInterval(timer);
      if (failure) throw failure;
      return written;
    },
  };
}

function drained(writer: Writer): boolean {
  const s = writer.stats();
  return s.spoolRows === 0 && s.queueRows === 0 && s.connected;
}

