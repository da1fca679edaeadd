import { redact } from '../common/redact.js';

/**
 * One log format for everything the demo prints while it runs (its own progress, the writers, the SDK, the
 * exporter, the simulator's fault announcements): `<ISO time> <level> <component>: <message> key=value …`.
 * Credentials are masked (redact) whatever the component put in the line.
 */
export type Level = 'info' | 'warn' | 'error';

export interface ComponentLogger {
  info(context: object, message: string): void;
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
}

export interface TerminalLog {
  line(level: Level, component: string, message: string, context?: object): void;
  /** A pino-compatible logger (what the writer, the SDK and the exporter take) that prints in this format. */
  component(name: string): ComponentLogger;
}

export function terminalLog(write: (text: string) => void = (text) => process.stderr.write(text), now: () => Date = () => new Date()): TerminalLog {
  const line = (level: Level, component: string, message: string, context: object = {}) => {
    const fields = Object.entries(context)
      .filter(([, value]) => value !== undefined)
      .map(([key, value]) => `${key}=${typeof value === 'string' && !/\s/.test(value) ? value : JSON.stringify(value)}`);
    try {
      write(redact(`${now().toISOString()} ${level.padEnd(5)} ${component}: ${message}${fields.length ? `  ${fields.join(' ')}` : ''}\n`));
    } catch {
      // Printing must never break what is being reported.
    }
  };
  return {
    line,
    component: (name) => ({
      info: (context, message) => line('info', name, message, context),
      warn: (context, message) => line('warn', name, message, context),
      error: (context, message) => line('error', name, message, context),
    }),
  };
}
