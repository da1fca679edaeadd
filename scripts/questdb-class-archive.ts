// Prints the path of a class-data archive (AppCDS) for the pinned QuestDB jar, making it once per machine: a server
// started with -XX:SharedArchiveFile=<it> maps QuestDB's classes pre-parsed instead of loading and verifying them,
// which (with C1-only JIT) cuts a test server's start-up CPU time by about 2.5x. Used by scripts/test.sh only; the
// archive sits next to the cached jar, keyed by the QuestDB version and the Java build (the JVM ignores an archive
// from another build, with a warning in the server log, and starts normally). Prints nothing and exits 0 when the
// archive cannot be made: tests then start servers the ordinary way.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ensureQuestDbJar, QUESTDB_VERSION, SMALL_FOOTPRINT_CONFIG, startQuestDb } from '../packages/cli/src/questdb/index.js';
import { SqlClient } from '../packages/sdk/src/storage/index.js';

async function main(): Promise<void> {
  const jar = await ensureQuestDbJar();
  // The same java that startQuestDb runs (PATH here; TRADEWATCH_JAVA / JAVA_HOME there when set: then the archive is
  // merely ignored). `java -version` answers on stderr.
  const version = spawnSync(process.env.TRADEWATCH_JAVA ?? (process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'), ['-version'], { encoding: 'utf8' });
  if (version.status !== 0) throw new Error(`java -version failed: ${version.stderr}`);
  const javaBuild = `${version.stderr}${version.stdout}`;
  const key = createHash('sha256').update(javaBuild).digest('hex').slice(0, 12);
  const archive = join(dirname(jar), `questdb-${QUESTDB_VERSION}-${key}.jsa`);
  if (!existsSync(archive)) await makeArchive(archive);
  process.stdout.write(`${archive}\n`);
}

/** One server run that creates a table, writes and reads, then stops: its loaded classes are dumped at exit. */
async function makeArchive(archive: string): Promise<void> {
  const dataRoot = await mkdtemp(join(tmpdir(), 'tradewatch-questdb-cds-'));
  // Written under a name of its own, then renamed: concurrent set-ups never see a half-written archive.
  const partial = `${archive}.${process.pid}.tmp`;
  try {
    const server = await startQuestDb({ dataRoot, extraConfig: SMALL_FOOTPRINT_CONFIG, jvmOptions: [`-XX:ArchiveClassesAtExit=${partial}`], startTimeoutMs: 180_000, stopTimeoutMs: 180_000 });
    try {
      const sql = new SqlClient({ url: server.httpUrl });
      await sql.query('CREATE TABLE cds_warmup (ts TIMESTAMP, s SYMBOL, v DOUBLE) TIMESTAMP(ts) PARTITION BY DAY WAL DEDUP UPSERT KEYS(ts, s)');
      await sql.query("INSERT INTO cds_warmup VALUES (now(), 'a', 1.0)");
      await sql.query('SELECT s, sum(v) FROM cds_warmup SAMPLE BY 1h');
    } finally {
      await server.stop();
    }
    // The JVM writes the archive while it exits; a stop that had to SIGKILL leaves none.
    if (!existsSync(partial)) throw new Error(`QuestDB exited without writing ${partial}`);
    await rename(partial, archive);
  } finally {
    await rm(partial, { force: true });
    await rm(dataRoot, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`questdb-class-archive: none made, servers start without one: ${err instanceof Error ? err.message : String(err)}\n`);
});
