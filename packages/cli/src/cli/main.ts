import { Command, CommanderError } from 'commander';
import { isTradewatchError } from '@tradewatch/sdk/common';
import { registerCommands } from './commands/index.js';

const program = new Command('tradewatch')
  .description('Production monitoring for crypto trading infrastructure on QuestDB and Grafana')
  .showHelpAfterError()
  .exitOverride();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (isTradewatchError(err)) {
    process.stderr.write(`tradewatch: ${err.message} [${err.code}]\n`);
    process.exit(2);
  }
  throw err;
}
