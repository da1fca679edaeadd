import { InvalidArgumentError, Option, type Command } from 'commander';
import { parsePort } from '../options.js';
import { EXCHANGE_IDS, startSimulator, type ExchangeId, type Simulator } from '../../simulator/index.js';

interface SimulateFlags {
  port: number;
  host: string;
  seed: number;
  scenario?: string;
  exchanges: ExchangeId[];
  symbols?: string[];
  liquidationRate: number;
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${new Date().toISOString()} ${line}\n`);

function parseSeed(value: string): number {
  const seed = Number(value);
  if (!Number.isInteger(seed)) throw new InvalidArgumentError('expected an integer');
  return seed;
}

function parseRate(value: string): number {
  const rate = Number(value);
  if (!Number.isFinite(rate) || rate < 0 || rate > 10_000) throw new InvalidArgumentError('expected events per second (0-10000)');
  return rate;
}

function parseExchanges(value: string): ExchangeId[] {
  const ids = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const unknown = ids.filter((id) => !(EXCHANGE_IDS as readonly string[]).includes(id));
  if (ids.length === 0 || unknown.length > 0) {
    throw new InvalidArgumentError(`expected a comma-separated list of ${EXCHANGE_IDS.join(', ')}, got ${JSON.stringify(value)}`);
  }
  return ids as ExchangeId[];
}

const parseList = (value: string) =>
  value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);

export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('run a local exchange simulator (Binance USD-M, Bybit v5 linear) on loopback, with fault injection')
    .addOption(
      new Option('--port <port>', 'control API port; exchanges listen on port+1, port+2… (0: any free ports)')
        .env('TRADEWATCH_SIMULATOR_PORT')
        .argParser(parsePort('--port', { env: 'TRADEWATCH_SIMULATOR_PORT', allowZero: true }))
        .default(0),
    )
    .addOption(new Option('--host <host>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--seed <n>', 'seed of the market data and liquidation streams').argParser(parseSeed).default(1))
    .addOption(new Option('--scenario <file>', 'a scenario file (scenarios/*.yaml): faults on a timeline'))
    .addOption(
      new Option('--exchanges <list>', `exchanges to simulate (${EXCHANGE_IDS.join(',')})`).argParser(parseExchanges).default([...EXCHANGE_IDS]),
    )
    .addOption(new Option('--symbols <list>', 'bases to list, e.g. BTC,ETH,SOL (default BTC,ETH,SOL,XRP,DOGE)').argParser(parseList))
    .addOption(new Option('--liquidation-rate <perSecond>', 'background liquidations per second per exchange').argParser(parseRate).default(1))
    .action(async (flags: SimulateFlags) => {
      const sim = await startSimulator({
        host: flags.host,
        port: flags.port,
        seed: flags.seed,
        scenario: flags.scenario,
        exchanges: flags.exchanges,
        symbols: flags.symbols,
        liquidationsPerSecond: flags.liquidationRate,
        onEvent: progress,
      });
      printAddresses(sim, flags.seed);
      await runUntilSignal(sim);
    });
}

function printAddresses(sim: Simulator, seed: number): void {
  out(`exchange simulator running (seed ${seed})`);
  for (const ex of Object.values(sim.exchanges)) {
    out(`  ${ex.id.padEnd(12)} REST ${ex.restUrl}  WS ${ex.wsUrl}`);
  }
  out(`  control      ${sim.url}/control/state  (POST ${sim.url}/control/<exchange>/fault, DELETE …/faults)`);
  out('ccxt: pass urls.api overrides for these addresses (see docs/simulator.md).');
  out('Press Ctrl-C to stop.');
}

async function runUntilSignal(sim: Simulator): Promise<void> {
  await new Promise<void>((resolve) => {
    let stopping = false;
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      out('stopping the simulator…');
      sim.close().then(resolve, (err: unknown) => {
        progress(`close failed: ${(err as Error).message}`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
