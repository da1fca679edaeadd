import { InvalidArgumentError, Option, type Command } from 'commander';
import { getTable } from '@tradewatch/sdk/schema';
import { applySchema, createWriter, SqlClient } from '@tradewatch/sdk/storage';
import { createAlertReceiver, expectedAuthorization } from '../../alerts/index.js';
import { retentionTtls } from '../../config/index.js';
import { configFrom, questDbOptions, resolveQuestDbUrl, type QuestDbFlags } from '../target.js';

interface ReceiveFlags extends QuestDbFlags {
  port: number;
  host: string;
  spoolDir?: string;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError(`expected a port 0-65535, got ${JSON.stringify(value)}`);
  return n;
}

export function registerAlertsCommand(program: Command): void {
  const alerts = program.command('alerts').description("alert history: receive Grafana's webhook notifications into tw_alert_events");
  const receive = alerts
    .command('receive')
    .description("run the webhook receiver Grafana's history contact point posts to; one tw_alert_events row per alert")
    .addOption(new Option('--port <port>', 'port to listen on (0 = any free)').default(9095).argParser(parsePort).env('TRADEWATCH_ALERTS_HISTORY_PORT'))
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1').env('TRADEWATCH_ALERTS_HISTORY_HOST'))
    .addOption(new Option('--spool-dir <dir>', 'writer spool: notifications survive a QuestDB outage and restarts').env('TRADEWATCH_ALERTS_HISTORY_SPOOL_DIR'));
  for (const option of questDbOptions()) receive.addOption(option);

  receive.action(async (flags: ReceiveFlags) => {
    const config = configFrom(flags);
    const url = await resolveQuestDbUrl(config);
    // The dedup keys must exist before the first row, or a re-delivered notification would duplicate it.
    await applySchema(new SqlClient({ url }), { tables: [getTable('tw_alert_events')], views: [], retention: retentionTtls(config) });
    const writer = createWriter({ url, service: 'tradewatch-alert-history', spoolDir: flags.spoolDir });
    const receiver = createAlertReceiver({
      writer,
      host: flags.host,
      port: flags.port,
      // Secrets from the environment only, never a flag (it would show in `ps`).
      authorization: expectedAuthorization({
        token: process.env.TRADEWATCH_ALERTS_HISTORY_TOKEN,
        basicUser: process.env.TRADEWATCH_ALERTS_HISTORY_USER,
        basicPassword: process.env.TRADEWATCH_ALERTS_HISTORY_PASSWORD,
      }),
      onNotification: (r) => (r.error ? process.stderr.write(`refused: ${r.error}\n`) : undefined),
    });
    const base = await receiver.listen();
    out(`alert history: receiving Grafana webhooks on ${base}/ into tw_alert_events at ${new SqlClient({ url }).baseUrl}; SIGTERM or Ctrl-C stops`);
    await new Promise<void>((resolve) => {
      const onSignal = () => {
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    await receiver.close();
    await writer.close();
    const s = receiver.stats();
    const w = writer.stats();
    out(`stopped: ${s.notifications} notification(s), ${s.alerts} alert(s) stored, ${s.refused} refused; writer ${JSON.stringify({ written: w.rowsWritten, spooled: w.rowsSpooled, dropped: w.rowsDropped })}`);
  });
}
