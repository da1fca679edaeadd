import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after } from 'node:test';
import { ErrorCodes, TradewatchError, isTradewatchError } from '../../packages/sdk/src/common/errors.js';
import { createTableSql, createViewSql, tables, views } from '../../packages/sdk/src/schema/index.js';
import { applySchema, SqlClient, type SqlResult } from '../../packages/sdk/src/storage/index.js';
import { ILP_AUTO_CREATE_CONFIG, QUESTDB_VERSION, resolveQuestDb, SMALL_FOOTPRINT_CONFIG, startQuestDb, type QuestDbServer } from '../../packages/cli/src/questdb/index.js';

/**
 * An idle QuestDB's worker pools keep polling for work, sleeping `*.worker.sleep.timeout` between polls. At the default
 * that costs a test server 4-6 % of a core while it waits for the next request (measured on this 2-core box: 0.037 to
 * 0.060 of a core idle, 0.017 with 50 ms). A test file's server is idle most of its life, and on 2 cores shared by two
 * test files and pytest that is CPU the tests need. 50 ms is the first request's worst extra wait after an idle spell,
 * far below any test's timeout; the product's servers keep QuestDB's default.
 */
const IDLE_WORKER_SLEEP: Readonly<Record<string, string>> = Object.fromEntries(
  ['shared', 'wal.apply', 'http', 'http.min', 'mat.view.refresh', 'export', 'view.compiler'].map((pool) => [`${pool}.worker.sleep.timeout`, '50']),
);

/** Anything with node:test's `after(fn)`, such as the TestContext `t` of a test. */
export interface CleanupRegistrar {
  after(fn: () => Promise<void> | void): void;
}

/**
 * Cleanups of servers obtained without a `t`. They run in one file-level after hook, registered here at import
 * time: node:test's `after` called later from inside a before() hook would attach to that hook and run as soon
 * as it returns, stopping the server before any test used it.
 */
const fileLevelCleanups: (() => Promise<void>)[] = [];
after(async () => {
  await Promise.all(fileLevelCleanups.splice(0).map((cleanup) => cleanup()));
});

export interface UseQuestDbOptions {
  /** Extra server.conf settings for a fresh server (ignored for an external one). */
  extraConfig?: Record<string, string>;
  /**
   * ILP may create tables and columns (QuestDB's default; many storage tests write ad-hoc tables that way). Default
   * true here; tradewatch's managed server turns it off, and a test of that contract passes false.
   */
  ilpAutoCreate?: boolean;
  /**
   * Start on a data root that already holds tradewatch's schema (every table and view, the default TTLs): a copy of a
   * template made once per machine, QuestDB version and schema. Creating the 40-odd tables and views costs a test
   * file 1-5 s of server CPU, and most files only need them to exist. `applySchema` on such a server finds nothing to
   * change (tests that run it anyway still prove that). Tests of schema creation itself start empty (the default).
   */
  schema?: boolean;
}

/**
 * A QuestDB for tests: the external one when TRADEWATCH_QUESTDB_URL is set, else a fresh server on a fresh temp
 * data root and free loopback ports. It is stopped and its data root deleted after test `t` when given,
 * else after all tests of the file (so calling it from a describe's before() is fine). Calling stop() earlier
 * is fine too. Throws when no server can be had: a suite that needs QuestDB must fail loudly, never skip.
 * On an external server tables outlive the run: use names unique to the test.
 */
export async function useQuestDb(t?: CleanupRegistrar, options: UseQuestDbOptions = {}): Promise<QuestDbServer> {
  const external = await resolveQuestDb();
  if (external) return external;

  const dataRoot = await mkdtemp(join(tmpdir(), 'tradewatch-questdb-'));
  let server: QuestDbServer;
  try {
    if (options.schema) await copyDataRoot(await schemaTemplate(), dataRoot);
    // 3 minutes, not the product's 60 s: a JVM that shares two cores with other test files, pytest and whatever else
    // the machine runs was seen needing 70 s to answer. The timeout only tells a dead start from a slow one.
    server = await startQuestDb({ dataRoot, startTimeoutMs: 180_000, extraConfig: { ...SMALL_FOOTPRINT_CONFIG, ...IDLE_WORKER_SLEEP, ...(options.ilpAutoCreate === false ? {} : ILP_AUTO_CREATE_CONFIG), ...options.extraConfig } });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    throw new TradewatchError(
      isTradewatchError(err) ? err.code : ErrorCodes.QUESTDB_START_FAILED,
      `tests need a QuestDB and none could be started (data root kept at ${dataRoot}): ${reason}\n` +
        `Fix: Java 17+ and Maven (or a cached jar: bash scripts/fetch-questdb.sh), ` +
        `or point TRADEWATCH_QUESTDB_URL at a running QuestDB.`,
      { dataRoot },
      { cause: err },
    );
  }
  const cleanup = async () => {
    await server.stop();
    await rm(dataRoot, { recursive: true, force: true });
  };
  if (t) t.after(cleanup);
  else fileLevelCleanups.push(cleanup);
  return server;
}

/** Runs one statement on `server` (its credentials included); DDL/DML answer with no columns and no rows. */
export async function sql(server: QuestDbServer, query: string): Promise<SqlResult> {
  const url = new URL(server.httpUrl);
  if (server.credentials) {
    url.username = encodeURIComponent(server.credentials.username);
    url.password = encodeURIComponent(server.credentials.password);
  }
  return new SqlClient({ url: url.toString() }).query(query);
}

const run = promisify(execFile);

/** `cp -a` keeps QuestDB's sparse column files sparse (a plain copy would write every preallocated page). */
async function copyDataRoot(from: string, to: string): Promise<void> {
  await run('cp', ['-a', `${from}/.`, to]);
}

/**
 * The path of a stopped server's data root holding the current schema, made when missing. Keyed by the QuestDB
 * version and the schema's DDL, so a schema change makes a new one; made under a name of its own and renamed, so
 * files starting at the same time never see a half-made template (one of two concurrent makers discards its copy).
 */
async function schemaTemplate(): Promise<string> {
  const ddl = [...tables.map(createTableSql), ...views.map(createViewSql)].join('\n');
  const key = createHash('sha256').update(`${QUESTDB_VERSION}\n${ddl}`).digest('hex').slice(0, 16);
  const template = join(tmpdir(), `tradewatch-questdb-schema-${key}`);
  if (existsSync(template)) return template;
  const partial = await mkdtemp(join(tmpdir(), 'tradewatch-questdb-schema-partial-'));
  try {
    const server = await startQuestDb({ dataRoot: partial, startTimeoutMs: 180_000, extraConfig: SMALL_FOOTPRINT_CONFIG });
    try {
      await applySchema(new SqlClient({ url: server.httpUrl }));
    } finally {
      await server.stop();
    }
    await rm(join(partial, 'log'), { recursive: true, force: true });
    await rename(partial, template).catch((err: NodeJS.ErrnoException) => {
      // Another file made it first (rename onto a non-empty directory fails): theirs is as good as ours.
      if (!existsSync(template)) throw err;
    });
  } finally {
    await rm(partial, { recursive: true, force: true });
  }
  return template;
}
