import { performance } from 'node:perf_hooks';
import type { Clock, Timer } from '../common/clock.js';
import { Backoff, type RetrySettings } from '../common/retry.js';
import type { Backlog, WorkItem } from './backlog.js';
import type { RejectedLines } from './rejections.js';
import type { Transport, Unreachable } from './transport.js';
import type { WriterCounters, WriterReporter } from './writer-stats.js';

export interface DeliveryOptions {
  /** Probes of an unreachable QuestDB back off by the shared retry policy (common/retry.ts). */
  readonly retry: RetrySettings;
  /** Pause between attempts while QuestDB refuses access or the URL is wrong. */
  readonly configErrorDelayMs: number;
  /** For log lines: where batches wait during an outage. */
  readonly spoolDir: string | undefined;
}

type DeliveryResult = 'delivered' | 'unavailable' | 'config';

const STILL_UNREACHABLE = 'QuestDB still unreachable';

/**
 * The delivery loop: sends the backlog's next request, one at a time and in order, and on failure parks the data
 * (Backlog.holdUndelivered) and backs off. Nothing in it throws: failures become counters, `lastError` and log
 * lines. Time (backoff pauses, outage durations) comes from the injected clock.
 */
export class Delivery {
  private down = false;
  private downSince = 0;
  private readonly backoff: Backoff;
  private stopping = false;
  private pump: Promise<void> | undefined;
  private wakePump: (() => void) | undefined;
  private pause: { timer: Timer; wake: () => void } | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly backlog: Backlog,
    private readonly rejections: RejectedLines,
    private readonly counters: WriterCounters,
    private readonly reporter: WriterReporter,
    private readonly clock: Clock,
    private readonly options: DeliveryOptions,
    random: () => number = Math.random,
  ) {
    this.backoff = new Backoff(options.retry, random);
  }

  /** False while the last attempt to reach QuestDB failed. */
  get connected(): boolean {
    return !this.down;
  }

  start(): void {
    this.pump ??= this.run();
  }

  /** A batch entered the backlog: wake the loop if it waits for one. */
  notify(): void {
    const wake = this.wakePump;
    this.wakePump = undefined;
    wake?.();
  }

  /** Ends the loop after the request in flight (a pause ends at once). */
  async stop(): Promise<void> {
    this.stopping = true;
    if (this.pause) {
      this.pause.timer.cancel();
      this.pause.wake();
    }
    this.notify();
    await this.pump;
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.stopping) return;
      try {
        await this.step();
      } catch (err) {
        // A bug or an unexpected I/O failure, not an outage; never let it escape, and never spin.
        this.reporter.log('error', { reason: (err as Error).stack ?? String(err) }, 'writer delivery failed unexpectedly');
        this.reporter.noteError(`internal: ${(err as Error).message}`);
        const delay = this.backoff.next();
        if (!this.stopping) await this.sleep(delay);
      }
    }
  }

  /** One step: send the next request (or wait for a batch), then on failure park the data and back off. */
  private async step(): Promise<void> {
    const group = this.backlog.next();
    if (group.length === 0) {
      await new Promise<void>((resolve) => (this.wakePump = resolve));
      return;
    }
    const result = await this.deliverGroup(group);
    if (result === 'delivered') return;
    this.backlog.holdUndelivered();
    if (this.stopping) return;
    const delay = this.backoff.next();
    await this.sleep(result === 'config' ? this.options.configErrorDelayMs : delay);
  }

  private async deliverGroup(group: readonly WorkItem[]): Promise<DeliveryResult> {
    if (group.length === 1) return this.deliver(group[0]!);
    const started = performance.now();
    for (const item of group) item.sends++;
    const outcome = await this.transport.send(group.map((item) => item.payload));
    if (outcome.kind === 'ok') {
      this.counters.batchesSent++;
      for (const item of [...group]) {
        this.countWritten(item, item.rows);
        this.completed(item, started, true);
      }
      return 'delivered';
    }
    if (outcome.kind === 'rejected') {
      // QuestDB committed nothing of the request. One batch at a time, deliver() finds and quarantines the bad line.
      for (const item of [...group]) {
        const result = await this.deliver(item);
        if (result !== 'delivered') return result;
      }
      return 'delivered';
    }
    this.noteUnreachable(outcome);
    return outcome.kind;
  }

  private async deliver(item: WorkItem): Promise<DeliveryResult> {
    const started = performance.now();
    item.sends++;
    const outcome = await this.transport.send(item.payload);
    if (outcome.kind === 'ok') {
      this.counters.batchesSent++;
      this.countWritten(item, item.rows);
      this.completed(item, started, true);
      return 'delivered';
    }
    if (outcome.kind === 'rejected') {
      const split = await this.rejections.deliverAround(item, outcome, (rows) => this.countWritten(item, rows));
      if (split.kind === 'delivered') {
        this.completed(item, started, false);
        return 'delivered';
      }
      // Stops keeping exactly the unsent lines in `item`.
      this.backlog.keepRest(item, split.rest);
      this.noteUnreachable(split.outcome);
      return split.outcome.kind;
    }
    this.noteUnreachable(outcome);
    return outcome.kind;
  }

  private countWritten(item: WorkItem, rows: number): void {
    this.counters.rowsWritten += rows;
    if (item.spoolRecord !== undefined) this.counters.rowsReplayed += rows;
  }

  private completed(item: WorkItem, started: number, whole: boolean): void {
    this.counters.lastFlushMs = performance.now() - started;
    this.backlog.acknowledged(item, whole);
    if (this.down) {
      const spoolRows = this.backlog.spool?.pendingRows ?? 0;
      this.reporter.log('info', { downMs: this.clock.now() - this.downSince, spoolRows }, 'QuestDB reachable again');
    }
    this.down = false;
    this.backoff.reset();
  }

  private noteUnreachable(outcome: Unreachable): void {
    this.reporter.noteError(outcome.kind === 'config' ? `QuestDB refused the request (HTTP ${outcome.status}): ${outcome.message}` : `QuestDB unreachable: ${outcome.message}`);
    const context = {
      endpoint: this.transport.endpoint,
      status: outcome.status,
      reason: outcome.message,
      spool: this.options.spoolDir ?? 'none (memory only)',
    };
    if (!this.down) {
      this.down = true;
      this.downSince = this.clock.now();
      this.reporter.markReported(STILL_UNREACHABLE);
      this.reporter.log(
        'error',
        context,
        outcome.kind === 'config'
          ? 'QuestDB refused the writer (check url and credentials); keeping data and retrying slowly'
          : `QuestDB unreachable; ${this.options.spoolDir ? 'spooling batches to disk' : 'holding batches in memory'} and retrying`,
      );
    } else if (outcome.kind === 'config') {
      this.reporter.throttled('error', context, 'QuestDB still refuses the writer (check url and credentials)');
    } else {
      this.reporter.throttled('warn', { ...context, downMs: this.clock.now() - this.downSince }, STILL_UNREACHABLE);
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        this.pause = undefined;
        resolve();
      };
      // Unref'd: the writer must not keep a process alive by itself.
      this.pause = { timer: this.clock.setTimeout(wake, ms, { keepAlive: false }), wake };
    });
  }
}
