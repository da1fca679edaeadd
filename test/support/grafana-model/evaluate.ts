/**
 * Test support, not product code: a model of Grafana (12.3) used to check the generated rules.
 *
 * A small evaluator of provisioned alert rules, following Grafana's server-side expressions and alert states
 * (pkg/expr and pkg/services/ngalert/eval), so tests can tell whether a rule fires on given query results:
 *
 * - A Table-format query result with string columns and exactly one numeric column is "numeric data": one number
 *   per row, its labels the string columns. A TimeSeries-format result (time, string labels, one numeric column,
 *   sorted by time) becomes one series per label set (the plugin's long-to-wide). One instance per label set.
 * - reduce (series → number): last, mean, max, min, sum, count. Strict mode: a null or NaN point makes the result
 *   NaN (last: the last point as is; an empty series gives NaN). dropNN drops null/NaN/±Inf points first and turns
 *   a NaN result into no value; replaceNN replaces them (and a NaN result) with a value. On numbers reduce only
 *   applies the mode (dropNN removes the number).
 * - threshold: gt, lt, gte, lte, eq, ne, within_range (exclusive), outside_range (exclusive), on every number;
 *   1 when true, 0 when not, no value stays no value (NaN compares false, except `ne`).
 * - math: numbers and $refs with + - * / % and comparisons (1/0), && || (non-zero is true), unary - and !, and
 *   parentheses; two sets of numbers combine where one's labels are a subset of the other's (or both are single).
 * - condition value: no value → NoData, 0 → Normal, anything else (NaN too) → Alerting; duplicate label sets →
 *   Error. A query error maps through execErrState, no rows from every query through noDataState, and each
 *   NoData instance through noDataState too (Grafana applies it per instance).
 *
 * Not modelled: the pending period (`for`) and state history, which need a clock; see docs/alerting.md.
 */
import { QueryFormat } from '../../../packages/cli/src/grafana/datasource.js';
import { EXPRESSION_DATASOURCE_UID, type ProvisionedRule } from '../../../packages/cli/src/grafana/alerting/index.js';

export interface QueryResult {
  readonly columns: readonly { readonly name: string; readonly type: string }[];
  readonly dataset: readonly (readonly unknown[])[];
}
export type QueryOutcome = QueryResult | { readonly error: string };

export type InstanceState = 'Normal' | 'Alerting' | 'NoData' | 'Error';
export type Labels = Readonly<Record<string, string>>;

export interface Instance {
  readonly labels: Labels;
  readonly state: InstanceState;
  /** The condition's value (1/0 for thresholds), null when it had none. */
  readonly value: number | null;
  /** Each node's value for this instance (what `$values.B.Value` shows in annotations). */
  readonly values: Readonly<Record<string, number | null>>;
}

export interface Evaluation {
  /** Instances after the noData / execErr mappings. KeepLast leaves none (the previous state stands). */
  readonly instances: readonly Instance[];
  readonly firing: readonly Instance[];
  /** What the evaluation itself returned before the mappings. */
  readonly outcome: 'ok' | 'noData' | 'error';
  readonly error?: string;
  /** KeepLast was applied: Grafana keeps each instance's previous state. */
  readonly keptLastState?: boolean;
}

export class EvaluationError extends Error {
  override readonly name = 'EvaluationError';
}

interface Num {
  readonly kind: 'number';
  readonly labels: Labels;
  readonly value: number | null;
  /** Values of earlier nodes for this label set, for annotations. */
  readonly trail: Readonly<Record<string, number | null>>;
}
interface Ser {
  readonly kind: 'series';
  readonly labels: Labels;
  readonly points: readonly { readonly t: string; readonly v: number | null }[];
}
type Value = Num | Ser;

const NUMERIC = new Set(['DOUBLE', 'FLOAT', 'LONG', 'INT', 'SHORT', 'BYTE']);
const STRING = new Set(['SYMBOL', 'STRING', 'VARCHAR', 'CHAR']);
const TIME = new Set(['TIMESTAMP', 'TIMESTAMP_NS', 'DATE']);

