import { Option, type Command } from 'commander';
import { parsePort } from '../options.js';
import {
  QUESTDB_VERSION,
  STANDARD_PORTS,
  defaultDataRoot,
  ensureQuestDbJar,
  questDbStatus,
  SMALL_FOOTPRINT_CONFIG,
  startQuestDb,
  stopQuestDbAt,
  type QuestDbPorts,
  type QuestDbServer,
} from '../../questdb/index.js';

interface StartFlags {
  questdbDataRoot?: string;
  httpPort?: number;
  pgPort?: number;
  ilpTcpPort?: number;
  minHttpPort?: number;
  heap?: string;
  smallFootprint?: boolean;
  foreground?: boolean;
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const progress = (line: string) => process.stderr.write(`${line}\n`);

/** Each flag can also come from the environment variable of the same name. */
const dataRootOption = () =>
  new Option('--questdb-data-root <dir>', 'QuestDB data root (default: .cache/questdb-data)').env('TRADEWATCH_QUESTDB_DATA_ROOT');
const portOption = (flag: string, what: string, env: string, standard: number) =>
  new Option(`${flag} <port>`, `${what} port on 127.0.0.1 (default: last used, else ${standard})`)
    .env(env)
    .argParser(parsePort(flag, { env }));

export function registerQuestDbCommand(program: Command): void {
  const questdb = program.command('questdb').description(`run a local QuestDB ${QUESTDB_VERSION} (loopback only)`);

  questdb
    .command('fetch')
    .description('download the pinned QuestDB jar through Maven (cached) and print its path')
    .action(async () => {
      out(await ensureQuestDbJar({ onProgress: progress }));
    });

  questdb
    .command('start')
    .description('start QuestDB in the background (or --foreground) and print its addresses')
    .addOption(dataRootOption())
    .addOption(portOption('--http-port', 'HTTP (REST, web console, ILP/HTTP)', 'TRADEWATCH_QUESTDB_HTTP_PORT', STANDARD_PORTS.http))
    .addOption(portOption('--pg-port', 'PostgreSQL wire', 'TRADEWATCH_QUESTDB_PG_PORT', STANDARD_PORTS.pg))
    .addOption(portOption('--ilp-tcp-port', 'ILP/TCP', 'TRADEWATCH_QUESTDB_ILP_TCP_PORT', STANDARD_PORTS.ilpTcp))
    .addOption(portOption('--min-http-port', 'health/metrics', 'TRADEWATCH_QUESTDB_MIN_HTTP_PORT', STANDARD_PORTS.minHttp))
    .addOption(new Option('--heap <size>', 'JVM heap limit (default: 1g)').env('TRADEWATCH_QUESTDB_HEAP'))
    // No environment variable: commander turns a boolean flag on for any value, "0" and "false" included.
    .option('--small-footprint', "256 KiB append pages instead of QuestDB's 16 MiB: an empty tradewatch schema takes ~50 MB instead of ~1.4 GB, and worker threads that sleep soon when idle (less CPU beside a bot; a development or test server, not for production ingest)")
    .option('--foreground', 'stay attached; Ctrl-C stops the server')
    .action(async (flags: StartFlags) => {
      const dataRoot = flags.questdbDataRoot ?? defaultDataRoot();
      const status = await questDbStatus(dataRoot);
      if (status.state === 'running' || status.state === 'unresponsive') {
        out(`QuestDB is already ${status.state} on ${status.dataRoot} (pid ${status.pid}, ${status.httpUrl})`);
        return;
      }
      // Stable addresses across restarts matter to whatever is configured against them (Grafana, writers).
      const previous = status.ports ?? STANDARD_PORTS;
      const ports: QuestDbPorts = {
        http: flags.httpPort ?? previous.http,
        pg: flags.pgPort ?? previous.pg,
        ilpTcp: flags.ilpTcpPort ?? previous.ilpTcp,
        minHttp: flags.minHttpPort ?? previous.minHttp,
      };
      const server = await startQuestDb({
        dataRoot,
        ports,
        heap: flags.heap,
        ...(flags.smallFootprint ? { extraConfig: SMALL_FOOTPRINT_CONFIG } : {}),
        detached: !flags.foreground,
        onProgress: progress,
      });
      printAddresses(server);
      if (flags.foreground) await runInForeground(server);
    });

  questdb
    .command('stop')
    .description('stop the QuestDB running on a data root')
    .addOption(dataRootOption())
    .action(async (flags: { questdbDataRoot?: string }) => {
      const dataRoot = flags.questdbDataRoot ?? defaultDataRoot();
      const result = await stopQuestDbAt(dataRoot);
      if (!result.wasRunning) out(`QuestDB is not running on ${dataRoot}`);
      else out(`QuestDB stopped (pid ${result.pid}${result.forced ? ', killed after the stop timeout' : ''})`);
    });

  questdb
    .command('status')
    .description('show whether QuestDB runs on a data root, and where')
    .addOption(dataRootOption())
    .option('--json', 'print the status as JSON')
    .action(async (flags: { questdbDataRoot?: string; json?: boolean }) => {
      const status = await questDbStatus(flags.questdbDataRoot ?? defaultDataRoot());
      if (flags.json) {
        out(JSON.stringify(status, null, 2));
        return;
      }
      const where = status.pid ? ` (pid ${status.pid}, ${status.httpUrl})` : '';
      out(`QuestDB ${status.version ?? QUESTDB_VERSION}: ${status.state}${where}`);
      out(`  data root  ${status.dataRoot}`);
      if (status.state !== 'absent') out(`  log        ${status.logFile}`);
      if (status.state === 'unresponsive') process.exitCode = 1;
    });
}

function printAddresses(server: QuestDbServer): void {
  const host = server.host;
  out(`QuestDB ${QUESTDB_VERSION} running (pid ${server.pid}) on ${server.dataRoot}`);
  out(`  web console  ${server.httpUrl}`);
  out(`  ILP          ${server.ilpConfig}`);
  out(`  ILP/TCP      tcp::addr=${host}:${server.ilpTcpPort};`);
  out(`  PostgreSQL   ${host}:${server.pgPort} (user admin, password quest, database qdb)`);
  out(`  metrics      ${server.minHttpUrl}/metrics`);
}

/** Keeps the CLI attached until Ctrl-C / SIGTERM (then stops QuestDB cleanly) or until QuestDB exits by itself. */
async function runInForeground(server: QuestDbServer): Promise<void> {
  out('Press Ctrl-C to stop.');
  await new Promise<void>((resolve) => {
    let stopping = false;
    const finish = () => {
      clearInterval(watch);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolve();
    };
    const onSignal = () => {
      if (stopping) return;
      stopping = true;
      out('stopping QuestDB…');
      void server.stop().then(finish, finish);
    };
    // The handle exposes how the process ended, not an event: polling is enough at human speed.
    const watch = setInterval(() => {
      if (!stopping && server.lastExit) {
        out(`QuestDB exited by itself (exit ${server.lastExit.code ?? server.lastExit.signal})`);
        process.exitCode = 1;
        finish();
      }
    }, 500);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}
