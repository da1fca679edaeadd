import { existsSync, readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ErrorCodes, TradewatchError, describeValue } from '@tradewatch/sdk/common';
import { renamedRuleRefusal } from '../grafana/alerting/config.js';
import { configSchema, type Config } from './schema.js';
import { envName, flagName } from '@tradewatch/sdk/common';

export { envName, flagName };

export const DEFAULT_CONFIG_FILE = 'tradewatch.yaml';
/** Leaf paths of the config schema with whether they take numbers, for env and flag parsing. */
export function configLeaves(): { path: string; numeric: boolean }[] {
  const leaves: { path: string; numeric: boolean }[] = [];
  const walk = (schema: z.ZodType, prefix: string) => {
    let inner: z.ZodType = schema;
    while (inner instanceof z.ZodDefault || inner instanceof z.ZodOptional) inner = inner.unwrap() as z.ZodType;
    if (inner instanceof z.ZodObject) {
      for (const [key, value] of Object.entries(inner.shape)) walk(value as z.ZodType, prefix ? `${prefix}.${key}` : key);
    } else {
      leaves.push({ path: prefix, numeric: inner instanceof z.ZodNumber });
    }
  };
  walk(configSchema, '');
  return leaves;
}

/** Keys the schema knows directly under `parent` (`''` for the top level). */
function knownKeys(parent: string): string[] {
  const prefix = parent ? `${parent}.` : '';
  const keys = new Set<string>();
  for (const { path } of configLeaves()) if (path.startsWith(prefix)) keys.add(path.slice(prefix.length).split('.')[0]!);
  return [...keys];
}

function setPath(target: Record<string, unknown>, path: string, value: unknown) {
  const keys = path.split('.');
  let node = target;
  for (const key of keys.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

function coerce(raw: string, numeric: boolean, origin: string): unknown {
  if (!numeric) return raw;
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n)) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `${origin} must be a number, got ${describeValue(raw)}`, {
      origin,
      value: raw,
    });
  }
  return n;
}

export interface LoadConfigOptions {
  /** Config file; default tradewatch.yaml in the working directory when it exists. */
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from CLI flags, keyed by config path (`questdb.url`). */
  readonly flags?: Record<string, string | number | undefined>;
  /** Flags a command spells differently from the config path (`daemon.metricsPort` → `--metrics-port`), for messages. */
  readonly flagSpellings?: Readonly<Record<string, string>>;
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const flagOf = (path: string) => options.flagSpellings?.[path] ?? flagName(path);
  const file = options.file ?? env[envName('config')] ?? DEFAULT_CONFIG_FILE;
  let merged: Record<string, unknown> = {};
  if (existsSync(file)) {
    try {
      merged = (parseYaml(readFileSync(file, 'utf8')) as Record<string, unknown> | null) ?? {};
    } catch (err) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `${file} is not valid YAML: ${(err as Error).message}`, {
        file,
      });
    }
  } else if (options.file) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `config file ${file} does not exist`, { file });
  }
  for (const { path, numeric } of configLeaves()) {
    const fromEnv = env[envName(path)];
    if (fromEnv !== undefined && fromEnv !== '') setPath(merged, path, coerce(fromEnv, numeric, `${envName(path)} (${path}, ${flagOf(path)})`));
    const fromFlag = options.flags?.[path];
    if (fromFlag !== undefined) {
      setPath(merged, path, typeof fromFlag === 'string' ? coerce(fromFlag, numeric, `${flagOf(path)} (${path}, ${envName(path)})`) : fromFlag);
    }
  }
  const result = configSchema.safeParse(merged);
  if (!result.success) {
    const issues = result.error.issues.flatMap((issue) => {
      if (issue.code === 'unrecognized_keys') {
        // A key only a file can hold: it has no variable or flag to name, and the known ones help more.
        const parent = issue.path.join('.');
        const valueAt = (key: string) => [...issue.path, key].reduce<unknown>((node, k) => (node as Record<PropertyKey, unknown> | undefined)?.[k], merged);
        // A renamed rule's old id: say what it became and what its threshold means now.
        const renamed = parent === 'alerts.rules' ? issue.keys.flatMap((key) => renamedRuleRefusal(key, valueAt(key), file) ?? []) : [];
        const unknown = parent === 'alerts.rules' ? issue.keys.filter((key) => renamedRuleRefusal(key, undefined, file) === undefined) : issue.keys;
        if (unknown.length === 0) return renamed;
        const keys = unknown.map((key) => (parent ? `${parent}.${key}` : key));
        const known = knownKeys(parent);
        return [...renamed, `${keys.join(', ')}: unknown setting${keys.length > 1 ? 's' : ''} in ${file}${known.length ? ` (known${parent ? ` under ${parent}` : ''}: ${known.join(', ')})` : ''}`];
      }
      const path = issue.path.join('.');
      const value = issue.path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key], merged);
      return `${path || '(root)'} (${envName(path || 'x').replace(/_X$/, '')}, ${flagOf(path || 'x')}): ${issue.message}, got ${describeValue(value)}`;
    });
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `invalid configuration:\n  ${issues.join('\n  ')}`, {
      issues: result.error.issues,
    });
  }
  // Frozen: one validated configuration, read by every part, changed by none.
  return deepFreeze(result.data);
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}
