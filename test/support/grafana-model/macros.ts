/**
 * What Grafana and the QuestDB datasource do to a panel's SQL before QuestDB sees it, so that tests (and benchmarks)
 * can run the very queries a dashboard sends:
 *
 * 1. In the browser, the plugin's `applyTemplateVariables`: first `$__conditionalAll(condition, $var)` becomes
 *    `1=1` when `$var` is All (or empty), else the condition; then Grafana's template service replaces variables,
 *    the plugin formatting a multi-value as `'a','b'` (All = every option) and a single value as is; global
 *    variables (`$__interval`, `$__interval_ms`, `$__from`, `$__to`, `$__range_*`) are replaced too.
 * 2. In the plugin's backend (sqlds): `$__timeFilter(col)` → `col >= cast(<from µs> as timestamp) AND col <=
 *    cast(<to µs> as timestamp)`, `$__fromTime` / `$__toTime` → `cast(<µs> as timestamp)`, `$__sampleByInterval`
 *    → the request interval as a SAMPLE BY unit (`1s`, `5m`, `1h`, `1d`, `500T`). (Newer plugin versions send the
 *    two bounds as bind parameters instead of literals: same values, same semantics.)
 *
 * Stricter than Grafana on purpose: an unknown `$variable` or `$__macro` is an error here, not text sent to QuestDB.
 */

/** All selected: Grafana expands it to every option of the variable. */
export interface AllSelection {
  readonly all: readonly string[];
}
/** A multi-value variable's selection (an array, even of one), a single-value one's (a string), or All. */
export type VariableSelection = string | readonly string[] | AllSelection;

export interface ExpandOptions {
  readonly from: Date | number;
  readonly to: Date | number;
  /** The request interval Grafana computed for the panel (see grafanaIntervalMs). */
  readonly intervalMs: number;
  readonly variables?: Readonly<Record<string, VariableSelection>>;
}

export class MacroError extends Error {
  override readonly name = 'MacroError';
}

const toMs = (t: Date | number) => (typeof t === 'number' ? t : t.getTime());

function isAll(s: VariableSelection): s is AllSelection {
  return typeof s === 'object' && !Array.isArray(s) && 'all' in s;
}

/** Arguments of a macro call whose '(' is at `open`: split on top-level commas, up to the matching ')'. */
function macroArgs(sql: string, open: number): { args: string[]; end: number } | undefined {
  let depth = 0;
  let start = open + 1;
  const args: string[] = [];
  for (let i = open; i < sql.length; i++) {
    const c = sql[i];
    if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0) {
        args.push(sql.slice(start, i));
        return { args, end: i + 1 };
      }
    } else if (c === ',' && depth === 1) {
      args.push(sql.slice(start, i));
      start = i + 1;
    }
  }
  return undefined;
}

/** The plugin's applyConditionalAll: innermost-last, `1=1` when the variable is All or empty. */
export function applyConditionalAll(sql: string, variables: Readonly<Record<string, VariableSelection>>): string {
  const macro = '$__conditionalAll';
  let at = sql.lastIndexOf(`${macro}(`);
  while (at !== -1) {
    const parsed = macroArgs(sql, at + macro.length);
    if (!parsed || parsed.args.length !== 2) throw new MacroError(`$__conditionalAll needs 2 arguments at: ${sql.slice(at, at + 80)}`);
    const [condition, variable] = parsed.args as [string, string];
    const name = /\$\{(\w+)\}|\$(\w+)/.exec(variable.trim());
    const varName = name?.[1] ?? name?.[2];
    if (!varName) throw new MacroError(`$__conditionalAll: second argument must be a variable, got ${variable}`);
    const selection = variables[varName];
    if (selection === undefined) throw new MacroError(`$__conditionalAll: unknown variable $${varName}`);
    const empty = isAll(selection) || selection === '' || (Array.isArray(selection) && selection.length === 0);
    sql = sql.slice(0, at) + (empty ? '1=1' : condition) + sql.slice(parsed.end);
    at = sql.lastIndexOf(`${macro}(`);
  }
  return sql;
}

/** The plugin's value formatter: arrays become a quoted list, single values go in as they are (unquoted). */
function formatSelection(selection: VariableSelection): string {
  const values = isAll(selection) ? selection.all : selection;
  return Array.isArray(values) ? `'${values.join("','")}'` : (values as string);
}

/** Grafana's rendering of an interval in ms (`$__interval`): the largest whole unit. */
export function formatInterval(ms: number): string {
  const units: [number, string][] = [
    [86_400_000 * 365, 'y'],
    [86_400_000 * 7, 'w'],
    [86_400_000, 'd'],
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [size, unit] of units) if (ms >= size && ms % size === 0) return `${ms / size}${unit}`;
  return `${ms}ms`;
}

