import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { parsePositiveNumber } from '../options.js';
import { TRADEWATCH_VERSION } from '../../common/version.js';
import { loadConfig, retentionTtls, type Config } from '../../config/index.js';
import { createMonitor, startMetricsServer } from '@tradewatch/sdk/sdk';
import { applySchema, SqlClient } from '@tradewatch/sdk/storage';
import { questDbOptions, resolveQuestDbUrl, type QuestDbFlags } from '../target.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

interface DaemonFlags extends QuestDbFlags {
  metricsPort?: string;
  simulate?: boolean;
  duration?: number;
}

interface SimulatorHandle {
  readonly overrides: Record<string, Record<string, unknown>>;
  readonly description: string;
  close(): Promise<void>;
}

/**
 * The simulator runs in this process only through this wiring (the daemon itself meets it over the network, like
 * any exchange): loaded on demand, so that a production daemon never loads it.
 */
async function startSimulatorFor(config: Config): Promise<SimulatorHandle> {
  const { startSimulator } = await import('../../simulator/index.js');
  const ids = config.daemon.exchanges.map((e) => e.id);
  const supported = ['binanceusdm', 'bybit'];
  const unsupported = ids.filter((id) => !supported.includes(id));
  if (unsupported.length > 0) {
    throw new Error(`the simulator only speaks ${supported.join(', ')}; not ${unsupported.join(', ')} (daemon.exchanges)`);
  }
  const simulator = await startSimulator({ port: 0, exchanges: ids as ('binanceusdm' | 'bybit')[] });
  const overrides: Record<string, Record<string, unknown>> = {};
  const lines: string[] = [];
  for (const id of ids as ('binanceusdm' | 'bybit')[]) {
    const endpoint = simulator.exchanges[id];
    if (!endpoint) continue;
    overrides[id] = endpoint.ccxtOptions;
    lines.push(`  simulated ${id.padEnd(12)} ${endpoint.restUrl}  ${endpoint.wsUrl}`);
  }
  return { overrides, description: lines.join('\n'), close: () => simulator.close() };
}

export function registerDaemonCommand(program: Command): void {
  const command = program
    .command('daemon')
    .description('run the reference CCXT daemon: open interest, funding rates and liquidations into QuestDB, monitored')
    .addOption(new Option('--metrics-port <port>', 'port of /metrics (0 = any free); config daemon.metricsPort, env TRADEWATCH_DAEMON_METRICS_PORT'))
    .addOption(new Option('--simulate', 'start the built-in exchange simulator and point every exchange at it; config daemon.simulate, env TRADEWATCH_DAEMON_SIMULATE'))
    .addOption(new Option('--duration <seconds>', 'stop by itself after this long (default: until SIGTERM/SIGINT)').argParser(parsePositiveNumber('--duration')));
  for (const option of questDbOptions()) command.addOption(option);

  command.action(async (flags: DaemonFlags) => {
    const config = loadConfig({
      file: flags.config,
      flagSpellings: { 'daemon.metricsPort': '--metrics-port' },
      flags: {
        'questdb.url': flags.questdbUrl,
        'questdb.dataRoot': flags.questdbDataRoot,
        'daemon.metricsPort': flags.metricsPort,
        ...(flags.simulate ? { 'daemon.simulate': 'true' } : {}),
      },
    });
    // Loaded once the options are valid: the daemon brings ccxt, a second of start-up that a typo need not pay.
    const { createDaemon, validateDaemonExchanges } = await import('../../daemon/index.js');
    validateDaemonExchanges(config.daemon); // before anything starts: what only ccxt knows about each exchange
    const url = await resolveQuestDbUrl(config);
    const report = await applySchema(new SqlClient({ url }), { retention: retentionTtls(config) });
    progress(`schema v${report.version}: ${report.changes.length} change(s), ${report.unchanged.length} current`);
    for (const change of report.changes) if (change.detail) progress(`  ${change.object}: ${change.detail}`);

    const simulator = config.daemon.simulate ? await startSimulatorFor(config) : undefined;
    const instance = config.instance ?? hostname();
    const spoolDir = join(config.writer.spoolDir, `daemon-${config.daemon.service}-${instance}`.replace(/[^A-Za-z0-9._-]/g, '_'));
    mkdirSync(spoolDir, { recursive: true });
    const monitor = createMonitor({
      service: config.daemon.service,
      instance,
      version: TRADEWATCH_VERSION,
      retention: retentionTtls(config),
      questdb: {
        ...config.writer,
        url,
        spoolDir,
      },
    });
    // A daemon keeps running through whatever an exchange library leaves unhandled; it is reported, not fatal.
    const onUnhandled = (err: unknown) => monitor.error(err, { component: 'daemon', kind: 'UnhandledRejection' });
    process.on('unhandledRejection', onUnhandled);

    let daemon;
    try {
      daemon = createDaemon({ config: config.daemon, monitor, questdbUrl: url, ccxtOverrides: simulator?.overrides });
    } catch (err) {
      await monitor.shutdown({ reason: 'invalid configuration' });
      await simulator?.close();
      throw err;
    }
    const metrics = await startMetricsServer({ registry: monitor.registry, port: config.daemon.metricsPort, host: config.daemon.metricsHost, ready: () => monitor.readiness() });
    daemon.start();

    const { daemon: d } = config;
    out('tradewatch daemon is running');
    out(`  service          ${d.service} / ${instance}`);
    for (const exchange of d.exchanges) out(`  ${exchange.id.padEnd(16)} ${exchange.symbols.join(', ')}`);
    out(`  schedules        open interest every ${d.openInterestIntervalMs} ms, funding every ${d.fundingIntervalMs} ms, liquidations ${d.liquidations ? 'streamed' : 'off'}`);
    if (simulator) out(simulator.description);
    out(`  QuestDB          ${new SqlClient({ url }).baseUrl}`);
    out(`  metrics          ${metrics.url}/metrics`);
    out(flags.duration ? `Stopping after ${flags.duration} s.` : 'SIGTERM or Ctrl-C stops it.');

    const signal = await new Promise<string>((resolve) => {
      const timer = flags.duration ? setTimeout(() => resolve('duration elapsed'), flags.duration * 1000) : undefined;
      const onSignal = (name: NodeJS.Signals) => {
        if (timer) clearTimeout(timer);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve(name);
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });

    progress(`stopping (${signal})…`);
    await daemon.stop();
    await monitor.shutdown({ reason: signal });
    await metrics.close();
    await simulator?.close();
    process.off('unhandledRejection', onUnhandled);
    const s = daemon.status();
    const fetches = s.exchanges.reduce((n, e) => n + e.fetches.ok + e.fetches.error + e.fetches.rate_limited + e.fetches.timeout + e.fetches.blocked, 0);
    progress(`stopped cleanly: ${fetches} fetches recorded`);
    // ccxt keeps pooled HTTP connections open; a stopped daemon has nothing left to do.
    await new Promise<void>((resolve) => process.stderr.write('', () => resolve()));
    process.exit(0);
  });
}
