import type { WriterStats } from '@tradewatch/sdk/storage';

/** One of the demo's writers at the end of a run: what it accepted and where every row went. */
export interface WriterAccount {
  readonly name: string;
  readonly stats: WriterStats;
  readonly spoolDir: string;
}

export interface StopVerdict {
  /** Every accepted row is in QuestDB: nothing pending, dropped or refused. */
  readonly clean: boolean;
  /** One line per writer, and for a writer that is not clean, what is where. */
  readonly lines: string[];
}

/**
 * The writers' accounting decides whether the demo "stopped cleanly": accepted = written + rejected + dropped +
 * pending (memory + spool) holds at every moment, so clean means written = accepted.
 */
export function stopVerdict(accounts: readonly WriterAccount[]): StopVerdict {
  const lines: string[] = [];
  let clean = true;
  for (const { name, stats: s, spoolDir } of accounts) {
    const pending = s.queueRows + s.spoolRows;
    const problems: string[] = [];
    if (s.spoolRows > 0) problems.push(`${s.spoolRows} pending in the spool ${spoolDir} (delivered at the next start)`);
    if (s.queueRows > 0) problems.push(`${s.queueRows} pending in memory`);
    if (s.rowsDropped > 0) problems.push(`${s.rowsDropped} dropped`);
    if (s.rowsRejected > 0) problems.push(`${s.rowsRejected} refused by QuestDB (in ${spoolDir}/quarantine)`);
    if (pending > 0 || s.rowsDropped > 0 || s.rowsRejected > 0) clean = false;
    lines.push(`${name}: ${s.rowsAccepted} rows accepted, ${s.rowsWritten} stored${problems.length ? `; ${problems.join(', ')}` : ''}`);
  }
  return { clean, lines };
}
