import { z } from 'zod';
import { ErrorCodes, TradewatchError, describeValue } from '@tradewatch/sdk/common';

export const EXCHANGE_IDS = ['binanceusdm', 'bybit'] as const;
export type ExchangeId = (typeof EXCHANGE_IDS)[number];

export const FAULT_KINDS = [
  'ws_disconnect',
  'outage',
  'rate_limit',
  'server_errors',
  'latency',
  'stall',
  'liquidation_burst',
  'missing_window',
  'ip_ban',
  'region_block',
  'waf_block',
  'maintenance',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** `250ms`, `30s`, `5m`, `1h`, `1h30m`, or a number of milliseconds. */
export function parseDuration(value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new Error(`invalid duration ${describeValue(value)}`);
    return Math.round(value);
  }
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text));
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
  let total = 0;
  let consumed = 0;
  for (const match of text.matchAll(re)) {
    total += Number(match[1]) * (unit[match[2] as string] ?? NaN);
    consumed += match[0].length;
  }
  if (consumed === 0 || consumed !== text.length || !Number.isFinite(total)) {
    throw new Error(`invalid duration ${describeValue(value)} (expected e.g. 500ms, 30s, 5m, 1h or milliseconds)`);
  }
  return Math.round(total);
}

const durationSchema = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const durationMs = z.number().int().positive().max(7 * 86_400_000);
const symbolList = z.array(z.string().regex(/^[A-Za-z0-9]{1,20}$/, 'expected a symbol like BTC or BTCUSDT')).min(1);

/**
 * Every fault kind with its parameters. `durationMs` omitted on a lasting fault means "until cleared"
 * (DELETE /control/<exchange>/faults or control.clear()).
 */
export const faultSpecSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('ws_disconnect'),
      /** Close with this code (1000-4999, not 1005/1006/1015); omitted: the socket is dropped without a close frame. */
      code: z
        .number()
        .int()
        .min(1000)
        .max(4999)
        .refine((c) => ![1004, 1005, 1006, 1015].includes(c), 'reserved close code (1004, 1005, 1006 and 1015 cannot be sent)')
        .optional(),
      /** While set, new websocket connections are refused with HTTP 503 (REST stays up). */
      durationMs: durationMs.optional(),
    })
    .strict(),
  z.object({ kind: z.literal('outage'), durationMs: durationMs.optional() }).strict(),
  z
    .object({
      kind: z.literal('rate_limit'),
      /** The Retry-After header, in seconds. */
      retryAfterSec: z.number().int().min(0).max(86_400).default(5),
      status: z.union([z.literal(429), z.literal(418)]).default(429),
      /** Omitted: retryAfterSec × 1000 (or until cleared when retryAfterSec is 0). */
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('server_errors'),
      /** Answer the next N REST requests with 5xx. Default 5 when durationMs is not given either. */
      requests: z.number().int().positive().max(1_000_000).optional(),
      durationMs: durationMs.optional(),
      statuses: z.array(z.union([z.literal(500), z.literal(502), z.literal(503), z.literal(504)])).min(1).default([500, 502, 503]),
    })
    .strict(),
  z
    .object({
      kind: z.literal('latency'),
      ms: z.number().int().min(0).max(120_000),
      jitterMs: z.number().int().min(0).max(60_000).default(0),
      target: z.enum(['rest', 'ws', 'both']).default('both'),
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('stall'),
      /** false (default): pings go unanswered too, so client keepalives time out. true: only data stops. */
      answerPings: z.boolean().default(false),
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('liquidation_burst'),
      count: z.number().int().positive().max(100_000),
      /** Events are spread evenly over this many ms (0: all at once). */
      overMs: z.number().int().min(0).max(3_600_000).default(1000),
      /** Bases (BTC) or exchange ids (BTCUSDT); default every simulated symbol. */
      symbols: symbolList.optional(),
      side: z.enum(['buy', 'sell', 'mixed']).default('mixed'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('missing_window'),
      /** error (default): the exchange's error answer; empty: HTTP 200 with no data in it. */
      mode: z.enum(['error', 'empty']).default('error'),
      data: z.array(z.enum(['open_interest', 'funding'])).min(1).default(['open_interest', 'funding']),
      symbols: symbolList.optional(),
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('ip_ban'),
      /** Binance: HTTP 418 with this Retry-After; Bybit: HTTP 403 "access too frequent", no headers at all. */
      retryAfterSec: z.number().int().min(0).max(259_200).default(120),
      /** Omitted: until cleared. */
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('region_block'),
      /** Binance: HTTP 451 "restricted location"; Bybit: the CDN's HTTP 403 page. Omitted: until cleared. */
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('waf_block'),
      /** HTTP 403 from the web application firewall (Binance documents it; Bybit answers the same status). */
      durationMs: durationMs.optional(),
    })
    .strict(),
  z
    .object({
      kind: z.literal('maintenance'),
      /** Binance: HTTP 503 "System is under maintenance." (ccxt OnMaintenance); Bybit: HTTP 503. */
      durationMs: durationMs.optional(),
    })
    .strict(),
]);

