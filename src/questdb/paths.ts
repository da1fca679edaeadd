import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QUESTDB_MAVEN_ARTIFACT, QUESTDB_MAVEN_GROUP, QUESTDB_VERSION } from './version.js';

// src/questdb/paths.ts and dist/questdb/paths.js both sit two levels below the package root.
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Where downloads are cached: TRADEWATCH_CACHE_DIR, else `<repo>/.cache` (git-ignored). */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.TRADEWATCH_CACHE_DIR ? resolve(env.TRADEWATCH_CACHE_DIR) : join(packageRoot, '.cache');
}

export function cachedJarPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(cacheDir(env), 'questdb', `${QUESTDB_MAVEN_ARTIFACT}-${QUESTDB_VERSION}.jar`);
}

/** The jar as Maven leaves it in the default local repository, with Maven's `.sha1` beside it. */
export function localMavenJarPath(): string {
  return join(
    homedir(), '.m2', 'repository', ...QUESTDB_MAVEN_GROUP.split('.'), QUESTDB_MAVEN_ARTIFACT, QUESTDB_VERSION,
    `${QUESTDB_MAVEN_ARTIFACT}-${QUESTDB_VERSION}.jar`,
  );
}

/** Data root used by the CLI when none is given: TRADEWATCH_QUESTDB_DATA_ROOT, else `.cache/questdb-data` under cwd. */
export function defaultDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.TRADEWATCH_QUESTDB_DATA_ROOT ?? join('.cache', 'questdb-data'));
}

/** Files tradewatch keeps inside a QuestDB data root (next to QuestDB's own conf/, db/, public/). */
export function dataRootFiles(dataRoot: string) {
  return {
    serverConf: join(dataRoot, 'conf', 'server.conf'),
    logDir: join(dataRoot, 'log'),
    /** The JVM's temp dir: QuestDB unpacks its native library there at every start (~4 MB). */
    tmpDir: join(dataRoot, 'tmp'),
    logFile: join(dataRoot, 'log', 'questdb.log'),
    pidFile: join(dataRoot, 'questdb.pid'),
    stateFile: join(dataRoot, 'tradewatch.json'),
  };
}
