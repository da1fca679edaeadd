import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { cachedJarPath, localMavenJarPath } from './paths.js';
import { QUESTDB_MAVEN_ARTIFACT, QUESTDB_MAVEN_GROUP, QUESTDB_VERSION } from './version.js';

export interface EnsureJarOptions {
  /** Receives short human-readable progress lines (only printed when something has to be fetched). */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

const coordinates = `${QUESTDB_MAVEN_GROUP}:${QUESTDB_MAVEN_ARTIFACT}:${QUESTDB_VERSION}`;

/**
 * Returns the path of the pinned QuestDB server jar, fetching it through Maven on first use.
 * The cached jar is trusted only while it matches the `.sha1` that Maven Central publishes for it.
 */
export async function ensureQuestDbJar(options: EnsureJarOptions = {}): Promise<string> {
  const jarPath = cachedJarPath(options.env);
  if (await matchesRecordedSha1(jarPath)) return jarPath;

  const progress = options.onProgress ?? (() => {});
  await mkdir(dirname(jarPath), { recursive: true });
  // Staged in a private directory and renamed into place, so concurrent test processes never see half a jar.
  const staging = await mkdtemp(join(dirname(jarPath), '.staging-'));
  try {
    const staged = join(staging, basename(jarPath));
    if (!(await copyFromLocalMavenRepo(staged))) {
      progress(`fetching QuestDB ${QUESTDB_VERSION} (${coordinates}) through Maven…`);
      await mavenCopy(`${coordinates}:jar`, staging, progress);
      await mavenCopy(`${coordinates}:jar.sha1`, staging, progress);
    }
    if (!(await matchesRecordedSha1(staged))) {
      throw new TradewatchError(
        ErrorCodes.QUESTDB_JAR_UNAVAILABLE,
        `the downloaded ${basename(jarPath)} does not match the sha1 Maven Central publishes; ` +
          `delete ~/.m2/repository/${QUESTDB_MAVEN_GROUP.replaceAll('.', '/')}/${QUESTDB_MAVEN_ARTIFACT}/${QUESTDB_VERSION} and retry`,
        { jarPath: staged },
      );
    }
    // The checksum goes first: a jar without its checksum beside it is never taken as valid.
    await rename(`${staged}.sha1`, `${jarPath}.sha1`);
    await rename(staged, jarPath);
    progress(`QuestDB ${QUESTDB_VERSION} jar ready: ${jarPath}`);
    return jarPath;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

async function sha1Of(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** True when `path` exists and its sha1 equals the one recorded in `path.sha1` (Maven's format: hash, maybe a name). */
async function matchesRecordedSha1(path: string): Promise<boolean> {
  let expected: string;
  try {
    expected = (await readFile(`${path}.sha1`, 'utf8')).trim().split(/\s+/)[0]?.toLowerCase() ?? '';
  } catch {
    return false;
  }
  try {
    return /^[0-9a-f]{40}$/.test(expected) && (await sha1Of(path)) === expected;
  } catch {
    return false;
  }
}

/** Uses the jar already in ~/.m2 (with Maven's checksum) when there is one: no Maven start-up, works offline. */
async function copyFromLocalMavenRepo(target: string): Promise<boolean> {
  const source = localMavenJarPath();
  if (!(await matchesRecordedSha1(source))) return false;
  await copyFile(source, target);
  await writeFile(`${target}.sha1`, await readFile(`${source}.sha1`));
  return true;
}

function mavenCopy(artifact: string, outputDirectory: string, progress: (line: string) => void): Promise<void> {
  const args = [
    '-B', '-Dstyle.color=never', 'dependency:copy', `-Dartifact=${artifact}`, `-DoutputDirectory=${outputDirectory}`,
  ];
  return new Promise((resolve, reject) => {
    const child = spawn('mvn', args, { stdio: ['ignore', 'pipe', 'pipe'], cwd: outputDirectory });
    const recent: string[] = [];
    const onLine = (line: string) => {
      recent.push(line);
      if (recent.length > 40) recent.shift();
      // Only the lines about our artifact: Maven's own plugin downloads are noise to a user.
      if (/Download(ing|ed) from/.test(line) && line.includes(`${QUESTDB_MAVEN_ARTIFACT}-${QUESTDB_VERSION}`)) {
        progress(`  ${line.replace(/^\[INFO\]\s*/, '')}`);
      }
    };
    createInterface({ input: child.stdout }).on('line', onLine);
    createInterface({ input: child.stderr }).on('line', onLine);
    child.on('error', (err: NodeJS.ErrnoException) => {
      reject(
        new TradewatchError(
          ErrorCodes.QUESTDB_JAR_UNAVAILABLE,
          err.code === 'ENOENT'
            ? `Maven (mvn) is not installed, and the QuestDB ${QUESTDB_VERSION} jar is not cached yet: ` +
              `install Maven (e.g. 'apt-get install maven') and make sure Maven Central is reachable`
            : `could not run mvn to fetch QuestDB ${QUESTDB_VERSION}: ${err.message}`,
          { artifact },
          { cause: err },
        ),
      );
    });
    child.on('close', (code) => {
      if (code === 0) return resolve();
      const errors = recent.filter((l) => l.startsWith('[ERROR]')).slice(0, 5);
      reject(
        new TradewatchError(
          ErrorCodes.QUESTDB_JAR_UNAVAILABLE,
          `Maven could not fetch ${artifact} (exit ${code}); check network access to Maven Central ` +
            `(and any proxy/mirror in ~/.m2/settings.xml)${errors.length ? `:\n${errors.join('\n')}` : ''}`,
          { artifact, exitCode: code, output: recent.join('\n') },
        ),
      );
    });
  });
}
