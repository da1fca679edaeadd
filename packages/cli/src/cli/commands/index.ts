import type { Command } from 'commander';
import { QUESTDB_VERSION } from '../../questdb/version.js';

/**
 * One row per subcommand. Only the command a user runs is imported (with its dependencies: ccxt, ws, the Grafana
 * SDK) and nothing heavier than commander for top-level help. `summary` is what top-level help shows without loading
 * the command; test/cli-commands.unit.test.ts keeps it equal to the command's own summary (commander's `.summary()`,
 * else its description).
 */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** Packages the command imports that an install may lack (the CLI's optionalDependencies). */
  readonly needs: readonly string[];
  readonly load: () => Promise<(program: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'alerts',
    summary: "alert history: receive Grafana's webhook notifications into tw_alert_events",
    needs: [],
    load: async () => (await import('./alerts.js')).registerAlertsCommand,
  },
  {
    name: 'daemon',
    summary: 'run the reference CCXT daemon: open interest, funding rates and liquidations into QuestDB, monitored',
    needs: ['ccxt'],
    load: async () => (await import('./daemon.js')).registerDaemonCommand,
  },
  {
    name: 'demo',
    summary: 'run the demo stack: QuestDB, the exchange simulator, the CCXT daemon, the exporter and a paper strategy',
    needs: ['ccxt', 'ws'],
    load: async () => (await import('./demo.js')).registerDemoCommand,
  },
  {
    name: 'exporter',
    summary: "scrape Prometheus /metrics endpoints into tw_metrics (default: the local QuestDB's own metrics)",
    needs: [],
    load: async () => (await import('./exporter.js')).registerExporterCommand,
  },
  {
    name: 'grafana',
    summary: 'Grafana provisioning: the QuestDB datasource and the tradewatch dashboards',
    needs: ['@grafana/grafana-foundation-sdk'],
    load: async () => (await import('./grafana.js')).registerGrafanaCommand,
  },
  {
    name: 'questdb',
    summary: `run a local QuestDB ${QUESTDB_VERSION} (loopback only)`,
    needs: [],
    load: async () => (await import('./questdb.js')).registerQuestDbCommand,
  },
  {
    name: 'query',
    summary: 'run SQL on QuestDB and print the result as a table, or export it as CSV (QuestDB /exp)',
    needs: [],
    load: async () => (await import('./query.js')).registerQueryCommand,
  },
  {
    name: 'schema',
    summary: 'tradewatch tables and rollups: create, upgrade, print their DDL',
    needs: [],
    load: async () => (await import('./schema.js')).registerSchemaCommand,
  },
  {
    name: 'simulate',
    summary: 'run a local exchange simulator (Binance USD-M, Bybit v5 linear) on loopback, with fault injection',
    needs: ['ws'],
    load: async () => (await import('./simulate.js')).registerSimulateCommand,
  },
  {
    name: 'storage',
    summary: 'storage tiers: cold day partitions in Parquet, and where the bytes are',
    needs: [],
    load: async () => (await import('./storage.js')).registerStorageCommand,
  },
];

/** A command's dependency is not installed (e.g. `npm install --omit=optional`): the message names the package. */
export class MissingDependencyError extends Error {
  constructor(
    readonly command: string,
    readonly dependency: string,
  ) {
    super(`tradewatch ${command} needs the package ${dependency}, which is not installed: npm install ${dependency}`);
    this.name = 'MissingDependencyError';
  }
}

/** Imports one command and registers it with its options and subcommands. */
export async function registerCommand(program: Command, entry: CommandEntry): Promise<void> {
  let register: (program: Command) => void;
  try {
    register = await entry.load();
  } catch (err) {
    throw missingDependency(entry, err) ?? err;
  }
  register(program);
}

/** Top-level help and unknown commands: every command by name and summary, none of them imported. */
export function registerSummaries(program: Command): void {
  for (const entry of COMMANDS) program.command(entry.name).description(entry.summary);
}

/** Every command, fully loaded (tests and tools that walk the whole command tree). */
export async function registerCommands(program: Command): Promise<void> {
  for (const entry of COMMANDS) await registerCommand(program, entry);
}

/** The command line's subcommand: the first word that is not an option (`help <name>` means that name). */
export function selectCommand(args: readonly string[]): CommandEntry | undefined {
  const words = args.filter((arg) => !arg.startsWith('-'));
  const name = words[0] === 'help' ? words[1] : words[0];
  return COMMANDS.find((entry) => entry.name === name);
}

/**
 * `err` as the command's missing dependency, when it is a failed import of a package the command declares. Commands
 * load their heaviest parts (the daemon and ccxt) only once their options are valid, so this applies to errors from
 * a command's action as well as from loading it.
 */
export function missingDependency(entry: CommandEntry, err: unknown): MissingDependencyError | undefined {
  const missing = missingPackage(err);
  const needed = entry.needs.find((name) => name === missing);
  return needed ? new MissingDependencyError(entry.name, needed) : undefined;
}

/** The package a failed import could not find: Node says `Cannot find package 'x' imported from ...`. */
function missingPackage(err: unknown): string | undefined {
  if (!(err instanceof Error) || (err as NodeJS.ErrnoException).code !== 'ERR_MODULE_NOT_FOUND') return undefined;
  return /Cannot find package '([^']+)'/.exec(err.message)?.[1];
}
