import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { LOOPBACK, type QuestDbPorts } from './ports.js';

/**
 * Listener keys, as spelled in the server.conf template shipped inside the 9.3.4 jar
 * (io/questdb/site/conf/server.conf). The online reference also lists `http.bind.to` / `http.min.bind.to`;
 * 9.3.4 accepts both spellings, we keep the template's.
 */
export const BIND_KEYS = {
  http: 'http.net.bind.to',
  minHttp: 'http.min.net.bind.to',
  pg: 'pg.net.bind.to',
  ilpTcp: 'line.tcp.net.bind.to',
} as const satisfies Record<keyof QuestDbPorts, string>;

/** Keys that would move a listener off loopback or away from the ports the handle reports. */
const RESERVED_KEYS = new Set<string>([
  ...Object.values(BIND_KEYS), 'http.bind.to', 'http.min.bind.to', 'line.udp.bind.to', 'line.udp.enabled',
]);

/**
 * Settings for a small, private server (a 2-core dev box or CI). Keys per questdb.com/docs/configuration
 * (telemetry, shared-workers, materialized-views, wal pages) and the jar's server.conf template.
 */
const BASE_SETTINGS: Readonly<Record<string, string>> = {
  // Reject unknown keys (e.g. a typo in extraConfig) instead of silently ignoring them.
  'config.validation.strict': 'true',
  // No internet here, and nothing should phone home anyway.
  'telemetry.enabled': 'false',
  // Prometheus text on the min HTTP server at /metrics; also makes /health reflect unhandled errors.
  'metrics.enabled': 'true',
  // One thread per pool size for 2 cores; the dedicated pools default to the core count, 1 is plenty here.
  'shared.worker.count': '2',
  'wal.apply.worker.count': '1',
  'mat.view.refresh.worker.count': '1',
  'view.compiler.worker.count': '1',
  // The schema is the contract: ILP may not create tables or columns (a typo'd table or an extra field is refused
  // with 400 and quarantined by the writer, with QuestDB's error); `schema apply` creates everything explicitly.
  'line.auto.create.new.tables': 'false',
  'line.auto.create.new.columns': 'false',
  // Off by default in 9.x; pinned off because it would listen on 0.0.0.0:9009/udp.
  'line.udp.enabled': 'false',
};

/** The full server.conf text: loopback listeners on `ports`, base settings, then `extraConfig` (which wins). */
export function renderServerConf(ports: QuestDbPorts, extraConfig: Readonly<Record<string, string>> = {}): string {
  const settings: Record<string, string> = { ...BASE_SETTINGS };
  for (const [name, key] of Object.entries(BIND_KEYS)) {
    settings[key] = `${LOOPBACK}:${ports[name as keyof QuestDbPorts]}`;
  }
  for (const [key, value] of Object.entries(extraConfig)) {
    if (RESERVED_KEYS.has(key)) {
      throw new TradewatchError(
        ErrorCodes.INVALID_CONFIG,
        `extraConfig may not set ${key}: listeners are always bound to ${LOOPBACK}; choose ports with the 'ports' option`,
        { key },
      );
    }
    if (!/^[A-Za-z0-9._-]+$/.test(key) || /[\r\n]/.test(value)) {
      throw new TradewatchError(
        ErrorCodes.INVALID_CONFIG,
        `invalid QuestDB setting ${JSON.stringify(key)}=${JSON.stringify(value)}: keys are dotted words, values one line`,
        { key, value },
      );
    }
    settings[key] = value;
  }
  const lines = Object.entries(settings).map(([key, value]) => `${key}=${value}`);
  return `# Written by tradewatch before every start; edits here are overwritten (use extraConfig).\n${lines.join('\n')}\n`;
}

export async function writeServerConf(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

/** For programs (tests) that create ad-hoc tables through ILP: QuestDB's own default, auto-creation on. */
export const ILP_AUTO_CREATE_CONFIG: Readonly<Record<string, string>> = {
  'line.auto.create.new.tables': 'true',
  'line.auto.create.new.columns': 'true',
};

/**
 * Worker pools that go to sleep soon after their last piece of work. QuestDB's workers poll for work: after a job ran,
 * an idle worker spins, then calls Thread.yield() until its 1,000th (7,000th in some pools) idle pass, then naps 1 ms
 * at a time until its 10,000th, and only then sleeps `*.worker.sleep.timeout` between polls. A server answering a
 * request every few tens of milliseconds, as a development server or a test's does, never gets past the yielding and
 * napping: measured on a 2-core box (QuestDB 9.3.4), 100 queries 30 ms apart cost the server 2.2-2.4 s of CPU, two
 * thirds of a core. With these thresholds (10 spins, then at most 90 naps of 1 ms, about 0.1 s, then sleep) the same
 * queries cost 0.8-0.9 s and took as long; back-to-back queries are as fast (each finds the worker still napping).
 * The price: the first request after more than 0.1 s of quiet waits up to one sleep timeout for a worker to wake.
 * Keys per the jar's server.conf template and PropertyKey (strict validation rejects a misspelt one at start).
 */
const QUICK_IDLE_WORKERS: Readonly<Record<string, string>> = Object.fromEntries(
  ['shared', 'wal.apply', 'mat.view.refresh', 'export', 'view.compiler', 'http', 'http.min', 'pg', 'line.tcp.writer', 'line.tcp.io']
    .flatMap((pool) => [[`${pool}.worker.yield.threshold`, '10'], [`${pool}.worker.nap.threshold`, '10'], [`${pool}.worker.sleep.threshold`, '100']]),
);

/**
 * Smaller append pages for short-lived servers (tests, the demo). QuestDB's defaults (16 MiB per column file)
 * suit production, but preallocate about 1.4 GB for tradewatch's 41 tables and views before a single row is
 * written, and a test suite starts many servers. With these, an empty schema takes ~50 MB. Its workers also sleep
 * soon when idle (QUICK_IDLE_WORKERS): less CPU taken from the bot or tests sharing the machine. Not for benchmarks.
 */
export const SMALL_FOOTPRINT_CONFIG: Readonly<Record<string, string>> = {
  'cairo.writer.data.append.page.size': '256K',
  'cairo.writer.data.index.value.append.page.size': '256K',
  'cairo.writer.misc.append.page.size': '64K',
  'cairo.o3.column.memory.size': '256K',
  'cairo.wal.writer.data.append.page.size': '256K',
  ...QUICK_IDLE_WORKERS,
};
