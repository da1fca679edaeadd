import type { Row } from '@tradewatch/sdk/storage';
import type { WebhookAlert, WebhookPayload } from './payload.js';

const SUMMARY_MAX_CHARS = 4096;

/** One tw_alert_events row per alert of a notification; receivedAt in microseconds. */
export function alertRows(payload: WebhookPayload, receivedAt: number): Row[] {
  return payload.alerts.map((alert) => alertRow(alert, payload.receiver, receivedAt));
}

function alertRow(alert: WebhookAlert, receiver: string, receivedAt: number): Row {
  const resolved = alert.status === 'resolved';
  return {
    // The state's own start, so a re-delivery or a repeat of the same state has the same dedup key.
    ts: resolved ? alert.endsAt! : alert.startsAt,
    alertname: alert.labels.alertname,
    rule_uid: ruleUid(alert.generatorURL) || undefined,
    severity: alert.labels.severity || undefined,
    status: alert.status,
    fingerprint: alert.fingerprint,
    labels: canonicalLabels(alert.labels),
    starts_at: alert.startsAt,
    ends_at: resolved ? alert.endsAt : undefined,
    value: valueText(alert),
    summary: (alert.annotations.summary ?? '').slice(0, SUMMARY_MAX_CHARS),
    receiver: receiver || undefined,
    received_at: receivedAt,
  };
}

/** `a="1",b="x"`: sorted by name, values escaped as Prometheus does, so equal label sets compare equal in SQL. */
export function canonicalLabels(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(',');
}

/** Grafana links a notification to its rule as .../alerting/grafana/<uid>/view (older: /alerting/<uid>/edit). */
export function ruleUid(generatorURL: string): string {
  const match = /\/alerting\/(?:grafana\/)?([A-Za-z0-9_-]{1,40})\/(?:view|edit)\b/.exec(generatorURL);
  return match?.[1] ?? '';
}

function valueText(alert: WebhookAlert): string {
  if (alert.values) {
    return Object.keys(alert.values)
      .sort()
      .map((refId) => `${refId}=${alert.values![refId]}`)
      .join(' ');
  }
  return alert.valueString ?? '';
}
