/**
 * The writer's settings, declared once as plain data: per setting its kind, limits, default and doc. createWriter()
 * validates its options against this spec (validateWriterSettings); the CLI's config builds its zod schema from the
 * same spec (`writer.*` in tradewatch.yaml, TRADEWATCH_WRITER_*, --writer-*). Plain data rather than a schema library
 * keeps the SDK's installed tree small (issue 10). Defaults that follow from other settings (maxBatchBytes, the water
 * marks, spool.segmentBytes) are derived in resolveWriterOptions(), so they stay in proportion.
 */

/** One setting of the spec. `default` absent: the setting is optional (or derived by resolveWriterOptions()). */
export type SettingSpec =
  | { readonly kind: 'int'; readonly min: number; readonly max?: number; readonly default?: number; readonly doc: string }
  | { readonly kind: 'string'; readonly minLength: number; readonly default?: string; readonly doc: string }
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly default?: string; readonly doc: string }
  | { readonly kind: 'object'; readonly settings: SettingsSpec; readonly doc: string };

/** A group of settings by name; unknown names are refused. */
export type SettingsSpec = { readonly [name: string]: SettingSpec };

const MiB = 1024 * 1024;

/** The writer's settings: the one definition, with the one set of defaults. */
export const writerSettingsSpec = {
  spoolDir: {
    kind: 'string',
    minLength: 1,
    doc:
      'Directory for the on-disk spool (and the quarantine, unless quarantineDir is set). Without it the writer is ' +
      'memory-only: while QuestDB is unreachable batches wait in memory up to maxBufferedBytes, then the oldest are ' +
      'dropped, and whatever is unsent when the process ends is lost.',
  },
  quarantineDir: { kind: 'string', minLength: 1, doc: 'Where rejected rows are written (JSON lines); defaults to <spoolDir>/quarantine.' },
  flushIntervalMs: {
    kind: 'int',
    min: 1,
    max: 250,
    default: 250,
    doc: "A batch is sealed and sent at least this often (ms). The 250 ms cap is the writer's latency promise.",
  },
  flushRows: { kind: 'int', min: 1, max: 1_000_000, default: 5000, doc: 'A batch is sealed as soon as it holds this many rows.' },
  maxBatchBytes: {
    kind: 'int',
    min: 1024,
    doc: 'A batch is sealed as soon as its text reaches this many bytes. Default min(16 MiB, maxBufferedBytes / 4).',
  },
  maxBufferedBytes: {
    kind: 'int',
    min: 64 * 1024,
    default: 64 * MiB,
    doc:
      'Bound on memory held for unacknowledged batches. Beyond it batches go to the spool, or (memory-only) the ' +
      'oldest batches are dropped and counted in rowsDropped.',
  },
  highWaterMark: {
    kind: 'int',
    min: 1024,
    doc:
      'Backpressure (see Writer.needDrain): raised when the bytes waiting for QuestDB, in memory and in the spool, ' +
      'reach this. Default maxBufferedBytes / 2. At most maxBufferedBytes for a memory-only writer.',
  },
  lowWaterMark: { kind: 'int', min: 0, doc: 'needDrain falls, and drained() resolves, once the backlog is back at this. Default highWaterMark / 2.' },
  spool: {
    kind: 'object',
    doc: 'The on-disk spool (with spoolDir).',
    settings: {
      maxBytes: { kind: 'int', min: 64 * 1024, default: 1024 * MiB, doc: 'Total size of spool segment files.' },
      segmentBytes: { kind: 'int', min: 4096, doc: 'Segment files rotate at this size. Default min(16 MiB, maxBytes / 4), and at most maxBytes / 4.' },
      onFull: {
        kind: 'enum',
        values: ['drop-oldest', 'drop-newest'],
        default: 'drop-oldest',
        doc: 'What a full spool gives up: the newest batches (refused) or the oldest segment.',
      },
    },
  },
  requestTimeoutMs: {
    kind: 'int',
    min: 100,
    default: 10_000,
    doc:
      'One HTTP request may go this long without an answer before QuestDB counts as unreachable. Only time in which ' +
      'the event loop was free to read the answer counts (docs/writer.md).',
  },
  retry: {
    kind: 'object',
    doc: 'Retries follow the shared retry policy (common/retry.ts): doubling steps with equal jitter.',
    settings: {
      initialDelayMs: { kind: 'int', min: 1, default: 250, doc: 'Step of the first pause after a failed send; doubles per failure.' },
      maxDelayMs: { kind: 'int', min: 1, default: 5_000, doc: 'Longest pause between probes while QuestDB is unreachable.' },
      configErrorDelayMs: {
        kind: 'int',
        min: 1,
        default: 30_000,
        doc: 'Pause between attempts while QuestDB refuses access (401/403) or the URL is wrong (404/405).',
      },
    },
  },
} as const satisfies SettingsSpec;

