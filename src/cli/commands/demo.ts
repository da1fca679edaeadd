import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { startSampleProducer } from '../../demo/sample-producer.js';
import { QUESTDB_VERSION, STANDARD_PORTS, startQuestDb, type QuestDbServer } from '../../questdb/index.js';
import { createMonitor, startMetricsServer } from '../../sdk/index.js';
import { applySchema, SqlClient } from '../../storage/index.js';
import { configFrom, questDbOptions, type QuestDbFlags } from '../target.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

interface DemoFlags extends QuestDbFlags {
  metricsPort: number;
  duration?: number;
}

/** Standard ports when they are free (the web console at :9000, as users expect), any free ports otherwise. */
async function startLocalQuestDb(dataRoot: string): Promise<QuestDbServer> {
  try {
    return await startQuestDb({ dataRoot, ports: STANDARD_PORTS, onProgress: progress });
  } catch (err) {
    if (!/port/i.test((err as Error).message)) throw err;
    progress('standard QuestDB ports are taken; using free ones');
    return startQuestDb({ dataRoot, onProgress: progress });
  }
}

export function registerDemoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('run the demo stack: QuestDB, the schema, a sample producer through the SDK, and /metrics')
    .addOption(new Option('--metrics-port <port>', 'port of the /metrics endpoint (0 = any free)').default(9464).argParser(Number))
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
    const report = await applySchema(sql);
    progress(`schema v${report.version}: ${report.changes.length} change(s), ${report.unchanged.length} current`);

    const spoolDir = join(config.writer.spoolDir, 'demo');
    mkdirSync(spoolDir, { recursive: true });
    const monitor = createMonitor({
      service: 'tradewatch-demo',
      questdb: { url, spoolDir, flushIntervalMs: config.writer.flushIntervalMs },
    });
    const metrics = await startMetricsServer({ registry: monitor.registry, port: flags.metricsPort, ready: () => monitor.readiness() });
    const producer = startSampleProducer(monitor);

    const consoleUrl = server?.httpUrl ?? sql.baseUrl;
    out('');
    out('tradewatch demo is running');
    out(`  QuestDB web console  ${consoleUrl}   (try: SELECT * FROM tw_fetches_1m LIMIT 20)`);
    out(`  Prometheus /metrics  ${metrics.url}/metrics`);
    if (server) {
      out(`  Grafana datasource   questdb-questdb-datasource, host ${server.host}:${server.pgPort}, user admin, password quest (loopback only)`);
    }
    out(`  SQL from the shell   tradewatch schema apply --questdb-url ${consoleUrl}   (or curl ${consoleUrl}/exec?query=…)`);
    out(flags.duration ? `Stopping after ${flags.duration} s.` : 'Press Ctrl-C to stop.');

    await new Promise<void>((resolve) => {
      const timer = flags.duration ? setTimeout(resolve, flags.duration * 1000) : undefined;
      const onSignal = () => {
        if (timer) clearTimeout(timer);
        resolve();
      };
      process.once('SIGINT', onSignal);
      process.once('SIGTERM', onSignal);
    });

    progress('stopping…');
    producer.stop();
    await monitor.shutdown({ reason: 'demo stopped' });
    await metrics.close();
    if (server) await server.stop();
    progress('stopped cleanly');
  });
}
