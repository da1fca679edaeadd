/**
 * The writer reports through a pino-compatible logger (`logger.warn({ ...context }, 'message')`), so the SDK can
 * hand it its own pino instance; `info` is optional. Without one, reports go to stderr as JSON lines.
 */
export interface WriterLogger {
  warn(context: object, message: string): void;
  error(context: object, message: string): void;
  info?(context: object, message: string): void;
}

export const stderrLogger: WriterLogger = {
  warn: (context, message) => writeLine('warn', context, message),
  error: (context, message) => writeLine('error', context, message),
  info: (context, message) => writeLine('info', context, message),
};

function writeLine(level: string, context: object, message: string): void {
  try {
    process.stderr.write(`${JSON.stringify({ level, time: new Date().toISOString(), component: 'tradewatch-writer', msg: message, ...context })}\n`);
  } catch {
    // Reporting must never break the writer.
  }
}

/** Calls a logger method and swallows anything it throws: background work must not fail because logging did. */
export function safeLog(logger: WriterLogger, level: 'warn' | 'error' | 'info', context: object, message: string): void {
  try {
    if (level === 'info') logger.info?.(context, message);
    else logger[level](context, message);
  } catch {
    // ignore
  }
}
