import { Command, CommanderError } from 'commander';
import { isTradewatchError } from '../common/errors.js';
import { TRADEWATCH_VERSION } from '../common/version.js';
import { redactProcessOutput, registerSecretsFrom } from '../common/redact.js';
import { registerCommands } from './commands/index.js';

const program = new Command('tradewatch')
  .description('Production monitoring for crypto trading infrastructure on QuestDB and Grafana')
  .version(TRADEWATCH_VERSION)
  .showHelpAfterError()
  .exitOverride();

// Credentials never reach the terminal or a log, whoever prints them: URL passwords and secret variables are masked.
registerSecretsFrom(process.env, process.argv.flatMap((arg) => arg.split('=')));
redactProcessOutput();

registerCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (isTradewatchError(err)) {
    process.stderr.write(`tradewatch: ${err.message} [${err.code}]\n`);
    process.exit(2);
  }
  // Printed here rather than rethrown: Node's own report of an uncaught error bypasses process.stderr (and redaction).
  process.stderr.write(`tradewatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
