import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { retentionTtls, type Config } from '../config/index.js';
import { createDaemon, daemonConfig } from '../daemon/index.js';
import { createExporter, type ExporterTarget } from '../exporter/index.js';
import { QUESTDB_VERSION, SMALL_FOOTPRINT_CONFIG, STANDARD_PORTS, startQuestDb, type QuestDbServer } from '../questdb/index.js';
import { createMonitor, startMetricsServer } from '@tradewatch/sdk/sdk';
import { applySchema, createWriter, SqlClient, type Writer } from '@tradewatch/sdk/storage';
import { stopVerdict } from './accounting.js';
import { startPaperStrategy } from './paper-strategy.js';
import { superviseQuestDb, type QuestDbSupervisor } from './supervisor.js';
import { terminalLog } from './terminal-log.js';
import { displayUrl } from '../common/redact.js';
import { TRADEWATCH_VERSION } from '../common/version.js';

export interface DemoOptions {
  readonly config: Config;
  readonly scenario: string;
  readonly metricsPort: number;
  readonly strategyMetricsPort: number;
  readonly duration?: number;
  /** The command that runs tradewatch from here, for printed hints (`npx tradewatch` in a clone). */
  readonly cliCommand: string;
}

const DEMO_SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT', 'SOL/USDT:USDT', 'XRP/USDT:USDT', 'DOGE/USDT:USDT'];
/** Writers get this long to deliver their last rows once producers stopped, QuestDB being restarted included. */
const FINAL_DELIVERY_MS = 60_000;

const out = (line = '') => process.stdout.write(`${line}\n`);

/**
 * The demo stack in one process, plus QuestDB in a process group of its own. Stop order on Ctrl-C / SIGTERM /
 * --duration: producers (strategy, daemon), a final scrape, writers flushed and closed while QuestDB still runs,
 * servers, and QuestDB last. "stopped cleanly" is printed only when every writer's accounting says every row is
 * stored; otherwise it says what is pending and where. Resolves with the exit status.
 */
