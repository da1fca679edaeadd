import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { ErrorCodes, isTradewatchError } from '../packages/sdk/src/common/errors.js';
import {
  QUESTDB_VERSION,
  connectQuestDb,
  questDbStatus,
  resolveQuestDb,
  startQuestDb,
  type QuestDbServer,
} from '../packages/cli/src/questdb/index.js';
import { sql, useQuestDb } from './helpers/questdb.js';

/** Listening TCP sockets on `port` as dotted IPv4 / hex IPv6 addresses, read from /proc (no `ss` needed). */
async function listenersOn(port: number): Promise<string[]> {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const lines = (await readFile(file, 'utf8')).split('\n').slice(1);
    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state !== '0A' || !local) continue; // 0A = LISTEN
      const [addressHex = '', portHex = ''] = local.split(':');
      if (parseInt(portHex, 16) !== port) continue;
      // IPv4 entries are the address in host (little-endian) byte order.
      found.push(addressHex.length === 8 ? (addressHex.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)).join('.') : addressHex);
    }
  }
  return found;
}

async function eventually<T>(what: string, probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) assert.fail(`${what}: still ${JSON.stringify(value)} after ${timeoutMs} ms`);
    await sleep(200);
  }
}

const countRows = async (server: QuestDbServer) => (await sql(server, 'select count() from lifecycle_probe')).dataset[0]?.[0];

