import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { QUESTDB_MAVEN_ARTIFACT, QUESTDB_MAVEN_GROUP, QUESTDB_VERSION } from './version.js';

/**
 * Where downloads (the QuestDB jar) are cached: TRADEWATCH_CACHE_DIR, else the user's cache directory
 * (`$XDG_CACHE_HOME/tradewatch`, `~/.cache/tradewatch`): never inside an installed package, and shared by every
 * checkout and install on the machine.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TRADEWATCH_CACHE_DIR) return resolve(env.TRADEWATCH_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), '.cache'), 'tradewatch');
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
