import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import type { ExporterTarget } from './exporter.js';

/**
 * `name=url` (name becomes the service) or a bare URL (the service is then the URL's host name, which is rarely
 * what a dashboard wants, but better than refusing). Used by the CLI flag and TRADEWATCH_EXPORTER_TARGETS.
 */
export function parseTargetSpec(spec: string): ExporterTarget {
  const text = spec.trim();
  const eq = text.indexOf('=');
  // A URL may itself contain '=' (in its query): a name is only what precedes '=' when it holds no ':' or '/'.
  const named = eq > 0 && !/[:/]/.test(text.slice(0, eq));
  const service = named ? text.slice(0, eq).trim() : undefined;
  const url = named ? text.slice(eq + 1).trim() : text;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `exporter target ${JSON.stringify(spec)}: expected name=http://host:port/metrics`, { spec });
  }
  return { url, service: service || parsed.hostname };
}

/** A comma-separated list of target specs (the environment variable form); empty entries are ignored. */
export function parseTargetList(list: string): ExporterTarget[] {
  return list
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
    .map(parseTargetSpec);
}
