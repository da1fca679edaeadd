/**
 * The user-editable `alerts` section of the tradewatch config: per rule on/off, severity, pending period and
 * thresholds; evaluation intervals; notification timing; which channels take which severities. Secrets (bot
 * tokens, webhook URLs, addresses) are never here: they come from the environment (see channels.ts).
 *
 * Every leaf has the usual three spellings (`alerts.rules.cpuHigh.threshold`, `TRADEWATCH_ALERTS_RULES_CPU_HIGH_THRESHOLD`,
 * `--alerts-rules-cpu-high-threshold`), so leaves are plain numbers, booleans, strings or comma lists.
 */
import { z } from 'zod';
import { booleanSetting } from '../../settings/index.js';
import { RULE_DEFAULTS, type RuleId, type RuleDefaults } from './rule-defaults.js';

// The config loader refuses a renamed rule's old key with what changed (this module is its light entry point).
export { RENAMED_RULES, renamedRuleRefusal, renamedThreshold, type RenamedRule } from './renamed-rules.js';

export const SEVERITIES = ['critical', 'warning'] as const;
export type Severity = (typeof SEVERITIES)[number];

/** A Prometheus-style duration as Grafana parses it in provisioning files: `0s`, `15s`, `1m30s`, `4h`. */
// Units in descending order, each at most once: what Prometheus' ParseDuration (Grafana's loader) accepts.
const DURATION = /^(?=\d)(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** Milliseconds of a duration such as `1m30s`. */
export function durationMs(text: string): number {
  if (!DURATION.test(text)) throw new Error(`not a duration: ${JSON.stringify(text)} (expected e.g. 15s, 5m, 1h)`);
  let ms = 0;
  for (const m of text.matchAll(/(\d+)(ms|s|m|h|d|w)/g)) ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  return ms;
}

const WEEKDAY = '(monday|tuesday|wednesday|thursday|friday|saturday|sunday)';
const HHMM = '([01]\\d|2[0-3]):[0-5]\\d|24:00';
/** `sunday 02:00-04:00`, `saturday:sunday 01:00-03:00`: weekdays, then a time range (start before end). */
export const MAINTENANCE_WINDOW = new RegExp(`^${WEEKDAY}(:${WEEKDAY})? (${HHMM})-(${HHMM})$`);

const duration = (fallback: string) =>
  z.string().regex(DURATION, 'expected a duration such as 0s, 15s, 5m, 1h').default(fallback);

/** A list from YAML, or `critical,warning` from an environment variable or flag. */
const severityList = (fallback: readonly Severity[]) =>
  z
    .preprocess(
      (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
      z.array(z.enum(SEVERITIES)),
    )
    .default([...fallback]);

/** A ccxt exchange id (`binanceusdm`, `bybit`): also what keeps it safe to quote in a rule's SQL. */
export const EXCHANGE_ID = /^[a-z0-9][a-z0-9_-]*$/;

/**
 * Per-exchange thresholds: a mapping in YAML, or `binanceusdm=2000000,bybit=5000000` from an environment variable
 * or flag. Exchanges not named use the rule's `threshold`.
 */
const exchangeThresholds = z
  .preprocess(
    (value) => {
      if (typeof value !== 'string') return value;
      const entries = value.split(',').map((s) => s.trim()).filter(Boolean);
      return Object.fromEntries(entries.map((entry) => {
        const at = entry.indexOf('=');
        // Not a pair: kept under its own text with a NaN value, which the number check below names.
        return at < 0 ? [entry, Number.NaN] : [entry.slice(0, at).trim(), entry.slice(at + 1).trim() === '' ? Number.NaN : Number(entry.slice(at + 1))];
      }));
    },
    z.record(
      z.string().regex(EXCHANGE_ID, 'expected a ccxt exchange id such as binanceusdm (lower-case letters, digits, - or _)'),
      z.number({ error: 'expected exchange=number, e.g. binanceusdm=2000000' }).positive(),
    ),
  )
  .default({});

function ruleSchema(d: RuleDefaults) {
  const extras: Record<string, z.ZodTypeAny> = {};
  for (const [name, extra] of Object.entries(d.extras ?? {})) extras[name] = z.number().min(extra.min).default(extra.value);
  if (d.perExchange) extras['exchangeThresholds'] = exchangeThresholds;
  return z
    .object({
      enabled: booleanSetting(d.enabled ?? true),
      severity: z.enum(SEVERITIES).default(d.severity),
      /** Pending period: the condition must hold this long (at consecutive evaluations) before the alert fires. */
      for: duration(d.for),
      /** The value the rule compares with (its unit is in docs/alerting.md). */
      threshold: z.number().default(d.threshold),
      ...extras,
    })
    .strict();
}

const ruleShape = Object.fromEntries(
  (Object.keys(RULE_DEFAULTS) as RuleId[]).map((id) => {
    const schema = ruleSchema(RULE_DEFAULTS[id]);
    return [id, schema.default(() => schema.parse({}))];
  }),
) as { [K in RuleId]: z.ZodDefault<ReturnType<typeof ruleSchema>> };

const channelSchema = (severities: readonly Severity[]) =>
  z
    .object({
      /** Off: never provisioned, even when its environment variables are set. */
      enabled: booleanSetting(true),
      /** Severities this channel is notified of. */
      severities: severityList(severities),
      /** Send a message when an alert resolves (recovery). */
      sendResolved: booleanSetting(true),
    })
    .strict();

const withDefault = <T extends z.ZodType>(schema: T) =>
  schema.default(() => schema.parse({}) as z.util.NoUndefined<z.output<T>>);

const timingSchema = (wait: string, interval: string, repeat: string) =>
  z
    .object({
      /** How long a new notification group waits for more alerts before its first message. */
      groupWait: duration(wait),
      /** How long a group waits before a message about alerts added to (or resolved in) it. */
      groupInterval: duration(interval),
      /** How often a still-firing group is sent again. */
      repeatInterval: duration(repeat),
    })
    .strict();

/** Fixed delivery allowance in the critical budget: ingestion to QuestDB (< 1 s, SC-001) and the channel's API. */
export const DELIVERY_ALLOWANCE_MS = 5000;
/** SC-003: a critical alert reaches its channel within this long of its condition holding. */
export const CRITICAL_BUDGET_MS = 60_000;
/** Issue 12: a critical rule's notification is sent within this long of its condition (configured worst case). */
export const CRITICAL_SEND_BUDGET_MS = 30_000;
/**
 * Grafana's scheduler ticks every 10 s (`[unified_alerting] base_interval`, not user-settable); a rule group's
 * interval must be a non-zero multiple of it or Grafana refuses the provisioning file and exits at start.
 */
export const SCHEDULER_BASE_INTERVAL_MS = 10_000;
/**
 * Rules due on the same tick are started spread across it (rule i of n at i/n of the base interval), so an
 * evaluation starts up to one base interval after its tick: counted in every timing budget.
 */
export const TICK_SPREAD_MS = SCHEDULER_BASE_INTERVAL_MS;

/**
 * How long an instance stays Pending with evaluations every `intervalMs`: Grafana fires at the first evaluation
 * at which it has been pending at least `for`, so the pending period rounds up to whole intervals.
 */
export function effectivePendingMs(forMs: number, intervalMs: number): number {
  return Math.ceil(forMs / intervalMs) * intervalMs;
}

/**
 * Worst case from a condition holding in QuestDB to Grafana sending the notification, for a rule evaluated every
 * `intervalMs` with pending period `forMs` whose alert opens a notification group: the next tick (interval), the
 * tick spread, the pending period in whole intervals, then the group's wait. (A later alert joining a group that
 * was already notified comes with the group's next update, at most `groupInterval` later.)
 */
export function worstCaseSendMs(intervalMs: number, forMs: number, groupWait: string): number {
  return intervalMs + TICK_SPREAD_MS + effectivePendingMs(forMs, intervalMs) + durationMs(groupWait);
}

const alertsShape = z
  .object({
    /** Off: `alertingFiles` writes rule files with every rule paused and no channel. */
    enabled: booleanSetting(true),
    /** Where docs/alert-runbooks.md is served: each rule's runbook_url is this + `#runbook-<rule>`. */
    runbookBaseUrl: z.string().min(1).default('docs/alert-runbooks.md'),
    /** Grafana folder of the rules (the dashboards' folder). */
    folder: z.string().min(1).max(190).default('tradewatch'),
    evaluation: withDefault(
      z
        .object({
          /** Evaluation interval of critical rules and of fast warnings (exchange disconnected). */
          fastInterval: duration('10s'),
          /** Evaluation interval of the other warnings. */
          interval: duration('1m'),
        })
        .strict(),
    ),
    notifications: withDefault(
      z
        .object({
          /** Labels that group alerts into one message: the incident's subject (a service, an exchange), not the rule. */
          groupBy: z
            .preprocess(
              (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
              z.array(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected label names')).min(1),
            )
            .default(['service', 'exchange']),
          critical: withDefault(timingSchema('10s', '1m', '4h')),
          warning: withDefault(timingSchema('30s', '5m', '12h')),
        })
        .strict(),
    ),
    channels: withDefault(
      z
        .object({
          telegram: withDefault(channelSchema(SEVERITIES)),
          discord: withDefault(channelSchema(SEVERITIES)),
          email: withDefault(channelSchema(['critical'])),
          /** The dead-man's switch: the always-firing watchdog rule, sent to a webhook this often. */
          watchdog: withDefault(
            z
              .object({
                enabled: booleanSetting(true),
                repeatInterval: duration('1m'),
              })
              .strict(),
          ),
        })
        .strict(),
    ),
    /**
     * Alert history: every firing and resolved notification also goes to this webhook (`tradewatch alerts receive`,
     * the compose `alert-history` service), which stores it in tw_alert_events. Not a user channel.
     */
    history: withDefault(
      z
        .object({
          enabled: booleanSetting(true),
          url: z.string().url('expected the receiver URL, e.g. http://alert-history:9095/').default('http://alert-history:9095/'),
        })
        .strict(),
    ),
    /**
     * Maintenance windows: no notification is sent during them (a Grafana mute timing on every tradewatch route;
     * rules still evaluate, and what still fires afterwards is sent then). Each window is `<weekdays> HH:MM-HH:MM`,
     * weekdays a name or a range (`sunday`, `saturday:sunday`); a comma list from the environment.
     */
    maintenance: withDefault(
      z
        .object({
          windows: z
            .preprocess(
              (value) => (typeof value === 'string' ? value.split(',').map((s) => s.trim()).filter(Boolean) : value),
              z.array(
                z
                  .string()
                  .regex(MAINTENANCE_WINDOW, 'expected `<weekday>[:<weekday>] HH:MM-HH:MM`, e.g. `sunday 02:00-04:00`')
                  .refine((w) => {
                    const [start, end] = w.split(' ')[1]!.split('-');
                    return start! < end!;
                  }, 'the window must start before it ends (split a window across midnight into two)'),
              ),
            )
            .default([]),
          /** IANA time zone of the windows. */
          location: z
            .string()
            .refine((tz) => {
              try {
                new Intl.DateTimeFormat('en', { timeZone: tz });
                return true;
              } catch {
                return false;
              }
            }, 'expected an IANA time zone such as UTC or Europe/Berlin')
            .default('UTC'),
        })
        .strict(),
    ),
    rules: withDefault(z.object(ruleShape).strict()),
  })
  .strict();

/**
 * The `alerts` section (the lead plugs it into the config under `alerts`). Criticals are checked against SC-003:
 * fast interval + tick spread + `for` (whole intervals) + the critical group wait must stay within 30 s.
 */
export const alertsConfigSchema = alertsShape
  .superRefine((alerts, ctx) => {
    const fast = durationMs(alerts.evaluation.fastInterval);
    const { groupWait, groupInterval, repeatInterval } = alerts.notifications.critical;
    if (durationMs(repeatInterval) < durationMs(groupInterval)) {
      ctx.addIssue({ code: 'custom', path: ['notifications', 'critical', 'repeatInterval'], message: 'must be at least groupInterval' });
    }
    const warning = alerts.notifications.warning;
    if (durationMs(warning.repeatInterval) < durationMs(warning.groupInterval)) {
      ctx.addIssue({ code: 'custom', path: ['notifications', 'warning', 'repeatInterval'], message: 'must be at least groupInterval' });
    }
    for (const field of ['fastInterval', 'interval'] as const) {
      const ms = durationMs(alerts.evaluation[field]);
      if (ms <= 0 || ms % SCHEDULER_BASE_INTERVAL_MS !== 0) {
        ctx.addIssue({
          code: 'custom',
          path: ['evaluation', field],
          message:
            `${alerts.evaluation[field]} is not a non-zero multiple of 10s: Grafana's scheduler runs every 10 s and refuses ` +
            'any other group interval (the provisioning error stops Grafana at start); use 10s, 20s, 30s, 1m, ...',
        });
      }
    }
    for (const [id, rule] of Object.entries(alerts.rules)) {
      if (rule.severity !== 'critical' || !rule.enabled) continue;
      const total = worstCaseSendMs(fast, durationMs(rule.for), groupWait);
      if (total > CRITICAL_SEND_BUDGET_MS) {
        ctx.addIssue({
          code: 'custom',
          path: ['rules', id, 'for'],
          message:
            `a critical alert must be sent within ${CRITICAL_SEND_BUDGET_MS / 1000} s of its condition: evaluation.fastInterval ${alerts.evaluation.fastInterval} + ` +
            `${TICK_SPREAD_MS / 1000}s tick spread + for ${rule.for} (in whole intervals) + notifications.critical.groupWait ${groupWait} = ${total / 1000}s; ` +
            'shorten one of them or make the rule a warning',
        });
      }
    }
  });

export type AlertsConfig = z.output<typeof alertsConfigSchema>;
export type AlertsConfigInput = z.input<typeof alertsConfigSchema>;
export type RuleSettings = AlertsConfig['rules'][RuleId] & Record<string, unknown>;

/** Defaults of the whole section (what an empty `alerts:` gives). */
export function defaultAlertsConfig(): AlertsConfig {
  return alertsConfigSchema.parse({});
}
