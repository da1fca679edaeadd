import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Option, type Command } from 'commander';
import { parsePort, parsePositiveNumber } from '../options.js';
import { configFrom, questDbOptions, type QuestDbFlags } from '../target.js';

const ROOT = resolve(fileURLToPath(import.meta.url), '..', '..', '..', '..');
const DEMO_SCENARIO = join(ROOT, 'scenarios', 'demo.yaml');

interface DemoFlags extends QuestDbFlags {
  metricsPort: number;
  strategyMetricsPort: number;
  duration?: number;
  scenario: string;
}

export function registerDemoCommand(program: Command): void {
  const demo = program
    .command('demo')
    .description('run the demo stack: QuestDB, the exchange simulator, the CCXT daemon, the exporter and a paper strategy')
    .addOption(new Option('--metrics-port <port>', "port of the daemon's /metrics (0 = any free)").default(9464).argParser(parsePort('--metrics-port', { allowZero: true })))
    .addOption(new Option('--strategy-metrics-port <port>', "port of the paper strategy's /metrics (0 = any free)").default(9465).argParser(parsePort('--strategy-metrics-port', { allowZero: true })))
    .addOption(new Option('--scenario <file>', 'simulator scenario (faults over time)').default(DEMO_SCENARIO))
    .addOption(new Option('--duration <seconds>', 'stop by itself after this long (default: run until Ctrl-C)').argParser(parsePositiveNumber('--duration')));
  for (const option of questDbOptions()) demo.addOption(option);

  demo.action(async (flags: DemoFlags) => {
    // Loaded once the options are valid: the demo brings the daemon and ccxt, a second that a typo need not pay.
    const { runDemo } = await import('../../demo/index.js');
    const status = await runDemo({
      config: configFrom(flags),
      scenario: flags.scenario,
      metricsPort: flags.metricsPort,
      strategyMetricsPort: flags.strategyMetricsPort,
      duration: flags.duration,
      // Run from the TypeScript source, this is a clone, where `tradewatch` is not on PATH; npx finds the workspace's bin.
      cliCommand: existsSync(join(ROOT, 'src')) ? 'npx tradewatch' : 'tradewatch',
    });
    // ccxt keeps pooled HTTP connections open; everything is stopped and flushed (or reported as not).
    await new Promise<void>((done) => process.stderr.write('', () => done()));
    process.exit(status);
  });
}
