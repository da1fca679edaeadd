import type { Command } from 'commander';
import { schemaSql, SCHEMA_VERSION, tables, views } from '@tradewatch/sdk/schema';
import { applySchema, SqlClient } from '@tradewatch/sdk/storage';
import { retentionTtls } from '../../config/index.js';
import { configFrom, questDbOptions, resolveQuestDbUrl, type QuestDbFlags } from '../target.js';

const out = (line = '') => process.stdout.write(`${line}\n`);

export function registerSchemaCommand(program: Command): void {
  const schema = program
    .command('schema')
    .summary('tradewatch tables and rollups: create, upgrade, print their DDL')
    .description(`tradewatch tables and rollups (schema version ${SCHEMA_VERSION})`);

  const apply = schema
    .command('apply')
    .description('create or upgrade every table and rollup view; idempotent, reports what it changed')
    .option('--dry-run', 'show what would change, change nothing')
    .option('--rebuild-views', 'drop and recreate rollup views whose definition changed');
  for (const option of questDbOptions()) apply.addOption(option);
  apply.action(async (flags: QuestDbFlags & { dryRun?: boolean; rebuildViews?: boolean }) => {
    const config = configFrom(flags);
    const sql = new SqlClient({ url: await resolveQuestDbUrl(config) });
    const report = await applySchema(sql, { dryRun: flags.dryRun, rebuildViews: flags.rebuildViews, retention: retentionTtls(config) });
    const verb = flags.dryRun ? 'would run' : 'ran';
    for (const change of report.changes) out(`${change.action.padEnd(13)} ${change.object}${change.detail ? `: ${change.detail}` : ''}`);
    for (const drift of report.drift) out(`drift         ${drift.object}: ${drift.problem}`);
    out(
      `schema v${report.version} on ${sql.baseUrl}: ${report.changes.length} change(s) ${verb}, ` +
        `${report.unchanged.length} of ${tables.length + views.length} objects already current` +
        (report.drift.length ? `, ${report.drift.length} drift(s) left as they are` : ''),
    );
    if (report.drift.length) process.exitCode = 1;
  });

  schema
    .command('sql')
    .description('print the DDL that apply runs on an empty database')
    .action(() => {
      out(schemaSql(tables, views));
    });
}
