import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { answersSelectOne } from './http.js';
import { ensureQuestDbJar } from './jar.js';
import { findJava, type JavaRuntime } from './java.js';
import { openLogForAppend, tailLines } from './log-file.js';
import { dataRootFiles } from './paths.js';
import { completePorts, LOOPBACK, PORT_NAMES, waitForPortsFree, type QuestDbPorts } from './ports.js';
import { guardChild } from './process-guard.js';
import { renderServerConf, writeServerConf } from './server-conf.js';
import { clearPid, isQuestDbProcess, readState, writeState } from './state.js';
import type { QuestDbExit, QuestDbServer } from './types.js';
import { QUESTDB_VERSION } from './version.js';

export interface StartQuestDbOptions {
  /** QuestDB root directory (conf/, db/, log/ …); created if missing. */
  dataRoot: string;
  /** Ports to listen on (127.0.0.1 only); any not given is a free port picked at start. */
  ports?: Partial<QuestDbPorts>;
  /** More server.conf settings; they override tradewatch's defaults, except the listener addresses. */
  extraConfig?: Record<string, string>;
  /** How long to wait for `select 1` to answer. Default 60 s (a cold JVM on a busy 2-core box). */
  startTimeoutMs?: number;
  /** How long stop() waits after SIGTERM before SIGKILL. Default 15 s. */
  stopTimeoutMs?: number;
  /** JVM heap limit (-Xmx). Default TRADEWATCH_QUESTDB_HEAP or 1g; QuestDB keeps its data off-heap. */
  heap?: string;
  /**
   * More JVM flags, before the class path. Default: TRADEWATCH_QUESTDB_JVM_OPTIONS split on spaces, else none. The test
   * runner sets it to start servers faster (a class-data archive, C1-only JIT): a test suite starts dozens of short-lived
   * servers, and start-up compilation is most of their start time.
   */
  jvmOptions?: readonly string[];
  /** Where stdout/stderr go. Default `<dataRoot>/log/questdb.log`. */
  logFile?: string;
  /** Keep the server running after this Node process exits (the CLI's background mode). */
  detached?: boolean;
  /**
   * Run the server in a process group of its own, so that a terminal's Ctrl-C (sent to the foreground group)
   * reaches only the parent, which can then stop its producers first and QuestDB last. It is still killed if
   * this Node process exits without stopping it (unless `detached`).
   */
  ownProcessGroup?: boolean;
  /** Progress lines while the jar is being fetched. */
  onProgress?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

interface LaunchSettings {
  dataRoot: string;
  ports: QuestDbPorts;
  serverConf: string;
  java: JavaRuntime;
  jar: string;
  heap: string;
  jvmOptions: readonly string[];
  logFile: string;
  detached: boolean;
  ownProcessGroup: boolean;
  startTimeoutMs: number;
  stopTimeoutMs: number;
  childEnv: NodeJS.ProcessEnv;
}

const BIND_FAILURE = /could not bind socket/;
/** Starts with auto-picked ports may lose a race for a port to another process; pick again this often. */
const MAX_PORT_ATTEMPTS = 3;

/** Starts a QuestDB server on `dataRoot` and resolves once it answers SQL over HTTP. */
export async function startQuestDb(options: StartQuestDbOptions): Promise<QuestDbServer> {
  const env = options.env ?? process.env;
  const dataRoot = resolve(options.dataRoot);
  await mkdir(dataRootFiles(dataRoot).tmpDir, { recursive: true });
  await refuseIfAlreadyRunning(dataRoot);
  const java = findJava(env);
  const jar = await ensureQuestDbJar({ onProgress: options.onProgress, env });
  const portsAreChosenHere = PORT_NAMES.some((name) => options.ports?.[name] === undefined);

  for (let attempt = 1; ; attempt++) {
    const ports = await completePorts(options.ports);
    assertDistinct(ports);
    const server = new ManagedQuestDb({
      dataRoot,
      ports,
      serverConf: renderServerConf(ports, options.extraConfig),
      java,
      jar,
      heap: options.heap ?? env.TRADEWATCH_QUESTDB_HEAP ?? '1g',
      jvmOptions: options.jvmOptions ?? (env.TRADEWATCH_QUESTDB_JVM_OPTIONS ?? '').split(' ').filter((flag) => flag !== ''),
      logFile: resolve(options.logFile ?? dataRootFiles(dataRoot).logFile),
      detached: options.detached ?? false,
      ownProcessGroup: options.ownProcessGroup ?? false,
      startTimeoutMs: options.startTimeoutMs ?? 60_000,
      stopTimeoutMs: options.stopTimeoutMs ?? 15_000,
      childEnv: withoutQuestDbOverrides(env),
    });
    try {
      await server.launch({ waitForPortsMs: 0 });
      return server;
    } catch (err) {
      const lostPortRace = err instanceof TradewatchError && err.details.portConflict === true;
      if (!(lostPortRace && portsAreChosenHere && attempt < MAX_PORT_ATTEMPTS)) throw err;
    }
  }
}

class ManagedQuestDb implements QuestDbServer {
  readonly kind = 'managed';
  readonly host = LOOPBACK;
  readonly credentials = undefined;
  readonly httpUrl: string;
  readonly minHttpUrl: string;
  readonly pgPort: number;
  readonly ilpTcpPort: number;
  readonly ilpConfig: string;
  readonly #settings: LaunchSettings;
  #child: ChildProcess | undefined;
  #exited: Promise<QuestDbExit> | undefined;
  #lastExit: QuestDbExit | undefined;
  #killing = false;

