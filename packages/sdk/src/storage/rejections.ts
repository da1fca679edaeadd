import type { Clock } from '../common/clock.js';
import type { WorkItem } from './backlog.js';
import { splitLines, tableOfLine } from './ilp-lines.js';
import type { Quarantine } from './quarantine.js';
import type { Rejection, SendOutcome, Transport, Unreachable } from './transport.js';
import type { WriterCounters, WriterReporter } from './writer-stats.js';

export type SplitResult =
  /** Every line of the item is acknowledged or quarantined. */
  | { readonly kind: 'delivered' }
  /** QuestDB went away midway: `rest` are exactly the lines not yet acknowledged or quarantined, in order. */
  | { readonly kind: 'unreachable'; readonly outcome: Unreachable; readonly rest: readonly Buffer[] };

/**
 * Delivers a batch QuestDB refused around its bad lines. QuestDB refuses a request as a whole for the first bad
 * line it meets (naming that line): the named line goes to the quarantine and the rest is sent again; without a
 * usable line number the lines are split in halves until the culprit is alone. A bad row costs that row only.
 */
export class RejectedLines {
  constructor(
    private readonly transport: Transport,
    private readonly quarantine: Quarantine,
    private readonly counters: WriterCounters,
    private readonly reporter: WriterReporter,
    private readonly clock: Clock,
  ) {}

  /** `written(rows)` is called for each acknowledged part of `item`. */
  async deliverAround(item: WorkItem, rejection: Rejection, written: (rows: number) => void): Promise<SplitResult> {
    const groups: Buffer[][] = [splitLines(item.payload)];
    let outcome: SendOutcome | undefined = rejection;
    while (groups.length > 0) {
      const group = groups[0]!;
      if (outcome === undefined) {
        item.sends++;
        outcome = await this.transport.send(group.length === 1 ? group[0]! : Buffer.concat(group));
      }
      if (outcome.kind === 'ok') {
        this.counters.batchesSent++;
        // item.rows counts the lines still pending, so stats() add up while the split is under way.
        item.rows -= group.length;
        written(group.length);
        groups.shift();
      } else if (outcome.kind === 'rejected') {
        const named = outcome.line !== undefined && outcome.line >= 1 && outcome.line <= group.length ? outcome.line - 1 : -1;
        if (named >= 0 || group.length === 1) {
          const bad = Math.max(named, 0);
          this.quarantineLine(group[bad]!, outcome);
          item.rows--;
          const rest = group.filter((_, i) => i !== bad);
          if (rest.length > 0) groups[0] = rest;
          else groups.shift();
        } else {
          const half = Math.ceil(group.length / 2);
          groups.splice(0, 1, group.slice(0, half), group.slice(half));
        }
      } else {
        return { kind: 'unreachable', outcome, rest: groups.flat() };
      }
      outcome = undefined;
    }
    return { kind: 'delivered' };
  }

  private quarantineLine(line: Buffer, rejection: Rejection): void {
    this.counters.rowsRejected++;
    this.reporter.noteError(`QuestDB rejected a row: ${rejection.message}`);
    const text = line.toString('utf8');
    this.quarantine.add({
      time: new Date(this.clock.now()).toISOString(),
      table: tableOfLine(line),
      line: text.endsWith('\n') ? text.slice(0, -1) : text,
      error: rejection.message,
      errorId: rejection.errorId,
      status: rejection.status,
    });
  }
}