const toNumber = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const labelKey = (l: Labels) => JSON.stringify(Object.entries(l).sort(([a], [b]) => a.localeCompare(b)));

/** A query's rows as Grafana's expressions see them. */
export function toValues(result: QueryResult, format: QueryFormat, refId: string): Value[] {
  const numeric = result.columns.map((c, i) => [c, i] as const).filter(([c]) => NUMERIC.has(c.type));
  const strings = result.columns.map((c, i) => [c, i] as const).filter(([c]) => STRING.has(c.type));
  const times = result.columns.map((c, i) => [c, i] as const).filter(([c]) => TIME.has(c.type));
  const other = result.columns.filter((c) => !NUMERIC.has(c.type) && !STRING.has(c.type) && !TIME.has(c.type));
  if (numeric.length !== 1 || other.length) {
    throw new EvaluationError(`${refId}: expected exactly one numeric column and string labels, got ${result.columns.map((c) => `${c.name}:${c.type}`).join(', ')}`);
  }
  const [, vi] = numeric[0]!;
  const labelsOf = (row: readonly unknown[]) => Object.fromEntries(strings.map(([c, i]) => [c.name, row[i] === null ? '' : String(row[i])]));
  if (format === QueryFormat.Table) {
    if (times.length) throw new EvaluationError(`${refId}: a table for alerting has no time column (it would be a time series)`);
    return result.dataset.map((row) => ({ kind: 'number', labels: labelsOf(row), value: toNumber(row[vi]), trail: {} }));
  }
  if (times.length !== 1) throw new EvaluationError(`${refId}: a time series needs exactly one time column`);
  const [, ti] = times[0]!;
  const bySeries = new Map<string, { labels: Labels; points: { t: string; v: number | null }[] }>();
  let previous = '';
  for (const row of result.dataset) {
    const t = String(row[ti]);
    if (t < previous) throw new EvaluationError(`${refId}: time series rows must be sorted by time (the plugin's long-to-wide needs it)`);
    previous = t;
    const labels = labelsOf(row);
    const key = labelKey(labels);
    const s = bySeries.get(key) ?? { labels, points: [] };
    s.points.push({ t, v: toNumber(row[vi]) });
    bySeries.set(key, s);
  }
  return [...bySeries.values()].map((s) => ({ kind: 'series', ...s }));
}

const nonNumber = (v: number | null) => v === null || !Number.isFinite(v);

type Mode = { mode?: string; replaceWithValue?: number } | undefined;

function reduceSeries(points: readonly (number | null)[], reducer: string): number | null {
  const strictNaN = points.some((v) => v === null || Number.isNaN(v));
  switch (reducer) {
    case 'sum':
      return strictNaN ? NaN : points.reduce<number>((a, v) => a + v!, 0);
    case 'mean':
      return strictNaN ? NaN : points.reduce<number>((a, v) => a + v!, 0) / points.length;
    case 'min':
      return points.length === 0 || strictNaN ? NaN : Math.min(...(points as number[]));
    case 'max':
      return points.length === 0 || strictNaN ? NaN : Math.max(...(points as number[]));
    case 'count':
      return points.length;
    case 'last':
      return points.length === 0 ? NaN : points[points.length - 1]!;
    default:
      throw new EvaluationError(`reduction ${reducer} not implemented`);
  }
}