  constructor(settings: LaunchSettings) {
    this.#settings = settings;
    const { ports } = settings;
    this.httpUrl = `http://${LOOPBACK}:${ports.http}`;
    this.minHttpUrl = `http://${LOOPBACK}:${ports.minHttp}`;
    this.pgPort = ports.pg;
    this.ilpTcpPort = ports.ilpTcp;
    this.ilpConfig = `http::addr=${LOOPBACK}:${ports.http};`;
  }

  get dataRoot(): string {
    return this.#settings.dataRoot;
  }

  get pid(): number | undefined {
    return this.#running ? this.#child?.pid : undefined;
  }

  get lastExit(): QuestDbExit | undefined {
    return this.#lastExit;
  }

  waitForExit(): Promise<QuestDbExit> {
    return this.#exited ?? new Promise(() => {});
  }

  get #running(): boolean {
    return this.#child !== undefined && this.#lastExit === undefined;
  }

  async launch({ waitForPortsMs }: { waitForPortsMs: number }): Promise<void> {
    const s = this.#settings;
    // A port still held (by the previous process's sockets, or by anyone else) would make QuestDB exit,
    // or worse, make the readiness probe succeed against somebody else's server.
    const busy = await waitForPortsFree(s.ports, waitForPortsMs);
    if (busy.length > 0) {
      throw new TradewatchError(
        ErrorCodes.QUESTDB_START_FAILED,
        `cannot start QuestDB: port(s) ${busy.join(', ')} on ${LOOPBACK} are in use; choose other ports or stop what uses them`,
        { ports: s.ports, busy, portConflict: true },
      );
    }
    await writeServerConf(dataRootFiles(s.dataRoot).serverConf, s.serverConf);
    const log = await openLogForAppend(s.logFile);
    let child: ChildProcess;
    try {
      child = spawn(s.java.executable, this.#jvmArgs(), {
        cwd: s.dataRoot,
        env: s.childEnv,
        // detached: a process group of its own (setsid), whether or not it is to outlive us.
        detached: s.detached || s.ownProcessGroup,
        // The child writes straight to the file, so it keeps logging after a detached start's CLI has exited.
        stdio: ['ignore', log.fd, log.fd],
      });
    } finally {
      await log.close();
    }
    this.#child = child;
    this.#lastExit = undefined;
    this.#killing = false;
    this.#exited = new Promise((resolveExit) => {
      let settled = false;
      const settle = (code: number | null, signal: NodeJS.Signals | null) => {
        if (settled) return; // 'error' and 'exit' can both fire
        settled = true;
        const gracefulCode = code === 0 || code === 143; // 143: the JVM's exit status after its SIGTERM shutdown
        const exit = { code, signal, clean: !this.#killing && (gracefulCode || signal === 'SIGTERM') };
        this.#lastExit = exit;
        resolveExit(exit);
      };
      child.once('exit', settle);
      child.once('error', () => settle(null, null));
    });
    if (!s.detached) guardChild(child);
    // A running server must not keep Node alive (a test that forgets stop() would hang its file): the guard
    // kills it on exit instead. stop()/kill() take a ref while they wait for the exit.
    child.unref();
    if (child.pid !== undefined) {
      await writeState(s.dataRoot, {
        version: QUESTDB_VERSION,
        pid: child.pid,
        ports: s.ports,
        httpUrl: this.httpUrl,
        minHttpUrl: this.minHttpUrl,
        startedAt: new Date().toISOString(),
        java: s.java.executable,
        jar: s.jar,
      });
    }
    await this.#waitUntilAnswering(log.startOffset);
  }

  #jvmArgs(): string[] {
    const s = this.#settings;
    return [
      `-Xmx${s.heap}`,
      '-XX:+UseParallelGC',
      // A server out of heap should die and say so, not limp on.
      '-XX:+ExitOnOutOfMemoryError',
      `-XX:ErrorFile=${dataRootFiles(s.dataRoot).logDir}/hs_err_pid%p.log`,
      // In the data root, not /tmp: a killed server never deletes the native library it unpacked at start, and
      // /tmp filled up with one per start (tests start dozens); a data root is deleted as a whole.
      `-Djava.io.tmpdir=${dataRootFiles(s.dataRoot).tmpDir}`,
      ...s.jvmOptions,
      '-cp', s.jar,
      'io.questdb.ServerMain',
      '-d', s.dataRoot,
    ];
  }

  async #waitUntilAnswering(logOffset: number): Promise<void> {
    const s = this.#settings;
    const startedAt = Date.now();
    while (true) {
      if (!this.#running) {
        const exit = this.#lastExit;
        const tail = await tailLines(s.logFile, 20, logOffset);
        await clearPid(s.dataRoot);
        throw new TradewatchError(
          ErrorCodes.QUESTDB_START_FAILED,
          `QuestDB exited while starting (exit ${exit?.code ?? exit?.signal ?? 'unknown'}); ` +
            `last lines of ${s.logFile}:\n${tail.join('\n')}`,
          { exit, logFile: s.logFile, portConflict: tail.some((line) => BIND_FAILURE.test(line)) },
        );
      }
      if (await answersSelectOne(this.httpUrl, undefined, 1_000)) return;
      if (Date.now() - startedAt > s.startTimeoutMs) {
        await this.kill();
        const tail = await tailLines(s.logFile, 20, logOffset);
        throw new TradewatchError(
          ErrorCodes.QUESTDB_START_TIMEOUT,
          `QuestDB did not answer 'select 1' at ${this.httpUrl} within ${s.startTimeoutMs} ms and was killed; ` +
            `last lines of ${s.logFile}:\n${tail.join('\n')}`,
          { httpUrl: this.httpUrl, logFile: s.logFile, timeoutMs: s.startTimeoutMs },
        );
      }
      await sleep(100);
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    if (!child || !this.#running || !this.#exited) return;
    child.ref();
    child.kill('SIGTERM');
    const timedOut = Symbol('timeout');
    // Unref'd: a pending stop timer must not keep the process alive once QuestDB has exited.
    const outcome = await Promise.race([this.#exited, sleep(this.#settings.stopTimeoutMs, timedOut, { ref: false })]);
    if (outcome === timedOut) {
      this.#killing = true;
      child.kill('SIGKILL');
      await this.#exited;
    }
    await clearPid(this.dataRoot);
  }

  async kill(): Promise<void> {
    const child = this.#child;
    if (!child || !this.#running || !this.#exited) return;
    this.#killing = true;
    child.ref();
    child.kill('SIGKILL');
    await this.#exited;
    await clearPid(this.dataRoot);
  }

  async restart(): Promise<void> {
    await this.stop();
    // The old process is gone, but give the kernel a moment to release its listening sockets.
    await this.launch({ waitForPortsMs: 10_000 });
  }
}

async function refuseIfAlreadyRunning(dataRoot: string): Promise<void> {
  const state = await readState(dataRoot);
  if (state && isQuestDbProcess(state.pid, dataRoot)) {
    throw new TradewatchError(
      ErrorCodes.QUESTDB_START_FAILED,
      `a QuestDB server (pid ${state.pid}, ${state.httpUrl}) is already running on ${dataRoot}; ` +
        `stop it first ('tradewatch questdb stop --questdb-data-root ${dataRoot}') or use another data root`,
      { dataRoot, pid: state.pid },
    );
  }
}

function assertDistinct(ports: QuestDbPorts): void {
  const values = PORT_NAMES.map((name) => ports[name]);
  if (new Set(values).size !== values.length || values.some((p) => !Number.isInteger(p) || p <= 0 || p > 65535)) {
    throw new TradewatchError(
      ErrorCodes.INVALID_CONFIG,
      `QuestDB ports must be four distinct numbers in 1..65535, got ${JSON.stringify(ports)}`,
      { ports },
    );
  }
}

/** QDB_* variables override server.conf in QuestDB; drop them so the file we write is the whole truth. */
function withoutQuestDbOverrides(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([key]) => !key.startsWith('QDB_')));
}
