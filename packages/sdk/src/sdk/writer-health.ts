import { systemClock, type Clock, type Timer } from '../common/clock.js';
import { schema } from '../schema/index.js';
import type { MonitorWriter } from './context.js';
import type { SdkLogger } from './diagnostics.js';

export const DEFAULT_WRITER_HEALTH_INTERVAL_MS = 10_000;

/**
 * The writer's health row in tw_writer_stats: its stats() every intervalMs, written through that same writer (so it
 * spools too while QuestDB is away). The SDK writes it, not the writer: the writer moves rows and counts, and what
 * a process reports about itself is the SDK's business (the other health tables are written here too).
 */
export class WriterHealthRows {
  private readonly timer: Timer | undefined;
  private lastTs = 0;
  private failureLogged = false;
  private stopped = false;

  constructor(
    private readonly writer: MonitorWriter,
    private readonly service: string,
    private readonly instance: string,
    intervalMs: number,
    private readonly logger: SdkLogger,
    private readonly clock: Clock = systemClock,
  ) {
    // Unref'd: monitoring must never be what keeps a process alive.
    if (intervalMs > 0) this.timer = clock.setInterval(() => this.write(), intervalMs, { keepAlive: false });
  }

  /** Writes one row now. Never throws. */
  write(): void {
    if (this.stopped) return;
    try {
      const s = this.writer.stats();
      const ts = Math.max(this.clock.now() * 1000, this.lastTs + 1);
      this.lastTs = ts;
      this.writer.write(schema.writerStats, {
        ts,
        service: this.service,
        instance: this.instance,
        queue_rows: s.queueRows,
        queue_bytes: s.queueBytes,
        spool_bytes: s.spoolBytes,
        rows_written: s.rowsWritten,
        rows_rejected: s.rowsRejected,
        rows_dropped: s.rowsDropped,
        rows_spooled: s.rowsSpooled,
        rows_replayed: s.rowsReplayed,
        lag_ms: s.lagMs,
        last_error: s.lastError,
      });
    } catch (err) {
      if (!this.failureLogged) {
        this.failureLogged = true;
        try {
          this.logger.warn({ reason: (err as Error).message }, 'tradewatch: cannot write the writer health row');
        } catch {
          // ignore
        }
      }
    }
  }

  /** Writes a last row (when the timer ran) and stops. */
  stop(): void {
    if (this.stopped) return;
    if (this.timer) {
      this.timer.cancel();
      this.write();
    }
    this.stopped = true;
  }
}
