import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { systemClock } from '../packages/sdk/src/common/clock.js';
import { Backoff, backoffDelay } from '../packages/sdk/src/common/retry.js';
import { VirtualClock } from './helpers/virtual-clock.js';

describe('retry policy (shared by the writer and the daemon)', () => {
  it('doubles per attempt up to the cap, half fixed and half random', () => {
    assert.equal(backoffDelay(1, 100, 3000, () => 0), 50);
    assert.equal(backoffDelay(1, 100, 3000, () => 1), 100);
    assert.equal(backoffDelay(3, 100, 3000, () => 0), 200);
    assert.equal(backoffDelay(3, 100, 3000, () => 1), 400);
    assert.equal(backoffDelay(50, 100, 3000, () => 1), 3000);
    for (let attempt = 1; attempt < 40; attempt++) {
      const d = backoffDelay(attempt, 100, 3000);
      assert.ok(d >= 50 && d <= 3000, `attempt ${attempt}: ${d}`);
    }
  });

  it('Backoff counts failures and starts over after reset()', () => {
    const backoff = new Backoff({ initialDelayMs: 10, maxDelayMs: 1000 }, () => 1);
    assert.deepEqual([backoff.next(), backoff.next(), backoff.next()], [10, 20, 40]);
    assert.equal(backoff.attempts, 3);
    backoff.reset();
    assert.equal(backoff.next(), 10);
  });
});

describe('clock', () => {
  it('the virtual clock fires timers in time order only when advanced', async () => {
    const clock = new VirtualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push(`b@${clock.now()}`), 20);
    clock.setTimeout(() => fired.push(`a@${clock.now()}`), 10);
    const every = clock.setInterval(() => fired.push(`i@${clock.now()}`), 15);
    assert.deepEqual(fired, []);
    await clock.advance(31);
    assert.deepEqual(fired, ['a@1010', 'i@1015', 'b@1020', 'i@1030']);
    every.cancel();
    await clock.advance(100);
    assert.equal(fired.length, 4);
    assert.equal(clock.now(), 1131);
  });

  it('sleep resolves true when due and false on abort, on both clocks', async () => {
    const clock = new VirtualClock();
    const done = clock.sleep(50);
    await clock.advance(50);
    assert.equal(await done, true);
    const controller = new AbortController();
    const aborted = clock.sleep(50, controller.signal);
    controller.abort();
    assert.equal(await aborted, false);
    assert.equal(clock.timerCount, 0);
    assert.equal(await systemClock.sleep(1), true);
    assert.equal(await systemClock.sleep(10_000, AbortSignal.abort()), false);
  });
});