describe('managed QuestDB server (real process)', { timeout: 120_000 }, () => {
  let dataRoot: string;
  let server: QuestDbServer;

  before(async () => {
    dataRoot = await mkdtemp(join(tmpdir(), 'tradewatch-lifecycle-'));
    server = await startQuestDb({ dataRoot });
  });

  after(async () => {
    await server?.stop();
    if (dataRoot) await rm(dataRoot, { recursive: true, force: true });
  });

  it('starts on free loopback ports and answers SQL', async () => {
    assert.equal(server.kind, 'managed');
    assert.match(server.httpUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.ok(server.pid && server.pid > 0);
    const ports = [new URL(server.httpUrl).port, new URL(server.minHttpUrl).port, server.pgPort, server.ilpTcpPort].map(Number);
    assert.equal(new Set(ports).size, 4, `four distinct ports, got ${ports}`);
    assert.ok(ports.every((p) => ![9000, 9003, 8812, 9009].includes(p)), 'not the standard ports');
    const result = await sql(server, 'select 1 as one');
    assert.deepEqual(result.columns.map((c) => c.name), ['one']);
    assert.deepEqual(result.dataset, [[1]]);
  });

  it('records its state in the data root', async () => {
    const state = JSON.parse(await readFile(join(dataRoot, 'tradewatch.json'), 'utf8'));
    assert.equal(state.version, QUESTDB_VERSION);
    assert.equal(state.pid, server.pid);
    assert.equal((await readFile(join(dataRoot, 'questdb.pid'), 'utf8')).trim(), String(server.pid));
    assert.ok((await stat(join(dataRoot, 'log', 'questdb.log'))).size > 0);
    // The native library QuestDB unpacks at start goes into the data root, which is deleted with it, not into /tmp.
    assert.ok((await readdir(join(dataRoot, 'tmp'))).some((f) => /^libquestdb.*\.so$/.test(f)), 'native library in <dataRoot>/tmp');
    const status = await questDbStatus(dataRoot);
    assert.equal(status.state, 'running');
    assert.equal(status.pid, server.pid);
  });

  it('serves Prometheus text on the min HTTP server', async () => {
    const response = await fetch(`${server.minHttpUrl}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/plain/);
    assert.match(await response.text(), /^# TYPE questdb_\w+ (counter|gauge)/m);
  });

  it('binds every listener to 127.0.0.1 only, with telemetry off', async () => {
    const conf = await readFile(join(dataRoot, 'conf', 'server.conf'), 'utf8');
    assert.match(conf, /^telemetry\.enabled=false$/m);
    assert.doesNotMatch(conf, /0\.0\.0\.0/);
    for (const key of ['http.net.bind.to', 'http.min.net.bind.to', 'pg.net.bind.to', 'line.tcp.net.bind.to']) {
      assert.match(conf, new RegExp(`^${key.replaceAll('.', '\\.')}=127\\.0\\.0\\.1:\\d+$`, 'm'));
    }
    const ports = [new URL(server.httpUrl).port, new URL(server.minHttpUrl).port, server.pgPort, server.ilpTcpPort].map(Number);
    for (const port of ports) assert.deepEqual(await listenersOn(port), ['127.0.0.1'], `listeners on port ${port}`);
  });

  it('refuses a second server on the same data root', async () => {
    await assert.rejects(startQuestDb({ dataRoot }), (err) => isTradewatchError(err, ErrorCodes.QUESTDB_START_FAILED));
  });

  it('keeps committed data across SIGKILL and restart on the same data root and ports', async () => {
    await sql(server, 'create table lifecycle_probe (ts timestamp, price double) timestamp(ts) partition by day wal');
    await sql(server, "insert into lifecycle_probe values ('2024-01-01T00:00:00Z', 1.5), ('2024-01-01T00:00:01Z', 2.5), ('2024-01-01T00:00:02Z', 3.5)");
    await eventually('rows visible before the crash', () => countRows(server), (n) => n === 3);

    const { httpUrl, pid: crashedPid } = server;
    await server.kill();
    assert.equal(server.pid, undefined);
    assert.equal(server.lastExit?.signal, 'SIGKILL');
    assert.equal(server.lastExit?.clean, false);

    await server.restart();
    assert.equal(server.httpUrl, httpUrl);
    assert.ok(server.pid && server.pid !== crashedPid);
    await eventually('rows visible after restart', () => countRows(server), (n) => n === 3);
    const prices = await sql(server, 'select price from lifecycle_probe order by ts');
    assert.deepEqual(prices.dataset, [[1.5], [2.5], [3.5]]);
  });

  it('is reachable as an external server by URL, which cannot be stopped from here', async () => {
    const external = await connectQuestDb(`http://admin:quest@127.0.0.1:${new URL(server.httpUrl).port}/`, { pgPort: server.pgPort });
    assert.equal(external.kind, 'external');
    assert.equal(external.httpUrl, server.httpUrl);
    assert.deepEqual(external.credentials, { username: 'admin', password: 'quest' });
    assert.equal(external.ilpConfig, `http::addr=127.0.0.1:${new URL(server.httpUrl).port};username=admin;password=quest;`);
    assert.deepEqual((await sql(external, 'select 2')).dataset, [[2]]);
    for (const action of [external.stop, external.kill, external.restart]) {
      await assert.rejects(action(), (err) => isTradewatchError(err, ErrorCodes.QUESTDB_NOT_MANAGED));
    }
    assert.equal(await resolveQuestDb({}), undefined);
  });

  it('stops cleanly on SIGTERM and frees its ports', async () => {
    const stoppedPid = server.pid;
    await server.stop();
    assert.equal(server.pid, undefined);
    assert.equal(server.lastExit?.clean, true, `exit ${JSON.stringify(server.lastExit)}`);
    assert.ok(server.lastExit?.code === 0 || server.lastExit?.code === 143, `exit code ${server.lastExit?.code}`);
    assert.equal((await questDbStatus(dataRoot)).state, 'stopped');
    await assert.rejects(stat(join(dataRoot, 'questdb.pid')));
    assert.deepEqual(await listenersOn(server.pgPort), []);
    assert.ok(stoppedPid);
  });
});

describe('connectQuestDb', () => {
  it('reports an unreachable server with its own error code', async () => {
    await assert.rejects(connectQuestDb('http://127.0.0.1:1', { timeoutMs: 2_000 }), (err) =>
      isTradewatchError(err, ErrorCodes.QUESTDB_UNREACHABLE),
    );
  });
});

describe('useQuestDb test helper', { timeout: 120_000 }, () => {
  it('hands out a working server and cleans it up after the test', async (t) => {
    const server = await useQuestDb(t);
    assert.deepEqual((await sql(server, 'select 40 + 2')).dataset, [[42]]);
    await assert.rejects(sql(server, 'select * from no_such_table'), (err) => isTradewatchError(err, ErrorCodes.QUESTDB_SQL_ERROR));
  });
});
