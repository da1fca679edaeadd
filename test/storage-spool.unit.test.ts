import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ErrorCodes, isTradewatchError } from '../packages/sdk/src/common/errors.js';
import { crc32 } from '../packages/sdk/src/storage/crc32.js';
import { splitLines, tableOfLine } from '../packages/sdk/src/storage/ilp-lines.js';
import type { WriterLogger } from '../packages/sdk/src/storage/logger.js';
import { Spool, SPOOL_HEADER_BYTES, type SpoolOptions } from '../packages/sdk/src/storage/spool.js';

function tempDir(t: { after(fn: () => void): void }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-spool-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

interface Captured extends WriterLogger {
  readonly lines: { level: string; message: string; context: object }[];
}

function captureLogger(): Captured {
  const lines: Captured['lines'] = [];
  return {
    lines,
    warn: (context, message) => lines.push({ level: 'warn', message, context }),
    error: (context, message) => lines.push({ level: 'error', message, context }),
    info: (context, message) => lines.push({ level: 'info', message, context }),
  };
}

function open(dir: string, extra: Partial<SpoolOptions> = {}): Spool {
  return Spool.open({ dir, maxBytes: 1 << 20, segmentBytes: 4096, onFull: 'drop-newest', logger: captureLogger(), ...extra });
}

const batch = (i: number, rows = 3) => Buffer.from(Array.from({ length: rows }, (_, r) => `t,k=v${i} x=${r}i ${i}000\n`).join(''));

/** Stands in for a crash: the lock of a dead owner is what a killed process leaves behind. */
function simulateCrash(dir: string): void {
  fs.writeFileSync(path.join(dir, 'spool.lock'), '999999999\n');
}

function drain(spool: Spool): string[] {
  const out: string[] = [];
  for (let b = spool.peek(); b; b = spool.peek()) {
    out.push(b.payload.toString());
    spool.ack(b.record);
  }
  return out;
}

test('crc32 matches the standard check value', () => {
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('6789'), crc32(Buffer.from('12345'))), 0xcbf43926);
});

test('records come back in order, across segment rotation and a reopen', (t) => {
  const dir = tempDir(t);
  const spool = open(dir);
  for (let i = 0; i < 60; i++) assert.equal(spool.append(batch(i), 3, 1000 + i), 'spooled');
  assert.ok(spool.segmentCount > 1, 'rotated into several segments');
  assert.equal(spool.pendingRows, 180);
  assert.equal(spool.oldestPendingAt, 1000);
  spool.close();
  const reopened = open(dir);
  assert.equal(reopened.pendingRecords, 60);
  const payloads = drain(reopened);
  assert.deepEqual(payloads, Array.from({ length: 60 }, (_, i) => batch(i).toString()));
  assert.equal(reopened.pendingRecords, 0);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['spool.lock'], 'an empty spool keeps no segment or cursor');
  reopened.close();
  assert.deepEqual(fs.readdirSync(dir), []);
});

test('replay progress survives a crash: acknowledged records are not replayed again', (t) => {
  const dir = tempDir(t);
  const spool = open(dir);
  for (let i = 0; i < 40; i++) spool.append(batch(i), 3, i);
  for (let i = 0; i < 25; i++) {
    const b = spool.peek()!;
    spool.ack(b.record);
  }
  simulateCrash(dir); // no close(): nothing but what is on disk survives
  const reopened = open(dir);
  assert.equal(reopened.pendingRecords, 15);
  assert.equal(drain(reopened)[0], batch(25).toString());
  reopened.close();
});

