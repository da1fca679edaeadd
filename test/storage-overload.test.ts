// The writer under overload and with a producer on its own thread: the accounting identity, backpressure,
// requests that carry several batches, and request deadlines that a blocked event loop must not trip.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import path from 'node:path';
import type { TableDef } from '../packages/sdk/src/schema/types.js';
import { SqlClient, type Writer, type WriterStats } from '../packages/sdk/src/storage/index.js';
import { IlpHttpSender } from '../packages/sdk/src/storage/http-sender.js';
import { Spool } from '../packages/sdk/src/storage/spool.js';
import { useQuestDb } from './helpers/questdb.js';
import { sleep, tableDef, waitFor, waitForRows } from './helpers/rows.js';
import { captureLogger, forwardToQuestDb, listenForTest, quietLogger, sendAnswer, tempDir as tempDirOf, writerOpener } from './helpers/writer.js';

// A real QuestDB for the whole file; started once, stopped and deleted afterwards. Never mocked, never skipped.
const server = await useQuestDb();
const openWriter = writerOpener(server.httpUrl, 'overload-test');
const tempDir = (t: { after(fn: () => void): void }) => tempDirOf(t, 'tw-overload-test-');
const sql = new SqlClient({ url: server.httpUrl });
const run = Date.now().toString(36);
const base = 1_700_000_000_000_000;