export type FaultSpec = z.output<typeof faultSpecSchema>;
export type FaultSpecInput = z.input<typeof faultSpecSchema>;

/** Accepts `duration: 30s` as a spelling of `durationMs` (and `over: 2s` of `overMs`). */
export function normalizeFaultInput(input: unknown): unknown {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return input;
  const out: Record<string, unknown> = { ...(input as Record<string, unknown>) };
  for (const [alias, field] of [
    ['duration', 'durationMs'],
    ['over', 'overMs'],
  ] as const) {
    if (alias in out) {
      if (!(field in out)) out[field] = out[alias];
      delete out[alias];
    }
  }
  for (const field of ['durationMs', 'overMs']) {
    if (typeof out[field] === 'string') {
      const parsed = durationSchema.safeParse(out[field]);
      if (parsed.success) out[field] = parsed.data;
    }
  }
  return out;
}

/** Renders zod issues as `path: message, got <value>` lines, the value read from the input. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], input: unknown, prefix = ''): string[] {
  const expanded = issues.flatMap((issue) =>
    issue.code === 'unrecognized_keys'
      ? issue.keys.map((key) => ({ ...issue, path: [...issue.path, key], message: 'unknown field' }) as z.core.$ZodIssue)
      : [issue],
  );
  return expanded.map((issue) => {
    const path = issue.path.map((p, i) => (typeof p === 'number' ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`)).join('');
    const value = issue.path.reduce<unknown>((node, key) => (node as Record<PropertyKey, unknown> | undefined)?.[key as PropertyKey], input);
    const where = prefix && path ? `${prefix}${path.startsWith('[') ? '' : '.'}${path}` : prefix || path || '(root)';
    return `${where}: ${issue.message}, got ${describeValue(value)}`;
  });
}

export function parseFaultSpec(input: unknown, where = ''): FaultSpec {
  const normalized = normalizeFaultInput(input);
  const result = faultSpecSchema.safeParse(normalized);
  if (!result.success) {
    const lines = describeIssues(result.error.issues, normalized, where);
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `invalid fault:\n  ${lines.join('\n  ')}`, { issues: result.error.issues });
  }
  return result.data;
}

export type FaultSource = 'control' | 'http' | 'scenario';

export interface FaultRecord {
  id: number;
  exchange: ExchangeId;
  kind: FaultKind;
  spec: FaultSpec;
  source: FaultSource;
  /** ms since epoch, and ISO, of when the fault took effect. */
  startedAt: number;
  startedIso: string;
  /** When it stopped taking effect; null while active. Instant faults (ws_disconnect without duration) end when they start. */
  endedAt: number | null;
  endedIso: string | null;
  endedBy: 'instant' | 'expired' | 'exhausted' | 'cleared' | 'closed' | null;
  /** What the fault did: connectionsClosed, requestsRejected, requestsFailed, requestsAffected, eventsEmitted, messagesDropped… */
  counters: Record<string, number>;
}
