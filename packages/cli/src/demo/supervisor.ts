import type { QuestDbExit, QuestDbServer } from '../questdb/index.js';
import type { ComponentLogger } from './terminal-log.js';

/**
 * Watches the QuestDB the demo started: when it exits by itself (crash, SIGKILL, out of memory) the supervisor says
 * so and starts it again on the same data root and ports, waiting 1 s, 2 s, 4 s … (at most maxDelayMs) between
 * failed attempts. A server that stayed up for stableMs resets the delay. stop() ends supervision and stops the
 * server it is watching: exactly the process the demo started (or restarted), nothing else.
 */
export interface SupervisorOptions {
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly stableMs?: number;
}

export interface QuestDbSupervisor {
  /** Restarts so far. */
  readonly restarts: number;
  /** True while the server answers (not between an exit and a successful restart). */
  readonly up: boolean;
  /** Resolves once the server is up (at once if it is), or after timeoutMs; true when up. */
  whenUp(timeoutMs: number): Promise<boolean>;
  /** Ends supervision, then stops the server (SIGTERM, SIGKILL after its stop timeout); resolves with how it exited. */
  stop(): Promise<QuestDbExit | undefined>;
}

export function superviseQuestDb(server: QuestDbServer, log: ComponentLogger, options: SupervisorOptions = {}): QuestDbSupervisor {
  const waitForExit = server.waitForExit?.bind(server);
  if (!waitForExit) throw new Error('only a managed QuestDB can be supervised');
  const initialDelayMs = options.initialDelayMs ?? 1000;
  const maxDelayMs = options.maxDelayMs ?? 30_000;
  const stableMs = options.stableMs ?? 60_000;
  let stopping = false;
  let restarts = 0;
  let up = true;
  let upWaiters: (() => void)[] = [];
  let wake: (() => void) | undefined;

  const markUp = () => {
    up = true;
    for (const resolve of upWaiters) resolve();
    upWaiters = [];
  };

  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  const loop = (async () => {
    let delayMs = initialDelayMs;
    for (;;) {
      const startedAt = Date.now();
      const exit = await waitForExit();
      if (stopping) return;
      up = false;
      if (Date.now() - startedAt >= stableMs) delayMs = initialDelayMs;
      log.warn({ pid: undefined, code: exit.code, signal: exit.signal }, `QuestDB exited unexpectedly; restarting it in ${(delayMs / 1000).toFixed(1)} s (writers spool meanwhile)`);
      for (;;) {
        await pause(delayMs);
        if (stopping) return;
        try {
          await server.restart();
          restarts++;
          log.info({ pid: server.pid, restarts }, 'QuestDB restarted; spooled rows are being replayed');
          markUp();
          delayMs = initialDelayMs;
          break;
        } catch (err) {
          delayMs = Math.min(maxDelayMs, delayMs * 2);
          log.error({ err: (err as Error).message }, `QuestDB restart failed; trying again in ${(delayMs / 1000).toFixed(1)} s`);
        }
      }
    }
  })();

  return {
    get restarts() {
      return restarts;
    },
    get up() {
      return up;
    },
    whenUp(timeoutMs) {
      if (up) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), timeoutMs);
        upWaiters.push(() => {
          clearTimeout(timer);
          resolve(true);
        });
      });
    },
    async stop() {
      stopping = true;
      wake?.();
      // A restart in progress finishes first (or fails), so the process it starts is the one stopped here.
      const stopped = server.stop();
      await loop;
      await stopped;
      await server.stop();
      return server.lastExit;
    },
  };
}
