import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import { questDbOptions, sqlClientFor, type QuestDbFlags } from '../target.js';
import type { SqlResult } from '@tradewatch/sdk/storage';

const out = (text: string) => process.stdout.write(text);

interface QueryFlags extends QuestDbFlags {
  format: 'table' | 'csv' | 'json';
  output?: string;
  limit?: number;
}

function cellText(value: unknown): string {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** A plain aligned table, numbers right-aligned: readable in a terminal, nothing to install. */
export function renderTable(result: SqlResult): string {
  const header = result.columns.map((c) => c.name);
  const rows = result.dataset.map((row) => row.map(cellText));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const numeric = result.columns.map((c) => /^(INT|LONG|DOUBLE|FLOAT|SHORT|BYTE)$/.test(c.type));
  const line = (cells: string[]) =>
    cells.map((cell, i) => (numeric[i] ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n') + '\n';
}

export function registerQueryCommand(program: Command): void {
  const query = program
    .command('query')
    .description('run SQL on QuestDB and print the result as a table, or export it as CSV (QuestDB /exp)')
    .argument('<sql>', 'the SQL to run, e.g. "SELECT * FROM tw_open_interest LIMIT 10"')
    .addOption(new Option('--format <format>', 'table, csv or json').choices(['table', 'csv', 'json']).default('table'))
    .option('--output <file>', 'write to a file instead of standard output');
  for (const option of questDbOptions()) query.addOption(option);

  query.action(async (sql: string, flags: QueryFlags) => {
    const client = await sqlClientFor(flags);
    let text: string;
    if (flags.format === 'csv') {
      // QuestDB's export endpoint streams CSV with the server's own quoting: what the web console's "Download CSV" gives.
      const response = await fetch(`${client.baseUrl}/exp?${new URLSearchParams({ query: sql })}`);
      text = await response.text();
      if (!response.ok) {
        throw new TradewatchError(ErrorCodes.QUESTDB_SQL_ERROR, `QuestDB rejected SQL: ${text.trim()} — in: ${sql}`, { sql });
      }
    } else {
      const result = await client.query(sql);
      text = flags.format === 'json' ? `${JSON.stringify(result, null, 2)}\n` : renderTable(result);
    }
    if (flags.output) writeFileSync(flags.output, text);
    else out(text);
  });
}
