import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { COMMANDS, MissingDependencyError, registerCommand, registerCommands, selectCommand } from '../packages/cli/src/cli/commands/index.js';

test('the summary top-level help shows is each command\'s own description, and the table names every command', async () => {
  const program = new Command('tradewatch');
  await registerCommands(program);
  const real = new Map(program.commands.map((command) => [command.name(), command.summary() || command.description()]));
  assert.deepEqual([...real.keys()].sort(), COMMANDS.map((entry) => entry.name).sort());
  for (const entry of COMMANDS) assert.equal(entry.summary, real.get(entry.name), `summary of ${entry.name}`);
});

test('the subcommand is the first word that is not an option; help <name> selects that name', () => {
  assert.equal(selectCommand(['daemon', '--duration', '5'])?.name, 'daemon');
  assert.equal(selectCommand(['--help'])?.name, undefined);
  assert.equal(selectCommand(['help', 'questdb'])?.name, 'questdb');
  assert.equal(selectCommand(['nosuch'])?.name, undefined);
  assert.equal(selectCommand([]), undefined);
});

test('a command whose package is missing names the package; other import failures pass through unchanged', async () => {
  const notFound = Object.assign(new Error("Cannot find package 'ccxt' imported from /x/daemon.js"), { code: 'ERR_MODULE_NOT_FOUND' });
  const entry = { name: 'daemon', summary: '', needs: ['ccxt'], load: () => Promise.reject(notFound) };
  await assert.rejects(registerCommand(new Command(), entry), (err: unknown) => {
    assert.ok(err instanceof MissingDependencyError);
    assert.equal(err.message, 'tradewatch daemon needs the package ccxt, which is not installed: npm install ccxt');
    return true;
  });
  // A missing package the command does not declare is a bug, not an install choice: the original error stays.
  await assert.rejects(registerCommand(new Command(), { ...entry, needs: ['ws'] }), (err: unknown) => err === notFound);
});
