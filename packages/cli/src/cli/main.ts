import { Command, CommanderError } from 'commander';
import { MissingDependencyError, missingDependency, registerCommand, registerSummaries, selectCommand } from './commands/index.js';
import { redactProcessOutput, registerSecretsFrom } from '../common/redact.js';
import { TRADEWATCH_VERSION } from '../common/version.js';

// Credentials never reach the terminal or a log, whoever prints them: URL passwords and secret variables are masked.
registerSecretsFrom(process.env, process.argv.flatMap((arg) => arg.split('=')));
redactProcessOutput();

const program = new Command('tradewatch')
  .description('Production monitoring for crypto trading infrastructure on QuestDB and Grafana')
  .version(TRADEWATCH_VERSION)
  .showHelpAfterError()
  .exitOverride();

// Only the command being run is imported; top-level help lists the others by their summaries.
const selected = selectCommand(process.argv.slice(2));
try {
  if (selected) await registerCommand(program, selected);
  else registerSummaries(program);
  await program.parseAsync(process.argv);
} catch (caught) {
  const err = (selected && missingDependency(selected, caught)) || caught;
  if (err instanceof CommanderError) process.exit(err.exitCode);
  if (err instanceof MissingDependencyError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  // Loaded only on this path: top-level help imports nothing of the SDK.
  const { isTradewatchError } = await import('@tradewatch/sdk/common');
  if (isTradewatchError(err)) {
    process.stderr.write(`tradewatch: ${err.message} [${err.code}]\n`);
    process.exit(2);
  }
  // Printed here rather than rethrown: Node's own report of an uncaught error bypasses process.stderr (and redaction).
  process.stderr.write(`tradewatch: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
}
