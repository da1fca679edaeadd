import type { Command } from 'commander';
import { registerDaemonCommand } from './daemon.js';
import { registerDemoCommand } from './demo.js';
import { registerExporterCommand } from './exporter.js';
import { registerGrafanaCommand } from './grafana.js';
import { registerQuestDbCommand } from './questdb.js';
import { registerQueryCommand } from './query.js';
import { registerSchemaCommand } from './schema.js';
import { registerSimulateCommand } from './simulate.js';
import { registerStorageCommand } from './storage.js';

/** Each part contributes its subcommands here; the CLI itself stays thin wiring. */
export function registerCommands(program: Command): void {
  registerDaemonCommand(program);
  registerDemoCommand(program);
  registerExporterCommand(program);
  registerGrafanaCommand(program);
  registerQuestDbCommand(program);
  registerQueryCommand(program);
  registerSchemaCommand(program);
  registerSimulateCommand(program);
  registerStorageCommand(program);
}
