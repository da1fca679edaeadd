/**
 * Test support: evaluates generated alert rules against a real QuestDB as Grafana would at chosen instants (each
 * query's relative range resolved at that instant, macros expanded as the plugin does), and steps them through the
 * state-manager model.
 */
import { EXPRESSION_DATASOURCE_UID, durationMs, type BuiltRule, type ProvisionedRule } from '../../../packages/cli/src/grafana/alerting/index.js';
import type { SqlClient } from '../../../packages/sdk/src/storage/index.js';
import { evaluateRule, type Evaluation, type QueryOutcome } from './evaluate.js';
import { expandQuery } from './macros.js';
import { StateManager } from './state-manager.js';

export async function evaluateAt(sql: SqlClient, rule: ProvisionedRule, now: number): Promise<Evaluation> {
  const results: Record<string, QueryOutcome> = {};
  for (const d of rule.data.filter((x) => x.datasourceUid !== EXPRESSION_DATASOURCE_UID)) {
    const text = expandQuery(String(d.model.rawSql), { from: now - d.relativeTimeRange.from! * 1000, to: now - d.relativeTimeRange.to! * 1000, intervalMs: Number(d.model.intervalMs) });
    try {
      results[d.refId] = await sql.query(text);
    } catch (err) {
      results[d.refId] = { error: (err as Error).message };
    }
  }
  return evaluateRule(rule, results);
}

/** Steps a rule through evaluations at `instants` (ms, ascending) and returns the state manager. */
export async function runRule(sql: SqlClient, rule: BuiltRule, instants: readonly number[]): Promise<StateManager> {
  const manager = new StateManager({ forMs: durationMs(rule.for), noDataState: rule.noDataState, execErrState: rule.execErrState });
  for (const at of instants) manager.step(at, await evaluateAt(sql, rule, at));
  return manager;
}

/** Evaluation instants every `every` ms (a group's interval) from `from`. */
export const ticks = (from: number, count: number, every = 10_000) => Array.from({ length: count }, (_, i) => from + i * every);
