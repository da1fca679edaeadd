import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { useQuestDb } from './helpers/questdb.js';
import { prepareSchema, questDbUrl, waitForRows } from './fixtures/sdk-helpers.js';

// Real QuestDB; a real child process killed with SIGKILL and started again under the same service and instance.
const server = await useQuestDb(undefined, { schema: true });
const sql = await prepareSchema(server);
const daemon = fileURLToPath(new URL('./fixtures/sdk-daemon.ts', import.meta.url));

async function startDaemon(service: string, instance: string): Promise<{ child: ChildProcess; exited: Promise<[number | null, NodeJS.Signals | null]> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', daemon, questDbUrl(server), service, instance], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  let stdout = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`daemon did not get ready in 30 s; stderr:\n${stderr}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('ready')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then(([code, signal]) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited before ready (code ${code}, signal ${signal}); stderr:\n${stderr}`));
    });
  });
  return { child, exited };
}

test('a daemon killed with SIGKILL and started again shows as one restart and one crash', async () => {
  const service = `sdk-restart-${Date.now().toString(36)}`;
  const first = await startDaemon(service, 'host-a');
  first.child.kill('SIGKILL');
  assert.deepEqual(await first.exited, [null, 'SIGKILL']);

  const second = await startDaemon(service, 'host-a');
  // SIGTERM: the monitor's handler writes the stop row, flushes, then re-raises the signal.
  second.child.kill('SIGTERM');
  assert.deepEqual(await second.exited, [null, 'SIGTERM']);

  const events = await waitForRows<{ event: string; pid: number; reason: string | null; version: string }>(
    sql,
    `SELECT event, pid, reason, version FROM tw_process_events WHERE service = '${service}' AND instance = 'host-a' ORDER BY ts`,
    (rows) => rows.length === 3,
  );
  assert.deepEqual(
    events.map((e) => [e.event, e.pid, e.reason, e.version]),
    [
      ['start', first.child.pid, null, 'fixture'],
      ['start', second.child.pid, null, 'fixture'],
      ['stop', second.child.pid, 'SIGTERM', 'fixture'],
    ],
  );

  // What a dashboard asks: restarts = starts − 1; crashes = starts not preceded by a stop (the first start excluded).
  const [counts] = await sql.rows<{ starts: number; stops: number }>(
    `SELECT sum(CASE WHEN event = 'start' THEN 1 ELSE 0 END) starts, sum(CASE WHEN event = 'stop' THEN 1 ELSE 0 END) stops
     FROM tw_process_events WHERE service = '${service}'`,
  );
  assert.equal(counts!.starts - 1, 1, 'one restart');
  let crashes = 0;
  for (let i = 1; i < events.length; i++) if (events[i]!.event === 'start' && events[i - 1]!.event === 'start') crashes++;
  assert.equal(crashes, 1, 'the SIGKILLed run left no stop row');
});
