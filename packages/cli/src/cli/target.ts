import { Option } from 'commander';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { loadConfig, type Config } from '../config/index.js';
import { questDbStatus } from '../questdb/index.js';
import { SqlClient } from '@tradewatch/sdk/storage';

/** Flags every command that talks to QuestDB shares; names match the config file and environment variables. */
export const questDbOptions = () => [
  new Option('--questdb-url <url>', 'an external QuestDB (http://user:pass@host:9000); env TRADEWATCH_QUESTDB_URL'),
  new Option('--questdb-data-root <dir>', 'data root of the local QuestDB; env TRADEWATCH_QUESTDB_DATA_ROOT'),
  new Option('--config <file>', 'config file (default tradewatch.yaml); env TRADEWATCH_CONFIG'),
];

export interface QuestDbFlags {
  questdbUrl?: string;
  questdbDataRoot?: string;
  config?: string;
}

/** The config with the QuestDB flags applied, plus any other flags of the command, keyed by config path. */
export function configFrom(flags: QuestDbFlags, more: Record<string, string | number | undefined> = {}): Config {
  return loadConfig({
    file: flags.config,
    flags: { 'questdb.url': flags.questdbUrl, 'questdb.dataRoot': flags.questdbDataRoot, ...more },
  });
}

/** The QuestDB a command talks to: the configured URL, else the local server on the configured data root. */
export async function resolveQuestDbUrl(config: Config): Promise<string> {
  if (config.questdb.url) return config.questdb.url;
  const status = await questDbStatus(config.questdb.dataRoot);
  if (status.state !== 'running' || !status.httpUrl) {
    throw new TradewatchError(
      ErrorCodes.QUESTDB_UNREACHABLE,
      `no QuestDB is running on ${status.dataRoot} (${status.state}); start one with 'tradewatch questdb start' ` +
        `or point --questdb-url / TRADEWATCH_QUESTDB_URL at yours`,
      { dataRoot: status.dataRoot },
    );
  }
  return status.httpUrl;
}

export async function sqlClientFor(flags: QuestDbFlags): Promise<SqlClient> {
  return new SqlClient({ url: await resolveQuestDbUrl(configFrom(flags)) });
}
