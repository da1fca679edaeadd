/**
 * The exporter's schedule in virtual time: each target is scraped at its first scrape plus whole intervals, and a
 * slot missed by a slow scrape is skipped, not caught up. The target is a real HTTP endpoint on loopback whose answer
 * the test releases; the writer is a recorder (the rows in real QuestDB are checked in exporter.test.ts).
 */
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createExporter, type ExporterWriter, type ScrapeReport } from '../packages/cli/src/exporter/index.js';
import { VirtualClock } from './helpers/virtual-clock.js';

const INTERVAL = 15_000;

test('scrapes run at the first scrape plus whole intervals; a slot missed by a slow scrape is skipped', async (t) => {
  const held: ServerResponse[] = [];
  const target = createServer((_req, res) => held.push(res));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => target.close(() => resolve())));
  const answer = () => {
    const res = held.shift();
    assert.ok(res, 'a scrape is waiting for its answer');
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end('# TYPE up_total counter\nup_total 1\n');
  };

  const rows: { name: string; ts: number }[] = [];
  const writer: ExporterWriter = {
    write: (_table, row) => void rows.push({ name: row.name as string, ts: row.ts as number }),
    flush: async () => {},
    close: async () => {},
  };
  const reports: ScrapeReport[] = [];
  let scraped: (() => void) | undefined;
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const exporter = createExporter({
    targets: [{ url: `http://127.0.0.1:${(target.address() as AddressInfo).port}/metrics`, service: 'svc' }],
    intervalMs: INTERVAL,
    timeoutMs: 5_000,
    writer,
    clock,
    onScrape: (report) => {
      reports.push(report);
      scraped?.();
    },
  });
  t.after(() => exporter.stop());
  const nextScrape = () => new Promise<void>((resolve) => (scraped = resolve));
  /** Waits (in real time, for the HTTP round trip) until the scrape in flight has reached the target. */
  const requested = async () => {
    for (let i = 0; i < 500 && held.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  };
  const t0 = clock.now();

  let done = nextScrape();
  exporter.start();
  await requested();
  answer();
  await done;
  for (let k = 1; k <= 3; k++) {
    await clock.advance(INTERVAL - 1);
    assert.equal(held.length, 0, `no scrape before slot ${k}`);
    done = nextScrape();
    await clock.advance(1);
    await requested();
    answer();
    await done;
  }
  // A scrape that takes 2.5 intervals (virtual time passes while its answer is held) skips the slots it overran.
  await clock.advance(INTERVAL);
  await requested();
  await clock.advance(2.5 * INTERVAL);
  done = nextScrape();
  answer();
  await done;
  await clock.advance(INTERVAL / 2 - 1);
  assert.equal(held.length, 0, 'the missed slots are not caught up');
  done = nextScrape();
  await clock.advance(1);
  await requested();
  answer();
  await done;

  // stop() leaves no timer behind: nothing can be scraped after it, however long one waits.
  await exporter.stop();
  assert.equal(clock.timerCount, 0);
  await clock.advance(10 * INTERVAL);
  assert.equal(held.length, 0, 'nothing after stop()');

  const slots = reports.map((r) => (r.ts / 1000 - t0) / INTERVAL);
  assert.deepEqual(slots, [0, 1, 2, 3, 4, 7]);
  assert.ok(reports.every((r) => r.up && r.samples === 1));
  assert.deepEqual(
    rows.filter((r) => r.name === 'up_total').map((r) => (r.ts / 1000 - t0) / INTERVAL),
    slots,
    'each scrape writes its samples at its own ts',
  );
});
