import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { dataRootFiles } from './paths.js';
import type { QuestDbPorts } from './ports.js';

/** What `<dataRoot>/tradewatch.json` records about the server last started there. */
export interface QuestDbState {
  version: string;
  pid: number;
  ports: QuestDbPorts;
  httpUrl: string;
  minHttpUrl: string;
  startedAt: string;
  java: string;
  jar: string;
}

export async function writeState(dataRoot: string, state: QuestDbState): Promise<void> {
  const files = dataRootFiles(dataRoot);
  await writeFile(files.pidFile, `${state.pid}\n`);
  await writeFile(files.stateFile, `${JSON.stringify(state, null, 2)}\n`);
}

export async function readState(dataRoot: string): Promise<QuestDbState | undefined> {
  try {
    const parsed = JSON.parse(await readFile(dataRootFiles(dataRoot).stateFile, 'utf8')) as QuestDbState;
    return typeof parsed.pid === 'number' && parsed.ports ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/** Forgets the pid once the server is known to be gone; the state file keeps the ports for the next start. */
export async function clearPid(dataRoot: string): Promise<void> {
  await rm(dataRootFiles(dataRoot).pidFile, { force: true });
}

/**
 * True when `pid` is alive and is a QuestDB server for `dataRoot`. Checking the command line guards against
 * pid reuse: a stale pid file must never make `stop` signal an unrelated process. Zombies count as gone.
 */
export function isQuestDbProcess(pid: number, dataRoot: string): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  let cmdline: string;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (/\) Z /.test(stat)) return false;
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return true; // no /proc (not Linux): the signal probe above is all we can know
  }
  const args = cmdline.split('\0');
  return args.includes('io.questdb.ServerMain') && args.includes(dataRoot);
}