export async function runDemo(options: DemoOptions): Promise<number> {
  const { config } = options;
  const log = terminalLog();
  const demoLog = log.component('demo');
  const say = (message: string, context?: object) => log.line('info', 'demo', message, context);

  // Signals are taken from the start: a Ctrl-C while QuestDB starts must stop it too, not orphan it.
  let stopRequested: string | undefined;
  let requestStop: (reason: string) => void = (reason) => (stopRequested = reason);
  let stage = 'starting';
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopRequested === undefined) {
      requestStop(signal);
      return;
    }
    say(`${signal} received again; still stopping (${stage})`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let server: QuestDbServer | undefined;
  let supervisor: QuestDbSupervisor | undefined;
  let url = config.questdb.url;
  if (!url) {
    say(`starting QuestDB ${QUESTDB_VERSION} on ${config.questdb.dataRoot}`);
    server = await startLocalQuestDb(config.questdb.dataRoot, (line) => say(line));
    url = server.httpUrl;
    supervisor = superviseQuestDb(server, log.component('questdb'));
    say(`QuestDB is up`, { pid: server.pid, processGroup: 'own' });
  }
  if (stopRequested !== undefined) {
    await supervisor?.stop();
    say(`stopped (${stopRequested} during start-up)`);
    return 130;
  }
  const sql = new SqlClient({ url });
  const report = await applySchema(sql, { retention: retentionTtls(config) });
  say(`schema v${report.version}: ${report.changes.length} change(s), ${report.unchanged.length} current`);
  for (const change of report.changes) if (change.detail) say(`  ${change.object}: ${change.detail}`);

  // The simulator is an exchange on loopback: the daemon reaches it over HTTP and websockets only.
  const { startSimulator } = await import('../simulator/index.js');
  const simulatorLog = log.component('simulator');
  const simulator = await startSimulator({ port: 0, scenario: options.scenario, liquidationsPerSecond: 2, onEvent: (line) => simulatorLog.info({}, line) });
  const exchanges = (['binanceusdm', 'bybit'] as const).map((id) => ({ id, symbols: DEMO_SYMBOLS }));
  const daemonSettings = daemonConfig({ ...config.daemon, exchanges, openInterestIntervalMs: 10_000, fundingIntervalMs: 30_000 });

  // The demo owns every writer, so that their accounting at the end is what decides "stopped cleanly".
  const writers: { name: string; writer: Writer; spoolDir: string }[] = [];
  const writerFor = (name: string, service: string) => {
    const spoolDir = join(config.writer.spoolDir, 'demo', name);
    mkdirSync(spoolDir, { recursive: true });
    const writer = createWriter({ url: url!, service, spoolDir, flushIntervalMs: config.writer.flushIntervalMs, logger: log.component(`writer ${name}`) });
    writers.push({ name, writer, spoolDir });
    return writer;
  };

  const monitor = createMonitor({ service: daemonSettings.service, version: TRADEWATCH_VERSION, retention: retentionTtls(config), writer: writerFor('daemon', daemonSettings.service), logger: log.component('sdk daemon') });
  const daemon = createDaemon({
    config: daemonSettings,
    monitor,
    questdbUrl: url,
    ccxtOverrides: Object.fromEntries(exchanges.map(({ id }) => [id, simulator.exchanges[id]!.ccxtOptions])),
  });
  const daemonMetrics = await startMetricsServer({ registry: monitor.registry, port: options.metricsPort, ready: () => monitor.readiness() });
  daemon.start();

  const traderMonitor = createMonitor({ service: 'demo-strategy', version: TRADEWATCH_VERSION, retention: retentionTtls(config), writer: writerFor('strategy', 'demo-strategy'), logger: log.component('sdk strategy') });
  const strategyMetrics = await startMetricsServer({ registry: traderMonitor.registry, port: options.strategyMetricsPort, ready: () => traderMonitor.readiness() });
  const strategy = startPaperStrategy(traderMonitor);

  const targets: ExporterTarget[] = [
    { url: `${daemonMetrics.url}/metrics`, service: daemonSettings.service },
    { url: `${strategyMetrics.url}/metrics`, service: 'demo-strategy' },
  ];
  // The managed QuestDB's data root is on this machine: its filesystem's free space is sampled with its metrics.
  if (server) targets.push({ url: `${server.minHttpUrl}/metrics`, service: 'questdb', diskPath: server.dataRoot });
  const exporter = createExporter({ targets, intervalMs: 15_000, writer: writerFor('exporter', 'tradewatch-exporter'), logger: log.component('exporter') });
  exporter.start();

  const consoleUrl = displayUrl(server?.httpUrl ?? sql.baseUrl);
  const cli = options.cliCommand;
  out('');
  out('tradewatch demo is running');
  out(`  QuestDB web console  ${consoleUrl}   (SQL and CSV export; try: SELECT * FROM tw_open_interest LATEST ON ts PARTITION BY exchange, symbol)`);
  out(`  daemon /metrics      ${daemonMetrics.url}/metrics`);
  out(`  strategy /metrics    ${strategyMetrics.url}/metrics`);
  if (server) out(`  QuestDB /metrics     ${server.minHttpUrl}/metrics   (pid ${server.pid}, supervised: restarted if it exits)`);
  out(`                       all scraped every 15 s into tw_metrics`);
  for (const { id } of exchanges) out(`  simulated ${id.padEnd(10)} ${simulator.exchanges[id]!.restUrl}`);
  out(`  scheduled faults     ${options.scenario} (each one is announced here when it starts and ends)`);
  out(`  simulator faults     ${simulator.url}/control/state; inject one:`);
  out(`                       curl -X POST ${simulator.url}/control/bybit/fault -H 'content-type: application/json' -d '{"kind":"outage","duration":"30s"}'`);
  if (server) {
    out(`  Grafana datasource   questdb-questdb-datasource → ${server.host}:${server.pgPort}, user admin, password quest (loopback only);`);
    out('                       dashboards: deploy/grafana/provisioning (or the Docker Compose stack in deploy/)');
  }
  out(`  ad-hoc SQL           ${cli} query --questdb-url ${consoleUrl} "SELECT exchange, count() FROM tw_fetches"`);
  out(options.duration ? `Stopping after ${options.duration} s.` : 'Press Ctrl-C to stop.');

  const reason = await new Promise<string>((resolve) => {
    const timer = options.duration ? setTimeout(() => resolve('duration elapsed'), options.duration * 1000) : undefined;
    if (stopRequested !== undefined) resolve(stopRequested);
    requestStop = (why) => {
      stopRequested = why;
      if (timer) clearTimeout(timer);
      resolve(why);
    };
  });
  stopRequested ??= reason;

  say(`stopping (${reason}): producers first, QuestDB last`);
  stage = 'stopping the strategy and the daemon';
  strategy.stop();
  await daemon.stop();
  stage = 'final scrape';
  await exporter.scrapeOnce(); // the final counters, before the /metrics endpoints go away
  await Promise.all([monitor.shutdown({ reason: 'demo stopped' }), traderMonitor.shutdown({ reason: 'demo stopped' })]);
  await exporter.stop();
  stage = 'delivering the last rows to QuestDB';
  if (supervisor && !supervisor.up) {
    say('QuestDB is being restarted; waiting for it to take the last rows', { timeoutMs: FINAL_DELIVERY_MS });
    await supervisor.whenUp(FINAL_DELIVERY_MS);
  }
  // flush() counts a row as safe once it is in the spool; the demo wants it in QuestDB, so it waits for the replay of
  // what an outage spooled too (bounded: with QuestDB gone for good, what is left stays pending and is reported).
  const reachable = supervisor ? supervisor.up : await sql.query('select 1').then(() => true, () => false);
  await deliverEverything(writers.map(({ writer }) => writer), reachable ? FINAL_DELIVERY_MS : 0);
  await Promise.all(writers.map(({ writer }) => writer.close()));
  stage = 'closing servers';
  await Promise.all([daemonMetrics.close(), strategyMetrics.close(), simulator.close()]);
  stage = 'stopping QuestDB';
  const questdbExit = supervisor ? await supervisor.stop() : undefined;
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);

  const verdict = stopVerdict(writers.map(({ name, writer, spoolDir }) => ({ name, stats: writer.stats(), spoolDir })));
  for (const line of verdict.lines) say(line);
  if (questdbExit && !questdbExit.clean) {
    demoLog.warn({ code: questdbExit.code, signal: questdbExit.signal }, 'QuestDB did not shut down on SIGTERM within its stop timeout and was killed');
  }
  if (verdict.clean && (!questdbExit || questdbExit.clean)) {
    say('stopped cleanly: every accepted row is stored in QuestDB');
    return 0;
  }
  demoLog.warn({}, verdict.clean ? 'stopped; every row is stored, but QuestDB had to be killed' : 'stopped, NOT cleanly: see the lines above for the rows pending and where they are');
  return 1;
}

async function deliverEverything(writers: readonly Writer[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    await Promise.all(writers.map((w) => w.flush()));
    const pending = writers.some((w) => {
      const s = w.stats();
      return s.queueRows + s.spoolRows > 0;
    });
    if (!pending || Date.now() >= deadline) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Standard ports when they are free (the web console at :9000, as users expect), any free ports otherwise. */
async function startLocalQuestDb(dataRoot: string, progress: (line: string) => void): Promise<QuestDbServer> {
  const common = { dataRoot, extraConfig: SMALL_FOOTPRINT_CONFIG, onProgress: progress, ownProcessGroup: true };
  try {
    return await startQuestDb({ ...common, ports: STANDARD_PORTS });
  } catch (err) {
    if (!/port/i.test((err as Error).message)) throw err;
    progress('standard QuestDB ports are taken; using free ones');
    return startQuestDb(common);
  }
}
