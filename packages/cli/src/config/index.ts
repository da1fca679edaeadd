export { configSchema, retentionTtls, type Config } from './schema.js';
export { loadConfig, envName, flagName, configLeaves, DEFAULT_CONFIG_FILE, type LoadConfigOptions } from './load.js';
