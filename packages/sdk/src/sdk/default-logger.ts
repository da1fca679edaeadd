import { createRequire } from 'node:module';
import type * as Pino from 'pino';
import type { SdkLogger } from './diagnostics.js';

const requireCjs = createRequire(import.meta.url);

/**
 * The monitor's logger when the caller gives none: pino at warn level, to stderr. pino is loaded on the first line
 * logged, not at import: most processes never log a diagnostic, and pino is about half of the SDK's import time
 * (bench/install.bench.ts). Info lines are dropped at warn level, so the logger has none.
 */
export function defaultLogger(): SdkLogger {
  let logger: SdkLogger | undefined;
  const get = (): SdkLogger => {
    if (!logger) {
      const { pino } = requireCjs('pino') as typeof Pino;
      // Through process.stderr (not fd 2 directly), so that whatever filters the process's output (the CLI masks
      // credentials) sees the SDK's lines too.
      logger = pino({ name: 'tradewatch-sdk', level: 'warn' }, { write: (line: string) => void process.stderr.write(line) });
    }
    return logger;
  };
  return {
    warn: (context, message) => get().warn(context, message),
    error: (context, message) => get().error(context, message),
  };
}