function reduce(values: readonly Value[], refId: string, reducer: string, settings: Mode): Num[] {
  const mode = settings?.mode ?? '';
  const replace = settings?.replaceWithValue ?? 0;
  const mapIn = (v: number | null): number | null | undefined => {
    if (mode === 'dropNN') return nonNumber(v) ? undefined : v;
    if (mode === 'replaceNN') return nonNumber(v) ? replace : v;
    return v;
  };
  const mapOut = (v: number | null): number | null => {
    if (v !== null && Number.isNaN(v)) return mode === 'dropNN' ? null : mode === 'replaceNN' ? replace : v;
    return v;
  };
  const out: Num[] = [];
  for (const value of values) {
    if (value.kind === 'series') {
      const points = value.points.map((p) => mapIn(p.v)).filter((v): v is number | null => v !== undefined);
      const r = reduceSeries(points, reducer);
      out.push({ kind: 'number', labels: value.labels, value: mode ? mapOut(r) : r, trail: { [refId]: mode ? mapOut(r) : r } });
    } else {
      const mapped = mode ? mapIn(value.value) : value.value;
      if (mapped === undefined) continue;
      out.push({ kind: 'number', labels: value.labels, value: mapped, trail: { ...value.trail, [refId]: mapped } });
    }
  }
  return out;
}

const PREDICATES: Record<string, (v: number, p: readonly number[]) => boolean> = {
  gt: (v, [a]) => v > a!,
  lt: (v, [a]) => v < a!,
  gte: (v, [a]) => v >= a!,
  lte: (v, [a]) => v <= a!,
  eq: (v, [a]) => v === a,
  ne: (v, [a]) => v !== a,
  within_range: (v, [a, b]) => v > a! && v < b!,
  outside_range: (v, [a, b]) => v < a! || v > b!,
  within_range_included: (v, [a, b]) => v >= a! && v <= b!,
  outside_range_included: (v, [a, b]) => v <= a! || v >= b!,
};

function threshold(values: readonly Value[], refId: string, type: string, params: readonly number[]): Num[] {
  const predicate = PREDICATES[type];
  if (!predicate) throw new EvaluationError(`threshold type ${type} not supported`);
  return values.map((value) => {
    if (value.kind === 'series') throw new EvaluationError(`${refId}: threshold on a series (add a reduce)`);
    const result = value.value === null ? null : predicate(value.value, params) ? 1 : 0;
    return { kind: 'number', labels: value.labels, value: result, trail: { ...value.trail, [refId]: result } };
  });
}

// ---- math ----

type Node =
  | { t: 'num'; v: number }
  | { t: 'ref'; name: string }
  | { t: 'un'; op: string; arg: Node }
  | { t: 'bin'; op: string; l: Node; r: Node };

const PRECEDENCE: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '>': 4, '<': 4, '>=': 4, '<=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 };

export function parseMath(text: string): Node {
  const tokens = text.match(/\$\{\w+\}|\$\w+|\d+(?:\.\d+)?(?:e[+-]?\d+)?|&&|\|\||==|!=|>=|<=|[-+*/%()<>!]|\S/gi) ?? [];
  let i = 0;
  const primary = (): Node => {
    const tok = tokens[i++];
    if (tok === undefined) throw new EvaluationError(`math: unexpected end of ${text}`);
    if (tok === '(') {
      const inner = binary(0);
      if (tokens[i++] !== ')') throw new EvaluationError(`math: missing ) in ${text}`);
      return inner;
    }
    if (tok === '-' || tok === '!') return { t: 'un', op: tok, arg: primary() };
    if (tok.startsWith('$')) return { t: 'ref', name: tok.replace(/^\$\{?|\}$/g, '') };
    if (/^\d/.test(tok)) return { t: 'num', v: Number(tok) };
    throw new EvaluationError(`math: unexpected ${tok} in ${text}`);
  };
  const binary = (min: number): Node => {
    let left = primary();
    for (let op = tokens[i]; op !== undefined && (PRECEDENCE[op] ?? 0) >= Math.max(min, 1); op = tokens[i]) {
      i++;
      left = { t: 'bin', op, l: left, r: binary(PRECEDENCE[op]! + 1) };
    }
    return left;
  };
  const tree = binary(0);
  if (i !== tokens.length) throw new EvaluationError(`math: unexpected ${tokens[i]} in ${text}`);
  return tree;
}

