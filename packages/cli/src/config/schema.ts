import { z } from 'zod';
import { daemonSchema } from '../daemon/config-schema.js';
// The zod schema alone: the alerting index reaches the Grafana SDK, an optional dependency of the light commands.
import { alertsConfigSchema } from '../grafana/alerting/config.js';
import { parseTtl, tables, views, type Ttl } from '@tradewatch/sdk/schema';
import { writerSettingsSpec, type ValidWriterSettings, type WriterSettings } from '@tradewatch/sdk/storage';
import { zodFromSettingsSpec } from './settings-zod.js';

/** tradewatch's processes always spool: by default under .cache/spool, one directory per process below it. */
// Typed from the spec: at run time it is the z.object the adapter built (the config loader walks its shape).
const configWriterSchema = zodFromSettingsSpec(writerSettingsSpec).extend({ spoolDir: z.string().min(1).default('.cache/spool') }) as unknown as z.ZodType<
  ValidWriterSettings & { spoolDir: string },
  WriterSettings
>;

export type { DaemonConfig, DaemonExchangeConfig } from '../daemon/config-schema.js';

/** `storage.retention.<name>`: one optional key per table and view, so a misspelt name is an error naming it. */
function retentionSchema() {
  const ttl = z.string().superRefine((text, ctx) => {
    try {
      parseTtl(text);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
    }
  });
  const keys = Object.fromEntries([...tables, ...views].map((o) => [o.name, ttl.optional()]));
  return z.object(keys).strict().default({});
}

/** The configured retentions as TTLs (only those set). */
export function retentionTtls(config: { storage: { retention: Record<string, string | undefined> } }): Record<string, Ttl> {
  return Object.fromEntries(
    Object.entries(config.storage.retention)
      .filter((e): e is [string, string] => e[1] !== undefined)
      .map(([name, text]) => [name, parseTtl(text)]),
  );
}

/**
 * The one configuration of tradewatch. Every leaf has three spellings that mean the same thing:
 * the config file path (`questdb.url`), the environment variable (`TRADEWATCH_QUESTDB_URL`) and the CLI flag
 * (`--questdb-url`). Precedence: flag > environment > file > default.
 */
export const configSchema = z
  .object({
    service: z.string().min(1).max(128).default('tradewatch'),
    instance: z.string().min(1).max(128).optional(),
    questdb: z
      .object({
        /** An external QuestDB (http://user:pass@host:9000). Unset: tradewatch runs its own on loopback. */
        url: z.url({ protocol: /^https?$/ }).optional(),
        /** Data root of the QuestDB that tradewatch runs itself. */
        dataRoot: z.string().min(1).default('.cache/questdb-data'),
      })
      .strict()
      .default({ dataRoot: '.cache/questdb-data' }),
    /** The writer's settings: its own spec and defaults (the SDK's storage/writer-settings.ts), plus where the CLI spools. */
    writer: configWriterSchema.default(() => configWriterSchema.parse({})),
    /** Storage tiers (docs/operations.md, Retention and storage): cold day partitions converted to Parquet. */
    storage: z
      .object({
        /** `tradewatch storage compact` converts day partitions whose newest row is older than this (days). */
        parquetAfterDays: z.number().min(0).max(3650).default(1),
        /** `tradewatch storage compact --watch` runs this often (ms). */
        compactIntervalMs: z.number().int().min(60_000).default(3_600_000),
        /** Per table or rollup view: its TTL (`90d`, `6M`, `5y`), overriding the schema default; applied by `schema apply`. */
        retention: retentionSchema(),
      })
      .strict()
      .default({ parquetAfterDays: 1, compactIntervalMs: 3_600_000, retention: {} }),
    /** The reference CCXT daemon (`tradewatch daemon`, docs/daemon.md). */
    daemon: daemonSchema.default(() => daemonSchema.parse({})),
    /** Alert rules, thresholds and channels: docs/alerting.md, tradewatch.alerts.example.yaml. */
    alerts: alertsConfigSchema.default(() => alertsConfigSchema.parse({})),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
