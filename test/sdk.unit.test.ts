/** The SDK's pure parts: content negotiation for /metrics and the microsecond clock. No QuestDB. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMonitor, MicrosClock, negotiateFormat, type MonitorWriter } from '../packages/sdk/src/sdk/index.js';

/** What a real Prometheus sends (scrape_protocols default), preferring OpenMetrics. */
const PROMETHEUS_ACCEPT = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

test('content negotiation follows q values', () => {
  assert.equal(negotiateFormat(undefined), 'prometheus');
  assert.equal(negotiateFormat(''), 'prometheus');
  assert.equal(negotiateFormat('*/*'), 'prometheus');
  assert.equal(negotiateFormat(PROMETHEUS_ACCEPT), 'openmetrics');
  assert.equal(negotiateFormat('application/openmetrics-text'), 'openmetrics');
  assert.equal(negotiateFormat('text/plain;q=0.9, application/openmetrics-text;q=0.5'), 'prometheus');
  assert.equal(negotiateFormat('application/openmetrics-text;q=0'), 'prometheus');
});

test('the clock is strictly increasing in microseconds and follows the wall clock', () => {
  // Injected wall and monotonic clocks: what is checked is arithmetic, not how fast this machine runs.
  let wall = 1_700_000_000_000;
  let hr = 0;
  const clock = new MicrosClock(() => wall, () => hr);
  let last = 0;
  for (let i = 0; i < 200_000; i++) {
    const now = clock.now();
    assert.ok(Number.isSafeInteger(now) && now > last, `reading ${i}: ${now} after ${last}`);
    last = now;
  }
  // Faster than one reading per µs, the clock runs ahead by at most the readings; it settles back once time passes.
  assert.equal(last - wall * 1000, 199_999);
  wall += 300;
  hr += 300;
  assert.equal(clock.now(), wall * 1000, 'on the wall clock again 300 ms later');
  // The wall clock is re-read at least every second: a step forward (NTP) is followed.
  wall += 1550;
  hr += 1500;
  assert.equal(clock.now(), wall * 1000);

  // A wall clock stepping back never makes readings go back.
  const before = clock.now();
  wall -= 60_000;
  hr += 1500; // past the re-anchoring interval
  assert.ok(clock.now() > before);

  // With the real clocks, a reading lies between the Date.now() readings around it (to the millisecond).
  const real = new MicrosClock();
  const from = Date.now();
  const reading = real.now() / 1000;
  const to = Date.now();
  assert.ok(reading >= from - 1 && reading <= to + 1, `${reading} within [${from}, ${to}]`);
});

test('the monitor refuses a host that is not a name, naming the option and the value', () => {
  // Refused before anything is written: the writer is never called.
  const writer = { write: () => assert.fail('no row'), flush: async () => undefined } as unknown as MonitorWriter;
  for (const [host, shown] of [['', '""'], ['h'.repeat(257), 'h'], [42, '42']] as const) {
    assert.throws(() => createMonitor({ service: 's', instance: 'i', host: host as string, writer, sampleIntervalMs: 0 }), (err: Error) => {
      assert.match(err.message, /host must be a non-empty string of at most 256 characters/);
      assert.ok(err.message.includes(shown), err.message);
      return true;
    });
  }
});