/** The value a setting accepts. */
export type SettingValue<S> = S extends { readonly kind: 'int' }
  ? number
  : S extends { readonly kind: 'string' }
    ? string
    : S extends { readonly kind: 'enum'; readonly values: readonly (infer V)[] }
      ? V
      : S extends { readonly kind: 'object'; readonly settings: infer C }
        ? SettingsInput<C>
        : never;

/** What a caller may pass for a group of settings: every setting optional. */
export type SettingsInput<C> = { -readonly [K in keyof C]?: SettingValue<C[K]> };

/** Names of the settings that always have a value after validation (a default, or a group). */
export type FilledSettings<C> = { [K in keyof C]: C[K] extends { readonly default: unknown } | { readonly kind: 'object' } ? K : never }[keyof C];

/** A group of settings after validation: defaults filled in. */
export type SettingsOutput<C> = { [K in FilledSettings<C>]: SettingOutputValue<C[K]> } & { [K in Exclude<keyof C, FilledSettings<C>>]?: SettingOutputValue<C[K]> };
/** The value of a setting after validation. */
export type SettingOutputValue<S> = S extends { readonly kind: 'object'; readonly settings: infer C } ? SettingsOutput<C> : SettingValue<S>;

/** The writer's settings as createWriter() accepts them (see writerSettingsSpec for each one's meaning and default). */
export type WriterSettings = SettingsInput<typeof writerSettingsSpec>;
/** The writer's settings after validation, defaults filled in. */
export type ValidWriterSettings = SettingsOutput<typeof writerSettingsSpec>;

/** A refused setting: its dotted path, why, and the value given. */
export interface SettingProblem {
  readonly path: string;
  readonly reason: string;
  readonly value: unknown;
}

/** The defaults of a group of settings (settings without a default are left out). */
export function settingDefaults(spec: SettingsSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(spec)) {
    if (setting.kind === 'object') out[name] = settingDefaults(setting.settings);
    else if (setting.default !== undefined) out[name] = setting.default;
  }
  return out;
}

function checkSetting(setting: SettingSpec, value: unknown, path: string): SettingProblem | undefined {
  const problem = (reason: string) => ({ path, reason, value });
  switch (setting.kind) {
    case 'int':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) return problem('must be an integer');
      if (value < setting.min) return problem(`must be at least ${setting.min}`);
      if (setting.max !== undefined && value > setting.max) return problem(`must be at most ${setting.max}`);
      return undefined;
    case 'string':
      if (typeof value !== 'string') return problem('must be a string');
      if (value.length < setting.minLength) return problem(`must be at least ${setting.minLength} characters`);
      return undefined;
    case 'enum':
      if (typeof value !== 'string' || !setting.values.includes(value)) return problem(`must be one of ${setting.values.map((v) => `"${v}"`).join(', ')}`);
      return undefined;
    case 'object':
      return undefined;
  }
}

/**
 * Validates a group of settings against its spec: the first problem (a wrong kind, a value out of range, an unknown
 * name), or the settings with defaults filled in. `undefined` counts as not given.
 */
export function validateSettings(spec: SettingsSpec, input: unknown, prefix = ''): { ok: true; value: Record<string, unknown> } | { ok: false; problem: SettingProblem } {
  const where = (name: string) => (prefix ? `${prefix}.${name}` : name);
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, problem: { path: prefix || '(options)', reason: 'must be an object', value: input } };
  }
  const given = input as Record<string, unknown>;
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(spec, name)) return { ok: false, problem: { path: where(name), reason: 'is not a setting', value: given[name] } };
  }
  const value: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(spec)) {
    const raw = given[name];
    if (setting.kind === 'object') {
      const inner = validateSettings(setting.settings, raw === undefined ? {} : raw, where(name));
      if (!inner.ok) return inner;
      value[name] = inner.value;
    } else if (raw === undefined) {
      if (setting.default !== undefined) value[name] = setting.default;
    } else {
      const problem = checkSetting(setting, raw, where(name));
      if (problem) return { ok: false, problem };
      value[name] = raw;
    }
  }
  return { ok: true, value };
}

/** validateSettings for the writer's spec, typed. */
export function validateWriterSettings(input: unknown): { ok: true; value: ValidWriterSettings } | { ok: false; problem: SettingProblem } {
  return validateSettings(writerSettingsSpec, input) as { ok: true; value: ValidWriterSettings } | { ok: false; problem: SettingProblem };
}
