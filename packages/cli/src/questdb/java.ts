import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';

/** QuestDB 9.x needs Java 17 or newer. */
export const MIN_JAVA_MAJOR = 17;

export interface JavaRuntime {
  executable: string;
  major: number;
}

const checked = new Map<string, JavaRuntime>();

/**
 * Picks the java executable: TRADEWATCH_JAVA (a java binary or a JDK directory), else JAVA_HOME/bin/java,
 * else `java` on PATH; and checks that it runs and is recent enough.
 */
export function findJava(env: NodeJS.ProcessEnv = process.env): JavaRuntime {
  const executable = chooseExecutable(env);
  const known = checked.get(executable);
  if (known) return known;

  const result = spawnSync(executable, ['-version'], { encoding: 'utf8', timeout: 15_000 });
  const source = env.TRADEWATCH_JAVA ? 'TRADEWATCH_JAVA' : env.JAVA_HOME ? 'JAVA_HOME' : 'PATH';
  if (result.error || result.status !== 0) {
    throw new TradewatchError(
      ErrorCodes.JAVA_UNAVAILABLE,
      `cannot run Java (${executable}, from ${source}): install a JDK ${MIN_JAVA_MAJOR}+ ` +
        `(e.g. 'apt-get install openjdk-17-jre-headless') or point TRADEWATCH_JAVA at a java binary`,
      { executable },
      { cause: result.error },
    );
  }
  // `java -version` writes e.g. `openjdk version "17.0.15" 2025-04-15` (or "1.8.0_392" before Java 9) to stderr.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(`${result.stderr}\n${result.stdout}`);
  const first = Number(match?.[1]);
  const major = first === 1 ? Number(match?.[2]) : first;
  if (!Number.isFinite(major) || major < MIN_JAVA_MAJOR) {
    throw new TradewatchError(
      ErrorCodes.JAVA_UNAVAILABLE,
      `QuestDB needs Java ${MIN_JAVA_MAJOR}+, but ${executable} (from ${source}) is ` +
        `${match ? `Java ${major}` : 'of unknown version'}: install a newer JDK or set TRADEWATCH_JAVA`,
      { executable, major },
    );
  }
  const runtime = { executable, major };
  checked.set(executable, runtime);
  return runtime;
}

function chooseExecutable(env: NodeJS.ProcessEnv): string {
  const explicit = env.TRADEWATCH_JAVA;
  if (explicit) return isDirectory(explicit) ? join(explicit, 'bin', 'java') : explicit;
  if (env.JAVA_HOME) return join(env.JAVA_HOME, 'bin', 'java');
  return 'java';
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
