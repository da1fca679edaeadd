import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ErrorCodes, TradewatchError } from '@tradewatch/sdk/common';
import {
  EXCHANGE_IDS,
  FAULT_KINDS,
  describeIssues,
  faultSpecSchema,
  normalizeFaultInput,
  parseDuration,
  type ExchangeId,
  type FaultSpec,
} from './faults.js';

/**
 * A scenario is a timeline of faults at offsets from the simulator's start:
 *
 *   name: binance-disconnect
 *   loopEvery: 10m          # optional: the timeline starts over every 10 minutes
 *   steps:
 *     - at: 30s
 *       exchange: binanceusdm   # or bybit, or all
 *       fault: ws_disconnect
 *     - at: 2m
 *       exchange: bybit
 *       fault: latency
 *       ms: 800
 *       duration: 1m
 */
export interface ScenarioStep {
  atMs: number;
  exchange: ExchangeId | 'all';
  fault: FaultSpec;
}

export interface Scenario {
  name: string;
  description?: string;
  loopEveryMs?: number;
  steps: ScenarioStep[];
}

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  try {
    return parseDuration(value);
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
    return z.NEVER;
  }
});

const stepHead = z
  .object({
    at: duration,
    exchange: z.enum([...EXCHANGE_IDS, 'all']),
    fault: z.enum(FAULT_KINDS),
  })
  .passthrough();

const scenarioShape = z
  .object({
    name: z.string().min(1).max(100).optional(),
    description: z.string().max(2000).optional(),
    loopEvery: duration.optional(),
    steps: z.array(z.unknown()).default([]),
  })
  .strict();

function invalid(where: string, lines: string[]): never {
  throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `invalid scenario ${where}:\n  ${lines.join('\n  ')}`, { lines });
}

/** Validates a parsed scenario document; every error names the field (steps[2].ms) and the value found. */
export function parseScenario(doc: unknown, where = '(inline)', exchanges: readonly ExchangeId[] = EXCHANGE_IDS): Scenario {
  const top = scenarioShape.safeParse(doc ?? {});
  if (!top.success) invalid(where, describeIssues(top.error.issues, doc));
  const lines: string[] = [];
  const steps: ScenarioStep[] = [];
  top.data.steps.forEach((raw, i) => {
    const prefix = `steps[${i}]`;
    const head = stepHead.safeParse(raw);
    if (!head.success) {
      lines.push(...describeIssues(head.error.issues, raw, prefix));
      return;
    }
    const { at, exchange, fault, ...params } = head.data;
    if (exchange !== 'all' && !exchanges.includes(exchange)) {
      lines.push(`${prefix}.exchange: not simulated in this run (running: ${exchanges.join(', ')}), got "${exchange}"`);
      return;
    }
    const input = normalizeFaultInput({ kind: fault, ...params }) as Record<string, unknown>;
    const spec = faultSpecSchema.safeParse(input);
    if (!spec.success) {
      const issues = spec.error.issues.map((issue) => ({ ...issue, path: issue.path.map((p) => (p === 'kind' ? 'fault' : p)) }));
      lines.push(...describeIssues(issues, { fault, ...input }, prefix));
      return;
    }
    steps.push({ atMs: at, exchange, fault: spec.data });
  });
  const loopEveryMs = top.data.loopEvery;
  if (loopEveryMs !== undefined) {
    const last = Math.max(0, ...steps.map((s) => s.atMs));
    if (loopEveryMs <= last) lines.push(`loopEvery: must be later than the last step (at ${last} ms), got ${loopEveryMs} ms`);
    if (steps.length === 0) lines.push('loopEvery: a looping scenario needs at least one step, got 0 steps');
  }
  if (lines.length > 0) invalid(where, lines);
  return {
    name: top.data.name ?? where,
    description: top.data.description,
    loopEveryMs,
    steps: steps.sort((a, b) => a.atMs - b.atMs),
  };
}

export async function loadScenarioFile(file: string, exchanges?: readonly ExchangeId[]): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `cannot read scenario ${file}: ${(err as Error).message}`, { file }, { cause: err });
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new TradewatchError(ErrorCodes.INVALID_CONFIG, `invalid scenario ${file}: not YAML: ${(err as Error).message}`, { file }, { cause: err });
  }
  const scenario = parseScenario(doc, file, exchanges);
  if (scenario.name === file) scenario.name = basename(file).replace(/\.ya?ml$/, '');
  return scenario;
}