function apply(op: string, a: number, b: number): number {
  switch (op) {
    case '+': return a + b;
    case '-': return a - b;
    case '*': return a * b;
    case '/': return a / b;
    case '%': return a % b;
    case '>': return a > b ? 1 : 0;
    case '<': return a < b ? 1 : 0;
    case '>=': return a >= b ? 1 : 0;
    case '<=': return a <= b ? 1 : 0;
    case '==': return a === b ? 1 : 0;
    case '!=': return a !== b ? 1 : 0;
    case '&&': return a !== 0 && b !== 0 ? 1 : 0;
    case '||': return a !== 0 || b !== 0 ? 1 : 0;
    default: throw new EvaluationError(`math: operator ${op}`);
  }
}

const isSubset = (a: Labels, b: Labels) => Object.entries(a).every(([k, v]) => b[k] === v);

type MathVal = { scalar: number } | { numbers: Num[] };

function evalMath(node: Node, vars: ReadonlyMap<string, readonly Value[]>): MathVal {
  switch (node.t) {
    case 'num':
      return { scalar: node.v };
    case 'ref': {
      const values = vars.get(node.name);
      if (!values) throw new EvaluationError(`math: unknown $${node.name}`);
      if (values.some((v) => v.kind === 'series')) throw new EvaluationError(`math on series is not modelled ($${node.name}): reduce first`);
      return { numbers: values as Num[] };
    }
    case 'un': {
      const f = (v: number) => (node.op === '-' ? -v : v === 0 ? 1 : 0);
      const arg = evalMath(node.arg, vars);
      if ('scalar' in arg) return { scalar: f(arg.scalar) };
      return { numbers: arg.numbers.map((n) => ({ ...n, value: n.value === null ? null : f(n.value) })) };
    }
    case 'bin': {
      const l = evalMath(node.l, vars);
      const r = evalMath(node.r, vars);
      const op = (a: number | null, b: number | null) => (a === null || b === null ? null : apply(node.op, a, b));
      if ('scalar' in l && 'scalar' in r) return { scalar: apply(node.op, l.scalar, r.scalar) };
      if ('scalar' in l) return { numbers: (r as { numbers: Num[] }).numbers.map((n) => ({ ...n, value: op(l.scalar, n.value) })) };
      if ('scalar' in r) return { numbers: l.numbers.map((n) => ({ ...n, value: op(n.value, r.scalar) })) };
      const out: Num[] = [];
      for (const a of l.numbers) {
        for (const b of r.numbers) {
          const single = l.numbers.length === 1 && r.numbers.length === 1;
          if (!single && !isSubset(a.labels, b.labels) && !isSubset(b.labels, a.labels)) continue;
          const labels = Object.keys(a.labels).length >= Object.keys(b.labels).length ? a.labels : b.labels;
          out.push({ kind: 'number', labels, value: op(a.value, b.value), trail: { ...b.trail, ...a.trail } });
        }
      }
      return { numbers: out };
    }
  }
}

function math(expression: string, refId: string, vars: ReadonlyMap<string, readonly Value[]>): Num[] {
  const result = evalMath(parseMath(expression), vars);
  if ('scalar' in result) return [{ kind: 'number', labels: {}, value: result.scalar, trail: { [refId]: result.scalar } }];
  return result.numbers.map((n) => ({ ...n, trail: { ...n.trail, [refId]: n.value } }));
}

// ---- rule ----

const noDataAs = (s: ProvisionedRule['noDataState']): InstanceState | 'KeepLast' =>
  s === 'OK' ? 'Normal' : s === 'Alerting' ? 'Alerting' : s === 'NoData' ? 'NoData' : 'KeepLast';
const errorAs = (s: ProvisionedRule['execErrState']): InstanceState | 'KeepLast' =>
  s === 'OK' ? 'Normal' : s === 'Alerting' ? 'Alerting' : s === 'Error' ? 'Error' : 'KeepLast';

