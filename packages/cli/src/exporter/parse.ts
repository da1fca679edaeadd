/**
 * A small parser for the Prometheus text exposition format 0.0.4, tolerant of OpenMetrics 1.0 (`# EOF`, `# UNIT`,
 * `_created` samples, exemplars after ` # `, timestamps in seconds). Written here rather than taken from npm: the
 * format is small, and the npm parsers are unmaintained or build a nested object model we would only flatten again.
 *
 * It is lenient on purpose: a scrape of a half-broken endpoint should still store the samples it can read, so a bad
 * line is counted and described (the first few) instead of failing the whole body.
 */

/** What `tw_metrics.kind` accepts. OpenMetrics-only types are folded into these (see kindOf). */
export type MetricKind = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface ParsedSample {
  /** The sample name as exposed, e.g. `x_bucket` for a histogram family `x`. */
  readonly name: string;
  /** The `# TYPE` family the sample belongs to (the sample name itself when untyped). */
  readonly family: string;
  readonly kind: MetricKind;
  readonly labels: Readonly<Record<string, string>>;
  /** Always finite: NaN and ±Inf are counted in `nonFinite` and left out (tw_metrics cannot store them). */
  readonly value: number;
  /** The sample's own timestamp, ms since the epoch, when the endpoint gave one. */
  readonly timestampMs?: number;
}

export interface ParseResult {
  readonly samples: ParsedSample[];
  /** Samples left out because their value was NaN, +Inf, -Inf (or `null`, which QuestDB writes for "no value yet"). */
  readonly nonFinite: number;
  /** OpenMetrics `_created` samples left out: creation times, not measurements. */
  readonly created: number;
  /** Lines that could not be read; the first MAX_ERRORS of them are described in `errors`. */
  readonly invalidLines: number;
  readonly errors: string[];
}

export interface ParseOptions {
  /** The body is OpenMetrics (from the Content-Type): sample timestamps are then seconds, not milliseconds. */
  readonly openMetrics?: boolean;
}

const MAX_ERRORS = 5;
const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;
/** Sample-name suffixes that belong to a family of another name (histogram, summary, OpenMetrics counter, info...). */
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '_gcount', '_gsum', '_info'] as const;

export function parsePrometheusText(text: string, options: ParseOptions = {}): ParseResult {
  const types = new Map<string, string>();
  const samples: ParsedSample[] = [];
  const errors: string[] = [];
  let nonFinite = 0;
  let created = 0;
  let invalidLines = 0;

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.endsWith('\r') ? lines[i]!.slice(0, -1) : lines[i]!;
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      const m = /^#\s+(TYPE|HELP|UNIT|EOF)\b\s*(\S*)\s*(.*)$/.exec(line);
      if (m?.[1] === 'EOF') break;
      if (m?.[1] === 'TYPE' && m[2]) types.set(m[2], m[3]!.trim().toLowerCase());
      // HELP, UNIT and free comments carry nothing a row needs.
      continue;
    }
    try {
      const raw = parseSampleLine(line);
      const { family, type } = familyOf(raw.name, types);
      if (raw.name.endsWith('_created') && family !== raw.name && (type === 'counter' || type === 'histogram' || type === 'summary')) {
        created++;
        continue;
      }
      if (!Number.isFinite(raw.value)) {
        nonFinite++;
        continue;
      }
      const timestampMs = raw.timestamp === undefined ? undefined : options.openMetrics ? raw.timestamp * 1000 : raw.timestamp;
      samples.push({ name: raw.name, family, kind: kindOf(type), labels: raw.labels, value: raw.value, ...(timestampMs === undefined ? {} : { timestampMs }) });
    } catch (err) {
      invalidLines++;
      if (errors.length < MAX_ERRORS) errors.push(`line ${i + 1}: ${(err as Error).message}: ${line.length > 120 ? `${line.slice(0, 120)}…` : line}`);
    }
  }
  return { samples, nonFinite, created, invalidLines, errors };
}

/**
 * `a="1",b="x"`: label names sorted, values escaped as in the exposition format; empty when there are none. The
 * same form the SDK writes for its custom metrics, so scraped and recorded series compare equal in SQL.
 */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  const names = Object.keys(labels).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  let out = '';
  for (const name of names) {
    const value = labels[name]!.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
    out += `${out ? ',' : ''}${name}="${value}"`;
  }
  return out;
}