test('a spool segment evicted while its batch is in flight: the batch counts as written, not also as dropped', async (t) => {
  const table = await createTable(`o_evict_inflight_${run}`);
  const proxy = await holdingProxy(t, server.httpUrl);
  const logger = captureLogger();
  const writer = openWriter(t, {
    url: proxy.url,
    spoolDir: tempDir(t),
    logger,
    flushRows: 50,
    maxBufferedBytes: 64 * 1024,
    spool: { maxBytes: 64 * 1024, segmentBytes: 16 * 1024, onFull: 'drop-oldest' },
    retry: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  const identity = watchIdentity(writer);
  let next = 0;
  const writeRows = (count: number) => {
    for (const end = next + count; next < end; next++) writer.write(table, rowOf(next));
  };

  // QuestDB "down": batches go to the spool.
  proxy.mode = 'down';
  writeRows(500);
  await waitFor(() => !writer.stats().connected && writer.stats().spoolRows > 0, 10_000, () => JSON.stringify(writer.stats()));
  // Back, but its answer is held: the writer's probe, the oldest spooled batch, stays in flight.
  proxy.mode = 'hold';
  await waitFor(() => proxy.held.length === 1, 10_000, () => `held ${proxy.held.length}`);
  const inFlightIds = idsIn(proxy.held[0]!.body);
  assert.ok(inFlightIds.length > 0);
  // Meanwhile three spools' worth arrives: drop-oldest evicts every old segment, the one in flight first.
  const droppedBefore = writer.stats().rowsDropped;
  for (let i = 0; i < 30; i++) {
    writeRows(100);
    await sleep(2);
  }
  assert.ok(writer.stats().rowsDropped > droppedBefore, 'the spool was full and dropped its oldest segments');
  assert.equal(proxy.held.length, 1, 'the batch was still in flight while its segment was evicted');

  proxy.release();
  await waitFor(() => writer.stats().spoolRows === 0 && writer.stats().queueRows === 0, 20_000, () => JSON.stringify(writer.stats()));
  await writer.flush();
  identity.stop();
  const stats = writer.stats();
  assert.deepEqual(identity.violations, [], 'accepted = written + rejected + dropped + queued + spooled at every moment');
  assert.equal(stats.rowsAccepted, next);
  assert.equal(stats.rowsWritten + stats.rowsDropped, stats.rowsAccepted, 'every accepted row is written or dropped, once');
  const stored = await waitForRows(sql, table.name, stats.rowsWritten);
  assert.deepEqual(stored, { rows: stats.rowsWritten, ids: stats.rowsWritten }, 'stored = distinct = written');
  const [row] = (await sql.query(`SELECT count() FROM ${table.name} WHERE id IN (${inFlightIds.join(',')})`)).dataset;
  assert.equal(Number(row?.[0]), inFlightIds.length, 'the batch whose segment was evicted in flight was delivered');
  assert.ok(logger.lines.some((l) => l.message.startsWith('spool full')), 'the drops were logged');
});

test('overload from a producer on the writer thread: the identity holds throughout, nothing stored twice, QuestDB never blamed', async (t) => {
  const table = await createTable(`o_identity_${run}`);
  const logger = captureLogger();
  const writer = openWriter(t, {
    spoolDir: tempDir(t),
    logger,
    maxBufferedBytes: 256 * 1024,
    spool: { maxBytes: 1024 * 1024, segmentBytes: 128 * 1024, onFull: 'drop-oldest' },
  });
  const violations: string[] = [];
  let next = 0;
  const start = performance.now();
  // Writes in 20 ms slices as fast as the thread allows, yielding between them only to let I/O through.
  while (performance.now() - start < 3000) {
    const sliceStart = performance.now();
    while (performance.now() - sliceStart < 20) {
      for (let k = 0; k < 100; k++) writer.write(table, rowOf(next++));
    }
    const off = unaccounted(writer.stats());
    if (off !== 0) violations.push(`${off} rows unaccounted: ${JSON.stringify(writer.stats())}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => writer.stats().spoolRows === 0 && writer.stats().queueRows === 0, 60_000, () => JSON.stringify(writer.stats()));
  await writer.flush();
  const stats = writer.stats();
  assert.deepEqual(violations.slice(0, 3), []);
  assert.ok(stats.rowsDropped > 0, `the producer overloaded the writer (${JSON.stringify(stats)})`);
  assert.equal(stats.rowsWritten + stats.rowsDropped, next);
  assert.equal(unaccounted(stats), 0);
  const stored = await waitForRows(sql, table.name, stats.rowsWritten);
  assert.deepEqual(stored, { rows: stats.rowsWritten, ids: stats.rowsWritten });
  assert.ok(!logger.lines.some((l) => l.message.includes('unreachable')), 'QuestDB answered all along');
});

test('backpressure: needDrain rises at the high-water mark, drained() resolves at the low one, write() never refuses', async (t) => {
  const table = await createTable(`o_backpressure_${run}`);
  const proxy = await holdingProxy(t, server.httpUrl);
  const writer = openWriter(t, { url: proxy.url, flushRows: 100, maxBufferedBytes: 1024 * 1024, highWaterMark: 64 * 1024, lowWaterMark: 16 * 1024 });
  assert.equal(writer.needDrain, false);
  assert.equal(await Promise.race([writer.drained().then(() => 'drained'), sleep(50).then(() => 'pending')]), 'drained', 'resolves at once when not needed');

  proxy.mode = 'hold';
  let next = 0;
  while (!writer.needDrain) {
    writer.write(table, rowOf(next++));
    if (next % 100 === 0) await sleep(1);
    assert.ok(next < 100_000, 'needDrain never rose');
  }
  assert.ok(writer.stats().queueBytes >= 64 * 1024, `needDrain at the mark, not before (${writer.stats().queueBytes} bytes)`);
  for (let i = 0; i < 500; i++) writer.write(table, rowOf(next++)); // allowed: the producer decides
  const drained = writer.drained();
  assert.equal(await Promise.race([drained.then(() => 'drained'), sleep(200).then(() => 'pending')]), 'pending');

  proxy.release();
  await drained;
  assert.equal(writer.needDrain, false);
  await writer.flush();
  assert.equal(writer.stats().rowsWritten, next);
  assert.equal(writer.stats().rowsDropped, 0);

  // A producer waiting on a writer that closes is released.
  proxy.mode = 'hold';
  while (!writer.needDrain) {
    writer.write(table, rowOf(next++));
    if (next % 100 === 0) await sleep(1);
  }
  const waiting = writer.drained();
  const closed = writer.close();
  assert.equal(await Promise.race([waiting.then(() => 'drained'), sleep(1000).then(() => 'pending')]), 'drained');
  proxy.release();
  await closed;
  await waitForRows(sql, table.name, next);
});

test('several waiting batches go in one request, byte-exact; a bad row among them is still quarantined alone', async (t) => {
  const name = `o_grouped_${run}`;
  const table = await createTable(name);
  const wrong = tableDef(name, [['id', 'LONG'], ['venue', 'SYMBOL'], ['note', 'VARCHAR'], ['px', 'VARCHAR']], ['ts', 'id']);
  const proxy = await holdingProxy(t, server.httpUrl);
  const spoolDir = tempDir(t);
  const writer = openWriter(t, { url: proxy.url, spoolDir, flushRows: 200 });
  let next = 0;
  const writeBatches = async (count: number, bad?: number) => {
    for (let b = 0; b < count; b++) {
      for (const end = next + 200; next < end; next++) {
        if (next === bad) writer.write(wrong, { ...rowOf(next), px: 'oops' });
        else writer.write(table, rowOf(next));
      }
      await sleep(1);
    }
  };
  await writeBatches(1);
  await writer.flush();
  proxy.mode = 'hold';
  await writeBatches(1);
  await waitFor(() => proxy.held.length === 1, 5000, () => `held ${proxy.held.length}`);
  await writeBatches(20); // they wait while the first request is held
  proxy.release();
  await writer.flush();
  const requestsForGood = proxy.requests;
  assert.ok(requestsForGood <= 5, `22 batches in ${requestsForGood} requests`);

  proxy.mode = 'hold';
  await writeBatches(1);
  await waitFor(() => proxy.held.length === 1, 5000, () => `held ${proxy.held.length}`);
  const bad = next + 1234;
  await writeBatches(20, bad);
  proxy.release();
  await writer.flush();
  const stats = writer.stats();
  assert.equal(stats.rowsRejected, 1);
  assert.equal(stats.rowsWritten, next - 1);
  assert.equal(unaccounted(stats), 0);
  const stored = await waitForRows(sql, name, next - 1);
  assert.deepEqual(stored, { rows: next - 1, ids: next - 1 });
  const back = await sql.rows<{ id: number; venue: string; note: string; px: number }>(`SELECT id, venue, note, px FROM ${name} ORDER BY id`);
  for (const got of back) {
    const row = rowOf(got.id);
    assert.deepEqual(got, { id: row.id, venue: row.venue, note: row.note, px: row.px }, `row ${got.id}`);
  }
  const quarantined = fs.readdirSync(path.join(spoolDir, 'quarantine')).flatMap((f) => fs.readFileSync(path.join(spoolDir, 'quarantine', f), 'utf8').trim().split('\n'));
  assert.equal(quarantined.length, 1);
  assert.match(quarantined[0]!, new RegExp(`id=${bad}i`));
});

test('a producer that blocks the event loop longer than the request timeout does not make QuestDB "unreachable"', async (t) => {
  const table = await createTable(`o_blocked_loop_${run}`);
  const logger = captureLogger();
  const writer = openWriter(t, { logger, flushRows: 2000, requestTimeoutMs: 100 });
  let next = 0;
  for (let i = 0; i < 2000; i++) writer.write(table, rowOf(next++));
  await writer.flush(); // a kept-alive connection exists from here on
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 2000; i++) writer.write(table, rowOf(next++)); // seals a batch
    await new Promise((resolve) => setImmediate(resolve)); // the request goes out
    busyFor(600); // QuestDB answers within ms; the answer waits unread while the 100 ms deadline passes
    await sleep(20);
    assert.equal(writer.stats().connected, true, `round ${round}: ${writer.stats().lastError ?? ''}`);
  }
  await writer.flush();
  assert.equal(writer.stats().rowsWritten, next);
  assert.equal(writer.stats().rowsSpooled + writer.stats().rowsDropped, 0);
  assert.deepEqual(logger.lines.filter((l) => l.message.includes('unreachable')), []);
  await waitForRows(sql, table.name, next);
});

test('request deadline: a server that never answers is still detected, with the loop free or blocked at every turn', async (t) => {
  const silent = http.createServer(() => {
    // reads the request, never answers
  });
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => {
    silent.closeAllConnections();
    silent.close(() => resolve());
  }));
  const sender = new IlpHttpSender({ url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}`, timeoutMs: 200 });
  t.after(() => sender.close());
  const payload = Buffer.from('t x=1i 1\n');

  let start = performance.now();
  const free = await sender.send(payload);
  const freeMs = performance.now() - start;
  assert.equal(free.kind, 'unavailable');
  assert.match(free.kind === 'unavailable' ? free.message : '', /no answer within 200 ms/);
  assert.ok(freeMs >= 190 && freeMs < 1500, `free loop: detected after ${Math.round(freeMs)} ms`);

  start = performance.now();
  let settled = false;
  const blocked = sender.send(payload).finally(() => (settled = true));
  let turns = 0;
  while (!settled && performance.now() - start < 20_000) {
    busyFor(100); // every turn blocked for half the timeout
    turns++;
    await new Promise((resolve) => setImmediate(resolve));
  }
  const outcome = await blocked;
  assert.equal(outcome.kind, 'unavailable');
  assert.ok(turns <= 30, `blocked loop: detected after ${turns} turns`);
});

test('spool: peekRun reads consecutive records up to a byte budget; eviction reports the records it removed', (t) => {
  const evictions: { rows: number; records: number }[] = [];
  const spool = Spool.open({
    dir: tempDir(t),
    maxBytes: 64 * 1024,
    segmentBytes: 16 * 1024,
    onFull: 'drop-oldest',
    logger: quietLogger,
    onEvicted: (rows, records) => evictions.push({ rows, records: records.length }),
  });
  t.after(() => spool.close());
  const payload = (i: number) => Buffer.from(`${i}:`.padEnd(5000, 'x'));
  for (let i = 0; i < 6; i++) spool.append(payload(i), 1, 0);
  assert.equal(spool.pendingBytes, 6 * payload(0).length);
  const run = spool.peekRun(3 * payload(0).length);
  assert.deepEqual(run.map((b) => b.payload.toString()), [0, 1, 2].map((i) => payload(i).toString()));
  assert.equal(spool.peekRun(0).length, 1, 'at least one record');
  // The first record in flight; fill the spool until its segment is evicted.
  const inFlight = run[0]!.record;
  for (let i = 6; spool.holds(inFlight); i++) spool.append(payload(i), 1, 0);
  assert.ok(evictions.length > 0);
  assert.ok(evictions[0]!.records >= 1 && evictions[0]!.rows === evictions[0]!.records);
  spool.ack(inFlight); // acknowledged after eviction: ignored
  assert.equal(spool.pendingRows, spool.pendingRecords);
});

// ---- helpers --------------------------------------------------------------------------------------------------------

/** Rows still to be placed: zero at every moment, or a row is lost or counted twice. */
function unaccounted(st: WriterStats): number {
  return st.rowsAccepted - st.rowsWritten - st.rowsRejected - st.rowsDropped - st.queueRows - st.spoolRows;
}

/** Checks the identity every few ms (from timers, so between the writer's own steps) until stopped. */
function watchIdentity(writer: Writer): { violations: string[]; stop(): void } {
  const violations: string[] = [];
  const timer = setInterval(() => {
    const st = writer.stats();
    if (unaccounted(st) !== 0 && violations.length < 3) violations.push(`${unaccounted(st)} rows unaccounted: ${JSON.stringify(st)}`);
  }, 2);
  return { violations, stop: () => clearInterval(timer) };
}

function rowOf(i: number) {
  return { ts: base + i, id: i, venue: `v${i % 7}`, note: `n${i} é ,="\\ ${'x'.repeat(i % 40)}`, px: i / 4 };
}

async function createTable(name: string): Promise<TableDef> {
  const table = tableDef(name, [['id', 'LONG'], ['venue', 'SYMBOL'], ['note', 'VARCHAR'], ['px', 'DOUBLE']], ['ts', 'id']);
  const columns = table.columns.map((c) => `${c.name} ${c.type}`).join(', ');
  await sql.execute(`CREATE TABLE ${table.name} (${columns}) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(${table.dedupKeys.join(', ')})`);
  return table;
}

function idsIn(ilp: Buffer): number[] {
  return [...ilp.toString('utf8').matchAll(/[ ,]id=(\d+)i/g)].map((m) => Number(m[1]));
}

function busyFor(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // the producer holding the thread
  }
}


interface HoldingProxy {
  url: string;
  /** pass: forward to QuestDB; down: answer 503; hold: forward, but keep QuestDB's answer until release(). */
  mode: 'pass' | 'down' | 'hold';
  /** Requests forwarded (not refused) so far. */
  requests: number;
  /** Requests whose answer is being held, with their bodies. */
  readonly held: { body: Buffer; answer: () => void }[];
  /** Sends the held answers and switches to pass. */
  release(): void;
}

/** An HTTP proxy in front of QuestDB that can refuse requests (503) or hold QuestDB's answers back. */
async function holdingProxy(t: { after(fn: () => Promise<void>): void }, target: string): Promise<HoldingProxy> {
  const state: HoldingProxy = {
    url: '',
    mode: 'pass',
    requests: 0,
    held: [],
    release() {
      state.mode = 'pass';
      for (const held of state.held.splice(0)) held.answer();
    },
  };
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (state.mode === 'down') {
        res.writeHead(503, { 'content-type': 'application/json' });
        res.end('{"message":"down"}');
        return;
      }
      state.requests++;
      const body = Buffer.concat(chunks);
      const hold = state.mode === 'hold';
      void forwardToQuestDb(target, req.url, body).then((answer) => {
        if (hold && state.mode === 'hold') state.held.push({ body, answer: () => sendAnswer(res, answer) });
        else sendAnswer(res, answer);
      });
    });
  });
  state.url = await listenForTest(t, proxy, () => state.release());
  return state;
}
