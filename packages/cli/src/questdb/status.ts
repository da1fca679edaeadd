import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { answersSelectOne } from './http.js';
import { dataRootFiles } from './paths.js';
import type { QuestDbPorts } from './ports.js';
import { clearPid, isQuestDbProcess, readState } from './state.js';

export interface QuestDbStatus {
  dataRoot: string;
  /**
   * running: process alive and answering SQL; unresponsive: process alive, HTTP not answering (starting or hung);
   * stopped: started here before, no process now; absent: tradewatch never started a server on this data root.
   */
  state: 'running' | 'unresponsive' | 'stopped' | 'absent';
  pid?: number;
  version?: string;
  ports?: QuestDbPorts;
  httpUrl?: string;
  minHttpUrl?: string;
  startedAt?: string;
  logFile: string;
}

/** Reads `<dataRoot>/tradewatch.json`, checks the recorded process and probes its HTTP port. */
export async function questDbStatus(dataRoot: string): Promise<QuestDbStatus> {
  const root = resolve(dataRoot);
  const logFile = dataRootFiles(root).logFile;
  const state = await readState(root);
  if (!state) return { dataRoot: root, state: 'absent', logFile };
  const recorded = {
    version: state.version,
    ports: state.ports,
    httpUrl: state.httpUrl,
    minHttpUrl: state.minHttpUrl,
    startedAt: state.startedAt,
  };
  if (!isQuestDbProcess(state.pid, root)) return { dataRoot: root, state: 'stopped', ...recorded, logFile };
  const answering = await answersSelectOne(state.httpUrl, undefined, 2_000);
  return { dataRoot: root, state: answering ? 'running' : 'unresponsive', pid: state.pid, ...recorded, logFile };
}

export interface StopResult {
  /** False when no server was running on that data root (nothing was signalled). */
  wasRunning: boolean;
  pid?: number;
  /** True when SIGTERM was not enough within the timeout and SIGKILL was sent. */
  forced: boolean;
}

/**
 * Stops the server recorded in `<dataRoot>` (typically a background one started by the CLI, so not our child):
 * SIGTERM, poll until gone, SIGKILL after `timeoutMs`.
 */
export async function stopQuestDbAt(dataRoot: string, timeoutMs = 15_000): Promise<StopResult> {
  const root = resolve(dataRoot);
  const state = await readState(root);
  if (!state || !isQuestDbProcess(state.pid, root)) {
    await clearPid(root);
    return { wasRunning: false, forced: false };
  }
  const { pid } = state;
  const gone = async (withinMs: number) => {
    const deadline = Date.now() + withinMs;
    while (isQuestDbProcess(pid, root)) {
      if (Date.now() >= deadline) return false;
      await sleep(100);
    }
    return true;
  };
  signal(pid, 'SIGTERM');
  let forced = false;
  if (!(await gone(timeoutMs))) {
    forced = true;
    signal(pid, 'SIGKILL');
    await gone(10_000);
  }
  await clearPid(root);
  return { wasRunning: true, pid, forced };
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err;
  }
}
