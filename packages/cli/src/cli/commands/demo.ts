import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { createDaemon, daemonConfig } from '../../daemon/index.js';
import { startPaperStrategy } from '../../demo/index.js';
import { createExporter } from '../../exporter/index.js';
import { QUESTDB_VERSION, SMALL_FOOTPRINT_CONFIG, STANDARD_PORTS, startQuestDb, type QuestDbServer } from '../../questdb/index.js';
import { createMonitor, startMetricsServer } from '@tradewatch/sdk/sdk';
import { applySchema, SqlClient } from '@tradewatch/sdk/storage';
import { retentionTtls } from '../../config/index.js';
import { configFrom, questDbOptions, type QuestDbFlags } from '../target.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

const DEMO_SCENARIO = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..', 'scenarios', 'demo.yaml');
const DEMO_SYMBOLS = ['BTC/USDT:USDT', 'ETH/USDT:USDT', 'SOL/USDT:USDT', 'XRP/USDT:USDT', 'DOGE/USDT:USDT'];

interface DemoFlags extends QuestDbFlags {
  metricsPort: number;
  duration?: number;
  scenario: string;
}

/** Standard ports when they are free (the web console at :9000, as users expect), any free ports otherwise. */
async function startLocalQuestDb(dataRoot: string): Promise<QuestDbServer> {
  try {
    return await startQuestDb({ dataRoot, ports: STANDARD_PORTS, extraConfig: SMALL_FOOTPRINT_CONFIG, onProgress: progress });
  } catch (err) {
    if (!/port/i.test((err as Error).message)) throw err;
    progress('standard QuestDB ports are taken; using free ones');
    return startQuestDb({ dataRoot, extraConfig: SMALL_FOOTPRINT_CONFIG, onProgress: progress });
  }
}

export function registerDemoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('run the demo stack: QuestDB, the exchange simulator, the CCXT daemon, the exporter and a paper strategy')
    .addOption(new Option('--metrics-port <port>', "port of the daemon's /metrics (0 = any free)").default(9464).argParser(Number))
    .addOption(new Option('--scenario <file>', 'simulator scenario (faults over time)').default(DEMO_SCENARIO))
    .addOption(new Option('--duration <seconds>', 'stop by itself after this long (default: run until Ctrl-C)').argParser(Number));
  for (const option of questDbOptions()) demo.addOption(option);

  demo.action(async (flags: DemoFlags) => {
    const config = configFrom(flags);
    let server: QuestDbServer | undefined;
    let url = config.questdb.url;
    if (!url) {
      progress(`starting QuestDB ${QUESTDB_VERSION} on ${config.questdb.dataRoot}…`);
      server = await startLocalQuestDb(config.questdb.dataRoot);
      url = server.httpUrl;
    }
    const sql = new SqlClient({ url });
    const report = await applySchema(sql, { retention: retentionTtls(config) });
    progress(`schema v${report.version}: ${report.changes.length} change(s), ${report.unchanged.length} current`);
    for (const change of report.changes) if (change.detail) progress(`  ${change.object}: ${change.detail}`);

    // The simulator is an exchange on loopback: the daemon reaches it over HTTP and websockets only.
    const { startSimulator } = await import('../../simulator/index.js');
    const simulator = await startSimulator({ port: 0, scenario: flags.scenario, liquidationsPerSecond: 2 });
    const exchanges = (['binanceusdm', 'bybit'] as const).map((id) => ({ id, symbols: DEMO_SYMBOLS }));
    const daemonSettings = daemonConfig({ ...config.daemon, exchanges, openInterestIntervalMs: 10_000, fundingIntervalMs: 30_000 });

    const spool = (name: string) => {
      const dir = join(config.writer.spoolDir, 'demo', name);
      mkdirSync(dir, { recursive: true });
      return dir;
    };
    const writerOptions = (name: string) => ({ url: url!, spoolDir: spool(name), flushIntervalMs: config.writer.flushIntervalMs });
    const monitor = createMonitor({ service: daemonSettings.service, questdb: writerOptions('daemon') });
    const daemon = createDaemon({
      config: daemonSettings,
      monitor,
      questdbUrl: url!,
      ccxtOverrides: Object.fromEntries(exchanges.map(({ id }) => [id, simulator.exchanges[id]!.ccxtOptions])),
    });
    const metrics = await startMetricsServer({ registry: monitor.registry, port: flags.metricsPort, ready: () => monitor.readiness() });
    daemon.start();

    const traderMonitor = createMonitor({ service: 'demo-strategy', questdb: writerOptions('strategy') });
    const strategy = startPaperStrategy(traderMonitor);

    const targets = [{ url: `${metrics.url}/metrics`, service: daemonSettings.service }];
    if (server) targets.push({ url: `${server.minHttpUrl}/metrics`, service: 'questdb' });
    const exporter = createExporter({ targets, intervalMs: 15_000, questdbUrl: url });
    exporter.start();

    const consoleUrl = server?.httpUrl ?? sql.baseUrl;
    out('');
    out('tradewatch demo is running');
    out(`  QuestDB web console  ${consoleUrl}   (SQL and CSV export; try: SELECT * FROM tw_open_interest LATEST ON ts PARTITION BY exchange, symbol)`);
    out(`  daemon /metrics      ${metrics.url}/metrics   (scraped into tw_metrics, with QuestDB's own metrics)`);
    for (const { id } of exchanges) out(`  simulated ${id.padEnd(10)} ${simulator.exchanges[id]!.restUrl}   faults: ${flags.scenario}`);
    out(`  simulator control    ${simulator.url}/control/state`);
    if (server) {
      out(`  Grafana datasource   questdb-questdb-datasource → ${server.host}:${server.pgPort}, user admin, password quest (loopback only);`);
      out('                       dashboards: deploy/grafana/provisioning (or the Docker Compose stack in deploy/)');
    }
    out(`  ad-hoc SQL           tradewatch query --questdb-url ${consoleUrl} "SELECT exchange, count() FROM tw_fetches"`);
    out(flags.duration ? `Stopping after ${flags.duration} s.` : 'Press Ctrl-C to stop.');

    await new Promise<void>((done) => {
      const timer = flags.duration ? setTimeout(done, flags.duration * 1000) : undefined;
      const onSignal = () => {
        if (timer) clearTimeout(timer);
        done();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });

    progress('stopping…');
    strategy.stop();
    await daemon.stop();
    await exporter.scrapeOnce(); // the final counters, before the daemon's /metrics goes away
    await Promise.all([monitor.shutdown({ reason: 'demo stopped' }), traderMonitor.shutdown({ reason: 'demo stopped' })]);
    await exporter.stop();
    await metrics.close();
    await simulator.close();
    if (server) await server.stop();
    progress('stopped cleanly');
    // ccxt keeps pooled HTTP connections open; everything is stopped and flushed.
    process.exit(0);
  });
}