test('torn tail and flipped byte: reported, counted, skipped; the good records survive', (t) => {
  const dir = tempDir(t);
  const spool = open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 10; i++) spool.append(batch(i), 3, i);
  spool.close();
  const [segment] = fs.readdirSync(dir).filter((f) => f.endsWith('.tws'));
  const file = path.join(dir, segment!);
  const data = fs.readFileSync(file);
  const recordBytes = SPOOL_HEADER_BYTES + batch(0).length;
  data[3 * recordBytes + SPOOL_HEADER_BYTES + 5]! ^= 0x20; // payload byte of record 3
  data[6 * recordBytes + 1]! ^= 0xff; // magic of record 6
  fs.writeFileSync(file, data.subarray(0, data.length - 7)); // torn last record (9)

  const logger = captureLogger();
  const reopened = open(dir, { logger });
  assert.equal(reopened.corruptRecords, 3);
  assert.equal(logger.lines.filter((l) => l.level === 'error').length, 3);
  assert.ok(logger.lines.some((l) => /torn/.test(l.message)));
  const expected = [0, 1, 2, 4, 5, 7, 8].map((i) => batch(i).toString());
  assert.deepEqual(drain(reopened), expected);
  reopened.close();
});

test('a record damaged after open is skipped at replay, not sent', (t) => {
  const dir = tempDir(t);
  const spool = open(dir, { segmentBytes: 1 << 20 });
  for (let i = 0; i < 3; i++) spool.append(batch(i), 3, i);
  spool.sync();
  const [segment] = fs.readdirSync(dir).filter((f) => f.endsWith('.tws'));
  const fd = fs.openSync(path.join(dir, segment!), 'r+');
  fs.writeSync(fd, Buffer.from('X'), 0, 1, SPOOL_HEADER_BYTES + 2);
  fs.closeSync(fd);
  assert.deepEqual(drain(spool), [1, 2].map((i) => batch(i).toString()));
  assert.equal(spool.corruptRecords, 1);
  spool.close();
});

test('full spool: drop-newest refuses, drop-oldest evicts whole segments and reports the rows', (t) => {
  const recordBytes = SPOOL_HEADER_BYTES + batch(0).length;
  const newest = open(tempDir(t), { maxBytes: recordBytes * 8, segmentBytes: recordBytes * 2 });
  const results = Array.from({ length: 10 }, (_, i) => newest.append(batch(i), 3, i));
  assert.deepEqual(results.filter((r) => r === 'full').length, 2);
  assert.equal(drain(newest)[0], batch(0).toString());
  newest.close();

  let evicted = 0;
  const oldest = open(tempDir(t), { maxBytes: recordBytes * 8, segmentBytes: recordBytes * 2, onFull: 'drop-oldest', onEvicted: (rows) => (evicted += rows) });
  for (let i = 0; i < 10; i++) assert.equal(oldest.append(batch(i), 3, i), 'spooled');
  assert.equal(evicted, 6, 'one segment of two batches of three rows');
  assert.ok(oldest.bytes <= recordBytes * 8);
  const left = drain(oldest);
  assert.equal(left[0], batch(2).toString());
  assert.equal(left.at(-1), batch(9).toString());
  oldest.close();
});

test('two writers cannot share a spool directory; a dead owner’s lock is taken over', (t) => {
  const dir = tempDir(t);
  const first = open(dir);
  assert.throws(() => open(dir), (err: unknown) => isTradewatchError(err, ErrorCodes.SPOOL_UNAVAILABLE) && /in use by another writer/.test(err.message));
  first.close();
  simulateCrash(dir);
  open(dir).close();
});

test('a lock left by an earlier process that had this same pid (a restarted container) is taken over', (t) => {
  const dir = tempDir(t);
  open(dir).close();
  fs.writeFileSync(path.join(dir, 'spool.lock'), `${process.pid}\n`);
  const again = open(dir);
  assert.throws(() => open(dir), /in use by another writer .*this process/, 'a lock this process holds still excludes');
  again.close();
});

test('splitLines keeps escaped newlines inside values; tableOfLine reads the table', () => {
  const payload = Buffer.from('a,s=x\\\ny v="p\\\nq\\\\" 1\nb f=1 2\nc\\ d,s=\\\\ f=2 3\n');
  const lines = splitLines(payload);
  assert.deepEqual(lines.map(String), ['a,s=x\\\ny v="p\\\nq\\\\" 1\n', 'b f=1 2\n', 'c\\ d,s=\\\\ f=2 3\n']);
  assert.deepEqual(lines.map(tableOfLine), ['a', 'b', 'c\\ d']);
});
