import { readFileSync } from 'node:fs';
import { cpus, totalmem, platform, release } from 'node:os';
import { performance } from 'node:perf_hooks';

/** What a benchmark result was measured on: results without the machine are not comparable. */
export function describeMachine() {
  const cpu = cpus();
  return {
    cpu: cpu[0]?.model ?? 'unknown',
    cores: cpu.length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    os: `${platform()} ${release()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** Cores used over a measured window: the benchmark's own process, QuestDB's, and the whole machine (busy). */
export interface CpuShare {
  /** This Node.js process (the writer under test runs in it), or the peer's own process when it reports one. */
  client: number;
  questdb: number | undefined;
  machine: number | undefined;
  /** Cores the machine has: `machine` equal to this means it was saturated. */
  cores: number;
}

// Linux reports process times in clock ticks of USER_HZ, which is 100 on every architecture Node.js supports.
const TICKS_PER_SECOND = 100;

/** user+system seconds a process has used so far (Linux /proc); undefined elsewhere or once it is gone. */
function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the parenthesised command name, which may itself contain spaces: utime and stime are 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine so far (Linux /proc/stat, all cores summed). */
function machineCpuSeconds(): { busy: number; total: number } | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0]!;
    const ticks = line.trim().split(/\s+/).slice(1).map(Number);
    const total = ticks.reduce((a, b) => a + b, 0);
    // idle and iowait are the 4th and 5th; guest time is already counted in user.
    const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
    const guest = (ticks[8] ?? 0) + (ticks[9] ?? 0);
    return { busy: (total - guest - idle) / TICKS_PER_SECOND, total: (total - guest) / TICKS_PER_SECOND };
  } catch {
    return undefined;
  }
}

/**
 * Starts measuring CPU use; the returned function ends the window. On a machine where QuestDB shares the cores with
 * the writer, a saturated machine means rows/s is set by QuestDB's ingest cost, not by the writer. `clientCores`:
 * a peer in another process reports its own.
 */
export function cpuMeter(questdbPid: number | undefined): (clientCores?: number) => CpuShare {
  const wallStart = performance.now();
  const self = process.cpuUsage();
  const questdb = processCpuSeconds(questdbPid);
  const machine = machineCpuSeconds();
  return (clientCores) => {
    const wall = (performance.now() - wallStart) / 1000;
    const used = process.cpuUsage(self);
    const questdbEnd = processCpuSeconds(questdbPid);
    const machineEnd = machineCpuSeconds();
    const cores = cpus().length;
    const round = (x: number) => Math.round(x * 100) / 100;
    return {
      // Three decimals: the writer's CPU per row is worked out from it (0.01 of 0.3 cores would be 3 %).
      client: Math.round((clientCores ?? (used.user + used.system) / 1e6 / wall) * 1000) / 1000,
      questdb: questdb !== undefined && questdbEnd !== undefined ? round((questdbEnd - questdb) / wall) : undefined,
      machine: machine && machineEnd ? round(((machineEnd.busy - machine.busy) / (machineEnd.total - machine.total)) * cores) : undefined,
      cores,
    };
  };
}

/** "cores: this process 0.31, QuestDB 1.67, machine busy 2.00 of 2" for a progress line. */
export function describeCpu(cpu: CpuShare, client: string): string {
  const part = (label: string, value: number | undefined) => (value === undefined ? [] : [`${label} ${value.toFixed(2)}`]);
  return `cores: ${[...part(client, cpu.client), ...part('QuestDB', cpu.questdb), ...part('machine busy', cpu.machine)].join(', ')} of ${cpu.cores}`;
}