/** The plugin's `$__sampleByInterval` (pkg/macros): whole hours (days when a multiple of 24), seconds, else `T` (ms). */
export function sampleByInterval(intervalMs: number): string {
  const hours = Math.trunc(Math.max(intervalMs / 3_600_000, 0));
  const seconds = Math.trunc(Math.max(intervalMs / 1000, 0));
  if (hours > 0) {
    if (hours >= 24 && intervalMs / 3_600_000 === hours) return `${Math.trunc(hours / 24)}d`;
    return `${hours}h`;
  }
  if (seconds > 0) return `${seconds}s`;
  return `${Math.max(Math.trunc(intervalMs), 1)}T`;
}

/** Grafana's rangeutil.roundInterval: the "nice" interval a panel request carries. */
export function roundInterval(ms: number): number {
  const table: [number, number][] = [
    [15, 10], [35, 20], [75, 50], [150, 100], [350, 200], [750, 500], [1500, 1000], [3500, 2000], [7500, 5000],
    [12_500, 10_000], [17_500, 15_000], [25_000, 20_000], [45_000, 30_000], [90_000, 60_000], [150_000, 120_000],
    [450_000, 300_000], [750_000, 600_000], [1_050_000, 900_000], [1_500_000, 1_200_000], [2_700_000, 1_800_000],
    [5_400_000, 3_600_000], [9_000_000, 7_200_000], [16_200_000, 10_800_000], [32_400_000, 21_600_000],
    [86_400_000, 43_200_000], [604_800_000, 86_400_000], [1_814_400_000, 604_800_000], [3_628_800_000, 2_592_000_000],
  ];
  for (const [below, value] of table) if (ms < below) return value;
  return 31_536_000_000;
}

/**
 * The interval Grafana sends with a panel's request: range / max data points (the panel's width in pixels unless
 * set), rounded to a nice value, never below the panel's or datasource's minimum interval.
 */
export function grafanaIntervalMs(rangeMs: number, maxDataPoints = 1000, minIntervalMs = 0): number {
  return Math.max(roundInterval(rangeMs / maxDataPoints), minIntervalMs);
}

/** Grafana's template-variable syntaxes: $name, [[name]], ${name}, ${name:format}. */
const VARIABLE = /\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?::([^}]+))?\}/g;

function replaceVariables(sql: string, o: ExpandOptions): string {
  const from = toMs(o.from);
  const to = toMs(o.to);
  const builtins: Record<string, string> = {
    __interval: formatInterval(o.intervalMs),
    __interval_ms: String(o.intervalMs),
    __from: String(from),
    __to: String(to),
    __range_ms: String(to - from),
    __range_s: String(Math.floor((to - from) / 1000)),
    __range: formatInterval(to - from),
  };
  return sql.replace(VARIABLE, (match, a?: string, b?: string, _f1?: string, c?: string, format?: string) => {
    const name = (a ?? b ?? c)!;
    if (format) throw new MacroError(`variable formats are not used by tradewatch dashboards: ${match}`);
    if (name in builtins) return builtins[name]!;
    if (name.startsWith('__')) return match; // a datasource macro, expanded by the backend below
    const selection = o.variables?.[name];
    if (selection === undefined) throw new MacroError(`unknown template variable $${name}`);
    return formatSelection(selection);
  });
}

function expandBackendMacros(sql: string, o: ExpandOptions): string {
  const fromUs = toMs(o.from) * 1000;
  const toUs = toMs(o.to) * 1000;
  const re = /\$__(\w+)/g;
  let out = '';
  let last = 0;
  for (let m = re.exec(sql); m; m = re.exec(sql)) {
    const name = m[1]!;
    let end = re.lastIndex;
    let args: string[] = [];
    if (sql[end] === '(') {
      const parsed = macroArgs(sql, end);
      if (!parsed) throw new MacroError(`unbalanced parentheses after $__${name}`);
      args = parsed.args.map((a) => a.trim());
      end = parsed.end;
    }
    let value: string;
    switch (name) {
      case 'timeFilter': {
        if (args.length !== 1 || !args[0]) throw new MacroError(`$__timeFilter expects 1 argument, got ${args.length}`);
        const col = args[0];
        value = `${col} >= cast(${fromUs} as timestamp) AND ${col} <= cast(${toUs} as timestamp)`;
        break;
      }
      case 'fromTime':
        value = `cast(${fromUs} as timestamp)`;
        end = re.lastIndex; // takes no arguments: a following '(' is not its own
        break;
      case 'toTime':
        value = `cast(${toUs} as timestamp)`;
        end = re.lastIndex;
        break;
      case 'sampleByInterval':
        value = sampleByInterval(o.intervalMs);
        end = re.lastIndex;
        break;
      default:
        throw new MacroError(`unknown macro $__${name}`);
    }
    out += sql.slice(last, m.index) + value;
    last = end;
    re.lastIndex = end;
  }
  return out + sql.slice(last);
}

/** A panel or variable query as the QuestDB datasource would send it for this time range, interval and selection. */
export function expandQuery(sql: string, options: ExpandOptions): string {
  const variables = options.variables ?? {};
  const afterConditional = applyConditionalAll(sql, variables);
  const afterVariables = replaceVariables(afterConditional, options);
  return expandBackendMacros(afterVariables, options);
}
