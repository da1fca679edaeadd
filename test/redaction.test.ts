import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { applySchema, SqlClient } from '../packages/sdk/src/storage/index.js';
import { useQuestDb } from './helpers/questdb.js';
import { listenForTest } from './helpers/writer.js';

/**
 * Items 16 and 18 of issue 13. QuestDB behind HTTP basic auth (as compose runs it: QDB_HTTP_USER/PASSWORD), modelled
 * by a proxy that answers 401 like QuestDB unless the credentials are right. Every command is run with a password
 * that must never appear in anything it prints, on success and on failure.
 */
const run = promisify(execFile);
const SECRET = 'Sup3r-s3cret-pw-7731';
const server = await useQuestDb(undefined, { schema: true });
await applySchema(new SqlClient({ url: server.httpUrl }));

async function authProxy(t: { after(fn: () => unknown): void }): Promise<string> {
  const expected = `Basic ${Buffer.from(`tradewatch:${SECRET}`).toString('base64')}`;
  const proxy = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers.authorization !== expected) {
        res.writeHead(401, { 'content-type': 'application/json' });
        res.end('{"message":"Unauthorized"}');
        return;
      }
      const body = Buffer.concat(chunks);
      fetch(`${server.httpUrl}${req.url}`, { method: req.method, body: body.length ? body : undefined, headers: { 'content-type': req.headers['content-type'] ?? 'text/plain' } }).then(
        async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        },
        (err: Error) => {
          res.writeHead(502);
          res.end(err.message);
        },
      );
    });
  });
  return listenForTest(t, proxy);
}

interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
}

async function tradewatch(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Outcome> {
  try {
    const { stdout, stderr } = await run('node', ['packages/cli/bin/tradewatch.js', ...args], { env, timeout: 120_000 });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

const assertNoSecret = (what: string, o: Outcome) => {
  for (const text of [o.stdout, o.stderr]) {
    assert.ok(!text.includes(SECRET), `${what} printed the password:\n${text}`);
    assert.ok(!text.includes(encodeURIComponent(SECRET)), `${what} printed the password (URL-encoded)`);
    assert.ok(!text.includes(Buffer.from(`tradewatch:${SECRET}`).toString('base64')), `${what} printed the basic-auth header`);
  }
};

test('no command prints the QuestDB password, on success or failure (item 16)', async (t) => {
  const proxy = await authProxy(t);
  const spool = await mkdtemp(join(tmpdir(), 'tradewatch-redact-'));
  t.after(() => rm(spool, { recursive: true, force: true }));
  const good = `http://tradewatch:${SECRET}@${new URL(proxy).host}`;
  const bad = `http://tradewatch:${SECRET}x@${new URL(proxy).host}`;
  const env = { ...process.env, TRADEWATCH_QUESTDB_URL: good, TRADEWATCH_WRITER_SPOOL_DIR: spool };
  const target = `questdb=${server.minHttpUrl}/metrics`;

  const exporter = await tradewatch(env, 'exporter', '--once', '--target', target);
  assert.equal(exporter.code, 0, exporter.stderr);
  assertNoSecret('exporter --once', exporter);
  const schema = await tradewatch(env, 'schema', 'apply', '--dry-run');
  assertNoSecret('schema apply', schema);
  assert.match(schema.stdout, /http:\/\/127\.0\.0\.1/);
  assertNoSecret('query', await tradewatch(env, 'query', 'SELECT count() FROM tw_fetches'));
  assertNoSecret('storage compact', await tradewatch(env, 'storage', 'compact', '--dry-run'));
  // The URL as a flag, and a long-running command's banner and logs.
  const daemon = await tradewatch({ ...process.env, TRADEWATCH_WRITER_SPOOL_DIR: spool }, 'daemon', '--simulate', '--duration', '3', '--metrics-port', '0', '--questdb-url', good);
  assert.equal(daemon.code, 0, daemon.stderr);
  assertNoSecret('daemon', daemon);
  // Errors: a wrong password (401), an unreachable QuestDB and a bad URL all name the URL, never the password.
  for (const url of [bad, `http://tradewatch:${SECRET}@127.0.0.1:9/`]) {
    const failed = await tradewatch({ ...env, TRADEWATCH_QUESTDB_URL: url }, 'schema', 'apply');
    assert.notEqual(failed.code, 0);
    assertNoSecret(`schema apply against ${url.replace(SECRET, '<secret>')}`, failed);
    const once = await tradewatch({ ...env, TRADEWATCH_QUESTDB_URL: url }, 'exporter', '--once', '--target', target);
    assertNoSecret('exporter --once (failing)', once);
  }
  const malformed = await tradewatch({ ...env, TRADEWATCH_QUESTDB_URL: `http//tradewatch:${SECRET}@nowhere` }, 'schema', 'apply');
  assert.equal(malformed.code, 2);
  assertNoSecret('a malformed URL', malformed);
});

test('exporter --once exits 1 when QuestDB refuses the write (401): the rows are not stored (item 18)', async (t) => {
  const proxy = await authProxy(t);
  const bad = `http://tradewatch:wrong-password@${new URL(proxy).host}`;
  const once = await tradewatch({ ...process.env, TRADEWATCH_QUESTDB_URL: bad }, 'exporter', '--once', '--target', `questdb=${server.minHttpUrl}/metrics`);
  assert.equal(once.code, 1, `exit ${once.code}\n${once.stdout}\n${once.stderr}`);
  assert.match(once.stdout, /^up +questdb /m, 'the scrape itself worked');
  assert.match(once.stderr, /stored 0 of \d+ rows .*HTTP 401/);
  const good = `http://tradewatch:${SECRET}@${new URL(proxy).host}`;
  const ok = await tradewatch({ ...process.env, TRADEWATCH_QUESTDB_URL: good }, 'exporter', '--once', '--target', `questdb=${server.minHttpUrl}/metrics`);
  assert.equal(ok.code, 0, ok.stderr);
});
