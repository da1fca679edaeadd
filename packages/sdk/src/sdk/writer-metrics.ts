import type { MonitorWriter, RecorderContext } from './context.js';
import { METRICS } from './prometheus/catalog.js';

/**
 * Exposes the writer's own state as metrics, read from `writer.stats()` when Prometheus scrapes (WriterHealthRows
 * writes the same stats to tw_writer_stats). Counters mirror the writer's monotonic totals.
 */
export function watchWriter(ctx: RecorderContext, writer: MonitorWriter): void {
  const connected = ctx.gauge0(METRICS.writerConnected).get();
  const queueRows = ctx.gauge0(METRICS.writerQueueRows).get();
  const spoolBytes = ctx.gauge0(METRICS.writerSpoolBytes).get();
  const spoolMaxBytes = ctx.gauge0(METRICS.writerSpoolMaxBytes).get();
  const lag = ctx.gauge0(METRICS.writerLag).get();
  const written = ctx.counter0(METRICS.writerRowsWritten).get();
  const rejected = ctx.counter0(METRICS.writerRowsRejected).get();
  const dropped = ctx.counter0(METRICS.writerRowsDropped).get();
  // One read serves all eight: the first instrument rendered refreshes them (all render in the same scrape).
  const refresh = () => {
    const s = writer.stats();
    connected.value = s.connected ? 1 : 0;
    queueRows.value = s.queueRows;
    spoolBytes.value = s.spoolBytes;
    spoolMaxBytes.value = s.spoolMaxBytes;
    lag.value = s.lagMs / 1000;
    written.value = s.rowsWritten;
    rejected.value = s.rowsRejected;
    dropped.value = s.rowsDropped;
  };
  ctx.metrics.gauge(METRICS.writerConnected).instrument.onCollect(refresh);
}
