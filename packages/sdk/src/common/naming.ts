/**
 * One setting, three spellings: the config file path (`questdb.dataRoot`), the environment variable
 * (`TRADEWATCH_QUESTDB_DATA_ROOT`) and the CLI flag (`--questdb-data-root`).
 */
const ENV_PREFIX = 'TRADEWATCH_';

const snake = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
const kebab = (s: string) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** `questdb.dataRoot` → `TRADEWATCH_QUESTDB_DATA_ROOT`. */
export function envName(path: string): string {
  return ENV_PREFIX + path.split('.').map(snake).join('_');
}

/** `questdb.dataRoot` → `--questdb-data-root`. */
export function flagName(path: string): string {
  return `--${path.split('.').map(kebab).join('-')}`;
}
