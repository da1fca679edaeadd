import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import { schema } from '../schema/index.js';
import type { RecorderContext } from './context.js';
import { METRICS } from './prometheus/catalog.js';
import type { Series } from './prometheus/instruments.js';

/**
 * Process health, collected without the caller's help: one tw_process_samples row per sampling interval, and the
 * matching gauges. CPU % is user + system time over wall time since the previous sample (100 = one core); event-loop
 * lag is the p99 of `monitorEventLoopDelay` over the interval (the histogram is reset after each sample).
 */
export class HealthCollector {
  private readonly loop: IntervalHistogram;
  private lastCpu = process.cpuUsage();
  private lastWallUs: number;

  private readonly uptime: Series;
  private readonly rss: Series;
  private readonly heapUsed: Series;
  private readonly heapTotal: Series;
  private readonly cpuSeconds: Series;
  private readonly lag: Series;

  constructor(
    private readonly ctx: RecorderContext,
    /** Written into every sample: the fleet view names each process's machine and version from its latest sample. */
    private readonly host: string,
    private readonly version: string | undefined,
  ) {
    this.loop = monitorEventLoopDelay({ resolution: 10 });
    this.loop.enable();
    this.lastWallUs = performance.now() * 1000;
    this.uptime = ctx.gauge0(METRICS.uptime).get();
    this.rss = ctx.gauge0(METRICS.rss).get();
    this.heapUsed = ctx.gauge0(METRICS.heapUsed).get();
    this.heapTotal = ctx.gauge0(METRICS.heapTotal).get();
    this.cpuSeconds = ctx.counter0(METRICS.cpuSeconds).get();
    this.lag = ctx.gauge0(METRICS.eventLoopLag).get();
    // Uptime is read at scrape time too, so it is exact whatever the sampling interval.
    ctx.metrics.gauge(METRICS.uptime).instrument.onCollect(() => {
      this.uptime.value = process.uptime();
    });
  }

  sample(): void {
    const wallUs = performance.now() * 1000;
    const cpu = process.cpuUsage();
    const cpuUs = cpu.user - this.lastCpu.user + (cpu.system - this.lastCpu.system);
    const elapsedUs = wallUs - this.lastWallUs;
    const cpuPercent = elapsedUs > 0 ? (cpuUs / elapsedUs) * 100 : 0;
    this.lastCpu = cpu;
    this.lastWallUs = wallUs;

    const mem = process.memoryUsage();
    // percentile() is 0 when no delay was recorded yet (first sample right after start).
    const lagMs = this.loop.count > 0 ? this.loop.percentile(99) / 1e6 : 0;
    this.loop.reset();
    const uptime = process.uptime();

    this.ctx.write('sample', schema.processSamples, {
      ts: this.ctx.clock.now(),
      service: this.ctx.service,
      instance: this.ctx.instance,
      pid: process.pid,
      uptime_s: uptime,
      rss_bytes: mem.rss,
      heap_used_bytes: mem.heapUsed,
      heap_total_bytes: mem.heapTotal,
      cpu_percent: Math.round(cpuPercent * 100) / 100,
      event_loop_lag_ms: Math.round(lagMs * 1000) / 1000,
      host: this.host,
      version: this.version,
    });

    this.uptime.value = uptime;
    this.rss.value = mem.rss;
    this.heapUsed.value = mem.heapUsed;
    this.heapTotal.value = mem.heapTotal;
    this.cpuSeconds.value = (cpu.user + cpu.system) / 1e6;
    this.lag.value = lagMs / 1000;
  }

  stop(): void {
    this.loop.disable();
  }
}
