import { schema } from '@tradewatch/sdk/schema';
import { SqlClient, tableSizes } from '@tradewatch/sdk/storage';
import type { Monitor } from '@tradewatch/sdk/sdk';

/** The tables holding the daemon's own data: what the Pipeline dashboard's storage panels show. */
const MARKET_TABLES = [schema.openInterest, schema.fundingRates, schema.liquidations];

/**
 * Every `intervalMs`, the size on disk of the market-data tables (native and Parquet together, one `store` per
 * table, `files` = partitions) into `tw_storage_size` through the monitor. QuestDB unreachable: that sample is
 * skipped (the writer and fetches report the outage already); nothing throws.
 */
export function startStorageSampler(questdbUrl: string, monitor: Monitor, intervalMs: number): { stop(): void } {
  const sql = new SqlClient({ url: questdbUrl, timeoutMs: Math.min(10_000, intervalMs) });
  let running = false;
  const sample = async () => {
    if (running) return; // a slow QuestDB: never pile up queries
    running = true;
    try {
      for (const t of await tableSizes(sql, MARKET_TABLES)) {
        monitor.storageSize({ store: t.table, bytes: t.nativeBytes + t.parquetBytes, files: t.partitions });
      }
    } catch {
      // skipped; the next interval tries again
    } finally {
      running = false;
    }
  };
  void sample();
  const timer = setInterval(() => void sample(), intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