function familyOf(name: string, types: ReadonlyMap<string, string>): { family: string; type: string | undefined } {
  const exact = types.get(name);
  if (exact !== undefined) return { family: name, type: exact };
  for (const suffix of SUFFIXES) {
    if (!name.endsWith(suffix)) continue;
    const family = name.slice(0, -suffix.length);
    const type = types.get(family);
    if (type !== undefined) return { family, type };
  }
  return { family: name, type: undefined };
}

function kindOf(type: string | undefined): MetricKind {
  switch (type) {
    case 'counter':
    case 'gauge':
    case 'histogram':
    case 'summary':
      return type;
    case 'gaugehistogram':
      return 'histogram';
    // Info and stateset samples are 0/1 values that behave like gauges.
    case 'info':
    case 'stateset':
      return 'gauge';
    default:
      return 'untyped';
  }
}

interface RawSample {
  name: string;
  labels: Record<string, string>;
  value: number;
  timestamp: number | undefined;
}

function parseSampleLine(line: string): RawSample {
  const nameMatch = NAME.exec(line);
  if (!nameMatch) throw new Error('expected a metric name');
  const name = nameMatch[0];
  let pos = name.length;
  // No prototype: a label may be called `__proto__`.
  const labels = Object.create(null) as Record<string, string>;
  if (line[pos] === '{') pos = parseLabels(line, pos + 1, labels);

  // Value, optional timestamp, then an optional OpenMetrics exemplar (` # {...} v [ts]`) that we ignore.
  const rest = line.slice(pos);
  if (rest !== '' && !/^[ \t]/.test(rest)) throw new Error('expected a space before the value');
  const hash = rest.indexOf(' #');
  const tokens = (hash >= 0 ? rest.slice(0, hash) : rest).trim().split(/[ \t]+/);
  if (tokens.length === 0 || tokens[0] === '') throw new Error('missing value');
  if (tokens.length > 2) throw new Error('unexpected text after the timestamp');
  const value = parseValue(tokens[0]!);
  let timestamp: number | undefined;
  if (tokens.length === 2) {
    timestamp = Number(tokens[1]);
    if (!Number.isFinite(timestamp)) throw new Error(`invalid timestamp ${JSON.stringify(tokens[1])}`);
  }
  return { name, labels, value, timestamp };
}

/** Reads `name="value",...}` from `pos` (just after `{`) into `labels`; returns the position after `}`. */
function parseLabels(line: string, pos: number, labels: Record<string, string>): number {
  const skipSpaces = () => {
    while (line[pos] === ' ' || line[pos] === '\t') pos++;
  };
  while (true) {
    skipSpaces();
    if (line[pos] === '}') return pos + 1;
    const m = LABEL_NAME.exec(line.slice(pos));
    if (!m) throw new Error('expected a label name');
    const label = m[0];
    pos += label.length;
    skipSpaces();
    if (line[pos] !== '=') throw new Error(`expected = after label ${label}`);
    pos++;
    skipSpaces();
    if (line[pos] !== '"') throw new Error(`expected " to open the value of label ${label}`);
    pos++;
    let value = '';
    while (true) {
      const c = line[pos];
      if (c === undefined) throw new Error(`unterminated value of label ${label}`);
      pos++;
      if (c === '"') break;
      if (c === '\\') {
        const next = line[pos++];
        if (next === undefined) throw new Error(`unterminated value of label ${label}`);
        // Only \\, \" and \n are escapes; anything else keeps its backslash, as Prometheus does.
        value += next === 'n' ? '\n' : next === '\\' || next === '"' ? next : `\\${next}`;
      } else {
        value += c;
      }
    }
    if (Object.hasOwn(labels, label)) throw new Error(`duplicate label ${label}`);
    labels[label] = value;
    skipSpaces();
    if (line[pos] === ',') pos++;
    else if (line[pos] !== '}') throw new Error(`expected , or } after label ${label}`);
  }
}

function parseValue(token: string): number {
  const lower = token.toLowerCase();
  // QuestDB 9.3.4 writes `questdb_workers_job_start_micros_max null` before any job ran: not in the format (a
  // Prometheus server fails the whole scrape on it), but plainly "no value", so it is skipped like NaN.
  if (lower === 'nan' || lower === 'null') return NaN;
  if (lower === '+inf' || lower === 'inf') return Infinity;
  if (lower === '-inf') return -Infinity;
  // Number() would read '' as 0 and accepts hex/binary: require a decimal float literal.
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(token)) throw new Error(`invalid value ${JSON.stringify(token)}`);
  return Number(token);
}
