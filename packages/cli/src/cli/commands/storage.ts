import { Option, type Command } from 'commander';
import { tables } from '@tradewatch/sdk/schema';
import { compactPartitions, SqlClient, tableSizes, waitForParquet } from '@tradewatch/sdk/storage';
import { configFrom, questDbOptions, resolveQuestDbUrl, type QuestDbFlags } from '../target.js';

const out = (line = '') => process.stdout.write(`${line}\n`);
const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

interface CompactFlags extends QuestDbFlags {
  storageParquetAfterDays?: string;
  storageCompactIntervalMs?: string;
  dryRun?: boolean;
  wait?: boolean;
  watch?: boolean;
}

export function registerStorageCommand(program: Command): void {
  const storage = program.command('storage').description('storage tiers: cold day partitions in Parquet, and where the bytes are');

  const compact = storage
    .command('compact')
    .description('convert day partitions older than storage.parquetAfterDays to Parquet (compressed); safe to repeat')
    .addOption(new Option('--storage-parquet-after-days <days>', 'age in days (default 1); env TRADEWATCH_STORAGE_PARQUET_AFTER_DAYS'))
    .addOption(new Option('--storage-compact-interval-ms <ms>', 'with --watch: how often (default 3600000); env TRADEWATCH_STORAGE_COMPACT_INTERVAL_MS'))
    .option('--dry-run', 'list the partitions that would be converted, convert nothing')
    .option('--wait', 'wait until QuestDB has converted them and print the sizes before and after')
    .option('--watch', 'keep running: compact now and then every storage.compactIntervalMs; Ctrl-C stops');
  for (const option of questDbOptions()) compact.addOption(option);
  compact.action(async (flags: CompactFlags) => {
    const config = configFrom(flags, {
      'storage.parquetAfterDays': flags.storageParquetAfterDays,
      'storage.compactIntervalMs': flags.storageCompactIntervalMs,
    });
    const sql = new SqlClient({ url: await resolveQuestDbUrl(config) });
    const once = () => compactOnce(sql, config.storage.parquetAfterDays, flags);
    if (!flags.watch) return once();
    out(`compacting every ${config.storage.compactIntervalMs / 60_000} min on ${sql.baseUrl}; Ctrl-C stops`);
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    while (!controller.signal.aborted) {
      // QuestDB down or restarting: say so and try again next round; the partitions wait.
      await once().catch((err: Error) => out(`compaction failed, retrying in the next round: ${err.message}`));
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, config.storage.compactIntervalMs);
        controller.signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
      });
    }
  });

  const usage = storage.command('usage').description('rows and bytes per table, native and Parquet (from table_partitions())');
  for (const option of questDbOptions()) usage.addOption(option);
  usage.action(async (flags: QuestDbFlags) => {
    const sql = new SqlClient({ url: await resolveQuestDbUrl(configFrom(flags)) });
    const sizes = await tableSizes(sql, tables);
    const native = sizes.reduce((sum, t) => sum + t.nativeBytes, 0);
    const parquet = sizes.reduce((sum, t) => sum + t.parquetBytes, 0);
    out(`${'table'.padEnd(26)} ${'partitions'.padStart(10)} ${'rows'.padStart(14)} ${'native'.padStart(12)} ${'Parquet'.padStart(12)}`);
    for (const t of sizes) {
      out(
        `${t.table.padEnd(26)} ${`${t.parquetPartitions}/${t.partitions}`.padStart(10)} ${t.rows.toLocaleString('en-US').padStart(14)} ` +
          `${mb(t.nativeBytes).padStart(12)} ${mb(t.parquetBytes).padStart(12)}`,
      );
    }
    out(`tables: ${mb(native)} native, ${mb(parquet)} Parquet (rollup views not included: they stay native)`);
  });
}

async function compactOnce(sql: SqlClient, olderThanDays: number, flags: CompactFlags): Promise<void> {
  const report = await compactPartitions(sql, { olderThanDays, dryRun: flags.dryRun });
  const bytes = report.converting.reduce((s, p) => s + p.bytes, 0);
  const verb = flags.dryRun ? 'would convert' : 'converting';
  out(
    `${verb} ${report.converting.length} partition(s) older than ${olderThanDays} day(s) (${mb(bytes)} native); ` +
      `${report.parquetPartitions} already in Parquet (${mb(report.parquetBytes)})`,
  );
  if (!flags.wait || flags.dryRun || report.converting.length === 0) return;
  const done = await waitForParquet(sql, report.converting);
  const after = done.reduce((s, p) => s + p.parquetBytes, 0);
  const before = done.reduce((s, p) => s + p.bytes, 0);
  out(`converted ${done.length} partition(s): ${mb(before)} → ${mb(after)} (×${before > 0 ? (after / before).toFixed(2) : '—'})`);
}
