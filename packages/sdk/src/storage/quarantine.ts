import fs from 'node:fs';
import path from 'node:path';
import { safeLog, type WriterLogger } from './logger.js';

/** One line QuestDB refused, as written to the quarantine file. */
export interface QuarantineEntry {
  /** ISO time the writer quarantined it. */
  readonly time: string;
  readonly table: string;
  /** The ILP line exactly as sent, without its trailing newline. */
  readonly line: string;
  /** QuestDB's message for it. */
  readonly error: string;
  readonly errorId?: string;
  readonly status: number;
}

/**
 * Where rows QuestDB rejected end up, so a bad row costs that row only and a human can see why: JSON lines in
 * `<dir>/rejected-YYYY-MM-DD.jsonl`. Without a directory (memory-only writer) entries are only logged.
 * Never throws: losing the quarantine record is reported, and the row is still counted as rejected.
 */
export class Quarantine {
  private readonly dir: string | undefined;
  private readonly logger: WriterLogger;
  private dirReady = false;

  constructor(dir: string | undefined, logger: WriterLogger) {
    this.dir = dir;
    this.logger = logger;
  }

  /** The file entries of the given day go to (undefined without a directory). */
  fileFor(date = new Date()): string | undefined {
    return this.dir === undefined ? undefined : path.join(this.dir, `rejected-${date.toISOString().slice(0, 10)}.jsonl`);
  }

  add(entry: QuarantineEntry): void {
    safeLog(this.logger, 'error', { table: entry.table, error: entry.error, errorId: entry.errorId, line: entry.line.slice(0, 500) }, 'QuestDB rejected a row; quarantined');
    const file = this.fileFor(new Date(entry.time));
    if (file === undefined) return;
    try {
      if (!this.dirReady) {
        fs.mkdirSync(this.dir!, { recursive: true });
        this.dirReady = true;
      }
      fs.appendFileSync(file, `${JSON.stringify(entry)}\n`);
    } catch (err) {
      safeLog(this.logger, 'error', { file, reason: (err as Error).message }, 'cannot write the quarantine file; the rejected row is only in this log');
    }
  }
}
