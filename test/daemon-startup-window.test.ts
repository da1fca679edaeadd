import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ProExchange } from '../packages/cli/src/daemon/ccxt-exchange.js';
import { RestClient } from '../packages/cli/src/daemon/rest.js';
import { WindowSchedule } from '../packages/cli/src/daemon/schedule.js';
import type { Monitor } from '../packages/sdk/src/sdk/index.js';
import { waitFor } from './helpers/rows.js';

/**
 * Issue 13 item 5: at start the daemon fetches the window already under way, whose deadline (its end) may leave a
 * request a fraction of requestTimeoutMs. Running out of that is not the exchange's fault: no `disconnected`, so no
 * alert at every start on a busy host. A full window that times out is still an outage.
 */
test('a start-up window cut short by its end marks no outage; a full window that times out does', async () => {
  const calls: { method: string; arg: Record<string, unknown> }[] = [];
  // Records what the daemon reports; storage is not involved in this decision.
  const monitor = new Proxy({}, { get: (_, method: string) => (arg: Record<string, unknown>) => calls.push({ method, arg }) }) as unknown as Monitor;
  // An exchange that never answers (a stall), with markets already loaded.
  const exchange = { id: 'stallex', markets: {}, last_response_headers: {}, fetchOpenInterest: () => new Promise(() => {}) } as unknown as ProExchange;
  const rest = new RestClient(exchange, monitor, 10_000);
  const abort = new AbortController();
  const schedule = new WindowSchedule(rest, monitor, 'open_interest', 1500, ['BTC/USDT:USDT'], abort.signal);
  // The start-up window is fetched only while more than its slack (100 ms) of it is left: start clear of its end,
  // so that this test is about a start-up fetch that runs out of window, never one that was not attempted.
  const intoWindow = Date.now() % 1500;
  if (intoWindow > 1000) await new Promise((resolve) => setTimeout(resolve, 1500 - intoWindow + 50));
  schedule.start();
  try {
    const fetches = () => calls.filter((c) => c.method === 'fetch');
    await waitFor(() => calls.some((c) => c.method === 'connectionState'), 30_000, () => JSON.stringify(calls.map((c) => c.method)));
    const firstState = calls.findIndex((c) => c.method === 'connectionState');
    const fetchesBefore = calls.slice(0, firstState).filter((c) => c.method === 'fetch');
    assert.ok(fetchesBefore.length >= 2, `the start-up window's timeout marked the channel: ${JSON.stringify(calls.slice(0, firstState + 1).map((c) => c.method))}`);
    assert.equal(fetchesBefore[0]!.arg.status, 'timeout', 'the start-up fetch is still recorded, as what it was');
    assert.deepEqual(calls[firstState]!.arg.state, 'disconnected');
    assert.equal(fetches()[0]!.arg.exchange, 'stallex');
  } finally {
    abort.abort();
    schedule.stop();
    await schedule.idle();
  }
});
