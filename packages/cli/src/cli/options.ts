import { ErrorCodes, TradewatchError, describeValue } from '@tradewatch/sdk/common';

/**
 * Option parsers for commander whose errors are configuration errors: TW_INVALID_CONFIG (exit 2) naming every
 * spelling of the setting and the value, as docs/errors.md promises, instead of commander's generic message.
 */
export interface Spellings {
  /** The config file path, when the setting has one (`daemon.metricsPort`). */
  readonly config?: string;
  /** The environment variable commander also reads the option from. */
  readonly env?: string;
}

function spelled(flag: string, spellings: Spellings): string {
  const others = [spellings.config, spellings.env].filter((s): s is string => Boolean(s));
  return others.length ? `${flag} (${others.join(', ')})` : flag;
}

export function parsePort(flag: string, options: Spellings & { allowZero?: boolean } = {}): (value: string) => number {
  const min = options.allowZero ? 0 : 1;
  return (value) => {
    const port = Number(value);
    if (value.trim() === '' || !Number.isInteger(port) || port < min || port > 65535) {
      throw new TradewatchError(
        ErrorCodes.INVALID_CONFIG,
        `${spelled(flag, options)} must be a port number ${min}-65535${options.allowZero ? ' (0 = any free port)' : ''}, got ${describeValue(value)}`,
        { flag, value },
      );
    }
    return port;
  };
}

export function parsePositiveInt(flag: string, options: Spellings = {}): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isInteger(n) || n < 1) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `${spelled(flag, options)} must be a positive integer, got ${describeValue(value)}`, { flag, value });
    }
    return n;
  };
}

export function parsePositiveNumber(flag: string, options: Spellings = {}): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n) || n <= 0) {
      throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `${spelled(flag, options)} must be a positive number, got ${describeValue(value)}`, { flag, value });
    }
    return n;
  };
}
