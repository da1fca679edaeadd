import { test } from 'node:test';
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { sleep } from '../packages/cli/src/daemon/backoff.js';

/**
 * Issue 13 item 6: "MaxListenersExceededWarning: 11 abort listeners added to [AbortSignal]". The daemon's windows
 * (symbols x datasets x exchanges) all wait on one AbortSignal, for instance while a Retry-After pause holds every
 * one of them; each wait added its own abort listener. A long run of concurrent waits must keep the signal at one
 * listener, leave none behind, raise no warning, and still wake every sleeper on abort.
 */
test('20 concurrent wait loops, 10 000 waits in all, keep one abort listener on the shared signal', async () => {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const abort = new AbortController();
    let maxListeners = 0;
    const sample = () => (maxListeners = Math.max(maxListeners, getEventListeners(abort.signal, 'abort').length));
    const loop = async () => {
      for (let i = 0; i < 500; i++) {
        const slept = sleep(i % 3, abort.signal);
        sample();
        assert.equal(await slept, true);
      }
    };
    await Promise.all(Array.from({ length: 20 }, loop));
    assert.ok(maxListeners <= 1, `at most one abort listener at any time, saw ${maxListeners}`);

    // Abort wakes every sleeper at once, with false, and nothing is left waiting on the signal's behalf.
    const pending = Array.from({ length: 50 }, () => sleep(60_000, abort.signal));
    assert.equal(getEventListeners(abort.signal, 'abort').length, 1);
    const started = Date.now();
    abort.abort();
    assert.deepEqual(new Set(await Promise.all(pending)), new Set([false]));
    assert.ok(Date.now() - started < 60_000);
    assert.equal(getEventListeners(abort.signal, 'abort').length, 0);
    assert.equal(await sleep(10, abort.signal), false, 'an aborted signal does not sleep');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(warnings.filter((w) => w.name === 'MaxListenersExceededWarning').map((w) => w.message), []);
  } finally {
    process.off('warning', onWarning);
  }
});
