import { ALERT_STATUSES } from '@tradewatch/sdk/schema';

/**
 * Grafana's webhook notification, the fields tradewatch stores (Grafana docs, "Configure the webhook notifier",
 * webhook JSON payload). Other fields (orgId, groupLabels, commonLabels, silenceURL, title, message ...) are allowed
 * and ignored; the ones below are checked strictly so a wrong sender is refused rather than half stored.
 */
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export interface WebhookAlert {
  readonly status: AlertStatus;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  /** Microseconds since the epoch. */
  readonly startsAt: number;
  /** Microseconds since the epoch; undefined for Grafana's zero time (a firing alert). */
  readonly endsAt: number | undefined;
  readonly fingerprint: string;
  readonly generatorURL: string;
  readonly values: Readonly<Record<string, number | null>> | undefined;
  readonly valueString: string | undefined;
}

export interface WebhookPayload {
  readonly receiver: string;
  readonly status: AlertStatus;
  readonly alerts: readonly WebhookAlert[];
}

/** A payload tradewatch refuses; the message names the field and the value. */
export class PayloadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PayloadError';
  }
}

/** A notification holds one group's alerts; Grafana sends far fewer than this. */
export const MAX_ALERTS_PER_NOTIFICATION = 1000;

/** Parses and checks a webhook body. Throws PayloadError naming the first field that is wrong. */
export function parseWebhookPayload(body: string): WebhookPayload {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch (err) {
    throw new PayloadError(`body is not JSON: ${(err as Error).message}`);
  }
  const root = object(json, 'body');
  const status = alertStatus(root.status, 'status');
  const receiver = optionalString(root.receiver, 'receiver') ?? '';
  if (!Array.isArray(root.alerts)) throw new PayloadError(`alerts: expected an array of alerts, got ${describe(root.alerts)}`);
  if (root.alerts.length === 0) throw new PayloadError('alerts: expected at least one alert, got an empty array');
  if (root.alerts.length > MAX_ALERTS_PER_NOTIFICATION) {
    throw new PayloadError(`alerts: at most ${MAX_ALERTS_PER_NOTIFICATION} alerts per notification, got ${root.alerts.length}`);
  }
  const alerts = root.alerts.map((alert, i) => parseAlert(alert, `alerts[${i}]`));
  return { receiver, status, alerts };
}

function parseAlert(value: unknown, at: string): WebhookAlert {
  const alert = object(value, at);
  const status = alertStatus(alert.status, `${at}.status`);
  const labels = stringMap(alert.labels, `${at}.labels`);
  if (!labels.alertname) throw new PayloadError(`${at}.labels.alertname: expected a non-empty string, got ${describe(labels.alertname)}`);
  const annotations = alert.annotations === undefined ? {} : stringMap(alert.annotations, `${at}.annotations`);
  const startsAt = time(alert.startsAt, `${at}.startsAt`);
  if (startsAt === undefined) throw new PayloadError(`${at}.startsAt: expected a start time, got Grafana's zero time`);
  const endsAt = time(alert.endsAt, `${at}.endsAt`);
  if (status === 'resolved' && endsAt === undefined) throw new PayloadError(`${at}.endsAt: a resolved alert needs its end time, got ${describe(alert.endsAt)}`);
  const fingerprint = alert.fingerprint;
  if (typeof fingerprint !== 'string' || fingerprint === '') throw new PayloadError(`${at}.fingerprint: expected a non-empty string, got ${describe(fingerprint)}`);
  return {
    status,
    labels,
    annotations,
    startsAt,
    endsAt,
    fingerprint,
    generatorURL: optionalString(alert.generatorURL, `${at}.generatorURL`) ?? '',
    values: alert.values === undefined || alert.values === null ? undefined : numberMap(alert.values, `${at}.values`),
    valueString: optionalString(alert.valueString, `${at}.valueString`),
  };
}

function object(value: unknown, at: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new PayloadError(`${at}: expected an object, got ${describe(value)}`);
  return value as Record<string, unknown>;
}

function alertStatus(value: unknown, at: string): AlertStatus {
  if (typeof value === 'string' && (ALERT_STATUSES as readonly string[]).includes(value)) return value as AlertStatus;
  throw new PayloadError(`${at}: expected one of ${ALERT_STATUSES.join(', ')}, got ${describe(value)}`);
}

function optionalString(value: unknown, at: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new PayloadError(`${at}: expected a string, got ${describe(value)}`);
  return value;
}

function stringMap(value: unknown, at: string): Record<string, string> {
  const map = object(value, at);
  for (const [key, v] of Object.entries(map)) {
    if (typeof v !== 'string') throw new PayloadError(`${at}.${key}: expected a string, got ${describe(v)}`);
  }
  return map as Record<string, string>;
}

function numberMap(value: unknown, at: string): Record<string, number | null> {
  const map = object(value, at);
  for (const [key, v] of Object.entries(map)) {
    if (v !== null && (typeof v !== 'number' || !Number.isFinite(v))) throw new PayloadError(`${at}.${key}: expected a number, got ${describe(v)}`);
  }
  return map as Record<string, number | null>;
}

/** Grafana's times are RFC 3339 with up to nanoseconds; "0001-01-01T00:00:00Z" means unset. Returns microseconds. */
const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function time(value: unknown, at: string): number | undefined {
  const match = typeof value === 'string' ? RFC3339.exec(value) : null;
  if (!match) throw new PayloadError(`${at}: expected an RFC 3339 time like 2021-10-12T09:51:03.157Z, got ${describe(value)}`);
  if (match[1] === '0001') return undefined;
  const [, y, mo, d, h, mi, s, fraction = '', zone] = match;
  const millis = Date.parse(`${y}-${mo}-${d}T${h}:${mi}:${s}${zone}`);
  if (!Number.isFinite(millis) || millis < 0) throw new PayloadError(`${at}: not a valid time after 1970, got ${describe(value)}`);
  return millis * 1000 + Number(fraction.padEnd(6, '0').slice(0, 6));
}

function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}