function finish(instances: Instance[], outcome: Evaluation['outcome'], extra: Partial<Evaluation> = {}): Evaluation {
  return { instances, firing: instances.filter((i) => i.state === 'Alerting'), outcome, ...extra };
}

function single(state: InstanceState | 'KeepLast', outcome: Evaluation['outcome'], error?: string): Evaluation {
  if (state === 'KeepLast') return finish([], outcome, { keptLastState: true, error });
  return finish([{ labels: {}, state, value: null, values: {} }], outcome, { error });
}

/**
 * Evaluates a provisioned rule on its queries' results (by refId), as Grafana would at one evaluation. A missing
 * result or a malformed one is an evaluation error (Grafana would report it the same way).
 */
export function evaluateRule(rule: ProvisionedRule, results: Readonly<Record<string, QueryOutcome>>): Evaluation {
  const vars = new Map<string, Value[]>();
  const queries = rule.data.filter((d) => d.datasourceUid !== EXPRESSION_DATASOURCE_UID);
  try {
    for (const q of queries) {
      const outcome = results[q.refId];
      if (!outcome) throw new EvaluationError(`no result for query ${q.refId}`);
      if ('error' in outcome) return single(errorAs(rule.execErrState), 'error', outcome.error);
      vars.set(q.refId, toValues(outcome, q.model.format as QueryFormat, q.refId));
    }
    if (queries.every((q) => vars.get(q.refId)!.length === 0)) return single(noDataAs(rule.noDataState), 'noData');
    for (const node of rule.data) {
      if (node.datasourceUid !== EXPRESSION_DATASOURCE_UID) continue;
      const m = node.model;
      const input = () => {
        const ref = String(m.expression).replace(/^\$/, '');
        const values = vars.get(ref);
        if (!values) throw new EvaluationError(`${node.refId}: unknown input ${ref}`);
        return values;
      };
      switch (m.type) {
        case 'reduce':
          vars.set(node.refId, reduce(input(), node.refId, String(m.reducer), m.settings as Mode));
          break;
        case 'threshold': {
          const conditions = m.conditions as { evaluator: { type: string; params: number[] } }[];
          if (conditions.length !== 1) throw new EvaluationError(`${node.refId}: threshold expression requires exactly one condition`);
          vars.set(node.refId, threshold(input(), node.refId, conditions[0]!.evaluator.type, conditions[0]!.evaluator.params));
          break;
        }
        case 'math':
          vars.set(node.refId, math(String(m.expression), node.refId, vars));
          break;
        default:
          throw new EvaluationError(`${node.refId}: expression type ${String(m.type)} not modelled`);
      }
    }
    const condition = vars.get(rule.condition);
    if (!condition) throw new EvaluationError(`condition ${rule.condition} is not a node of the rule`);
    const seen = new Set<string>();
    const instances: Instance[] = [];
    for (const v of condition) {
      if (v.kind === 'series') throw new EvaluationError(`condition ${rule.condition} is a series: it must reduce to numbers`);
      const key = labelKey(v.labels);
      if (seen.has(key)) {
        return single('Error', 'error', `frame cannot uniquely be identified by its labels: has duplicate results with labels ${key}`);
      }
      seen.add(key);
      let state: InstanceState | 'KeepLast' = v.value === null ? 'NoData' : v.value === 0 ? 'Normal' : 'Alerting';
      if (state === 'NoData') state = noDataAs(rule.noDataState);
      if (state === 'KeepLast') continue;
      const values: Record<string, number | null> = { ...v.trail };
      for (const q of queries) {
        const own = vars.get(q.refId)!.find((x) => x.kind === 'number' && labelKey(x.labels) === key) as Num | undefined;
        if (own) values[q.refId] = own.value;
      }
      instances.push({ labels: v.labels, state, value: v.value, values });
    }
    return finish(instances, 'ok');
  } catch (err) {
    if (!(err instanceof EvaluationError)) throw err;
    return single(errorAs(rule.execErrState), 'error', err.message);
  }
}
