import { schema } from '../schema/index.js';
import type { RecorderContext } from './context.js';

/**
 * Process lifecycle rows in tw_process_events: `start` when a monitor is created, `stop` on a clean shutdown.
 * Restarts are countable across processes (starts − 1 per instance over a range), and a `start` that follows
 * another `start` with no `stop` between them marks a crash (SIGKILL, OOM, power loss).
 */
export class Lifecycle {
  constructor(
    private readonly ctx: RecorderContext,
    private readonly version: string | undefined,
  ) {}

  start(): void {
    this.event('start', null);
  }

  stop(reason: string | undefined): void {
    this.event('stop', reason ?? null);
  }

  private event(event: 'start' | 'stop', reason: string | null): void {
    this.ctx.write(event, schema.processEvents, {
      ts: this.ctx.clock.now(),
      service: this.ctx.service,
      instance: this.ctx.instance,
      event,
      pid: process.pid,
      version: this.version ?? null,
      reason,
    });
  }
}

/** A signal must end the process even when QuestDB does not answer the final flush. */
const SIGNAL_SHUTDOWN_LIMIT_MS = 10_000;

/**
 * Opt-in signal handling: on each signal, shut the monitor down (so the `stop` row is written and flushed, for at
 * most 10 s), then re-raise the signal if nobody else listens for it, so the process ends the way it would have
 * without us (exit status 128 + signal number).
 */
export function hookSignals(signals: readonly NodeJS.Signals[], shutdown: (reason: string) => Promise<void>): () => void {
  const handlers = new Map<NodeJS.Signals, () => void>();
  const unhook = () => {
    for (const [signal, handler] of handlers) process.removeListener(signal, handler);
    handlers.clear();
  };
  for (const signal of signals) {
    const handler = () => {
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, SIGNAL_SHUTDOWN_LIMIT_MS);
      });
      void Promise.race([shutdown(signal), limit]).then(() => {
        clearTimeout(timer);
        unhook();
        if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
      });
    };
    handlers.set(signal, handler);
    process.on(signal, handler);
  }
  return unhook;
}
