/** The writer's pure parts: answer classification and the batch builder's buffer reuse. No QuestDB. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BATCH_POOL_SIZE, BatchBuilder, batchBufferCounters } from '../packages/sdk/src/storage/batch-buffer.js';
import { classify } from '../packages/sdk/src/storage/http-sender.js';
import { encoderFor } from '../packages/sdk/src/storage/ilp-encoder.js';
import { tableDef } from './helpers/rows.js';

test('QuestDB answers are classified: accepted, rejected data, unavailable, configuration', () => {
  assert.deepEqual(classify(204, ''), { kind: 'ok' });
  const body = '{"code":"invalid","message":"failed to parse line protocol:errors encountered on line(s):\\nerror in line 2: x","line":2,"errorId":"a-1"}';
  assert.deepEqual(classify(400, body), { kind: 'rejected', status: 400, message: 'failed to parse line protocol:errors encountered on line(s):\nerror in line 2: x', line: 2, errorId: 'a-1' });
  assert.equal(classify(413, 'too large').kind, 'rejected');
  assert.equal(classify(401, 'Unauthorized').kind, 'config'); // QuestDB 9.3 with http.user set: plain-text 401
  assert.equal(classify(403, '').kind, 'config');
  assert.equal(classify(405, 'Method POST not supported').kind, 'config'); // a URL path that is not QuestDB's
  assert.equal(classify(500, '{"message":"disk full"}').kind, 'unavailable');
  assert.equal(classify(503, '').kind, 'unavailable');
  assert.equal(classify(429, '').kind, 'unavailable');
});

test('batch builder: sealed payloads stay intact while later batches reuse or replace the buffer', () => {
  const table = tableDef('w_builder', [['sym', 'SYMBOL'], ['note', 'VARCHAR'], ['px', 'DOUBLE']], ['ts']);
  const encoder = encoderFor(table);
  const builder = new BatchBuilder();
  const sealed: { payload: Buffer; expected: string }[] = [];
  let expected = '';
  let n = 0;
  // Batch sizes vary from a few rows to far beyond the initial 64 KiB, so both sealing paths (copy out, hand over)
  // and buffer growth are taken; a refused row in between must leave no trace.
  for (const rows of [3, 2000, 2100, 1, 5000, 10, 4000, 4000, 7]) {
    for (let i = 0; i < rows; i++, n++) {
      const row = { ts: n + 1, sym: `s${n % 13}`, note: `n${n}`.repeat(1 + (n % 5)), px: n / 4 };
      builder.add(encoder, row);
      expected += encoder.encode(row);
      if (i === 1) assert.throws(() => builder.add(encoder, { ts: 1, sym: 'x', px: Number.NaN }), /finite/);
    }
    assert.equal(builder.bytes, Buffer.byteLength(expected));
    const batch = builder.seal()!;
    assert.equal(batch.rows, rows);
    sealed.push({ payload: batch.payload, expected });
    expected = '';
  }
  assert.equal(builder.seal(), undefined);
  for (const [i, { payload, expected: text }] of sealed.entries()) assert.equal(payload.toString('utf8'), text, `batch ${i}`);
});

test('batch builder: a released buffer is reused; an abandoned one never; release is once and final', () => {
  const table = tableDef('w_pool', [['sym', 'SYMBOL'], ['note', 'VARCHAR']], ['ts']);
  const encoder = encoderFor(table);
  const builder = new BatchBuilder();
  let n = 0;
  /** Fills the builder until the buffer is nearly full, so seal() hands it over, and seals. */
  const fullBatch = () => {
    do builder.add(encoder, { ts: ++n, sym: `s${n % 7}`, note: `row ${n} `.repeat(8) });
    while (builder.bytes < 215_000);
    const batch = builder.seal()!;
    return { batch, text: batch.payload.toString('utf8') };
  };
  // Size the buffer to the batches first (the first seals grow it and may copy out).
  for (let i = 0; i < 3; i++) fullBatch().batch.release();
  const a = fullBatch();
  const b = fullBatch();
  assert.equal(builder.pooled, 0);
  a.batch.release();
  a.batch.release(); // idempotent
  assert.equal(a.batch.released, true);
  assert.throws(() => a.batch.payload, /released/);
  assert.equal(builder.pooled, 1);
  const before = { ...batchBufferCounters };
  const c = fullBatch(); // its seal takes a's buffer for the next batch
  const d = fullBatch(); // nothing released since: a new buffer
  assert.deepEqual(
    { reused: batchBufferCounters.reused - before.reused, allocated: batchBufferCounters.allocated - before.allocated },
    { reused: 1, allocated: 1 },
  );
  // Abandoned (b): never comes back, and its bytes stay intact while later batches are filled.
  b.batch.abandon();
  b.batch.release(); // after abandon: nothing to give back
  assert.equal(b.batch.payload.toString('utf8'), b.text);
  assert.equal(builder.pooled, 0);
  for (const x of [c, d]) assert.equal(x.batch.payload.toString('utf8'), x.text);
  // The pool holds at most BATCH_POOL_SIZE buffers.
  const many = Array.from({ length: BATCH_POOL_SIZE + 3 }, () => fullBatch());
  for (const x of many) {
    assert.equal(x.batch.payload.toString('utf8'), x.text);
    x.batch.release();
  }
  assert.equal(builder.pooled, BATCH_POOL_SIZE);
  // A copied-out (small) batch has no lease: releasing it gives nothing back.
  builder.add(encoder, { ts: 1, sym: 'x', note: 'y' });
  const small = builder.seal()!;
  small.release();
  assert.equal(builder.pooled, BATCH_POOL_SIZE);
});
